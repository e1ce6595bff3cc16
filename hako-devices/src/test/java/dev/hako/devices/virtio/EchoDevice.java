package dev.hako.devices.virtio;

/**
 * A virtio device for transport tests: two queues; every chain is returned with its writable bytes filled with
 * the sum of its readable bytes (mod 256), so a test sees exactly which segments the queue handed over.
 */
final class EchoDevice implements VirtioDevice {
    
    int activations;
    int resets;
    long activatedWith;
    final byte[] config = new byte[8];

    @Override
    public VirtioDeviceType type() {
        return new VirtioDeviceType(0x2A, 0xFF0000, 2, 64, config.length);
    }

    @Override
    public long features() {
        return 1L << 3;
    }

    @Override
    public long readConfig(int offset, int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            v |= (config[offset + i] & 0xFFL) << (8 * i);
        }
        return v;
    }

    @Override
    public void writeConfig(int offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            config[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    @Override
    public void activate(long features) {
        activations++;
        activatedWith = features;
    }

    @Override
    public void process(int queue, VirtioTransport transport) {
        Virtqueue q = transport.queue(queue);
        do {
            int head;
            while ((head = q.pop()) >= 0) {
                DescriptorChain chain = q.chain();
                int sum = 0;
                for (long i = 0; i < chain.readableBytes(); i++) {
                    sum += (int) chain.readLe(transport.memory(), i, 1);
                }
                for (long i = 0; i < chain.writableBytes(); i++) {
                    chain.writeLe(transport.memory(), i, 1, sum);
                }
                q.pushUsed(head, chain.writableBytes());
            }
            if (head == Virtqueue.MALFORMED) {
                transport.queueBroken(queue);
                return;
            }
            transport.signalUsed(queue);
        } while (q.armNotification());
    }

    @Override
    public void reset() {
        resets++;
    }
}
