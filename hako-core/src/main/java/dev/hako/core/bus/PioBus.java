package dev.hako.core.bus;

/**
 * The 64 KiB x86 I/O port space as a flat table: one slot per port holding the device and the base it was
 * registered at, so a lookup is two array loads. Unmapped reads return all ones (an ISA bus with nothing
 * driving it), unmapped writes are dropped.
 *
 * <p>Devices are registered while the machine is being built; the tables are published to vCPU threads by
 * the thread start that follows, so the I/O path reads them without synchronisation.
 */
public final class PioBus {
    public static final int PORT_COUNT = 0x10000;

    private final PioDevice[] devices = new PioDevice[PORT_COUNT];
    private final int[] bases = new int[PORT_COUNT];

    /** Maps {@code [port, port+count)} to {@code device}; the device sees offsets from {@code port}. */
    public synchronized void register(int port, int count, PioDevice device) {
        if (port < 0 || count <= 0 || port + count > PORT_COUNT) {
            throw new IllegalArgumentException(
                    String.format("port range %#x+%d is outside the I/O space", port, count));
        }
        for (int p = port; p < port + count; p++) {
            if (devices[p] != null) {
                throw new IllegalStateException(String.format(
                        "port %#x is already claimed by %s (registering %#x+%d for %s)",
                        p, devices[p], port, count, device));
            }
        }
        for (int p = port; p < port + count; p++) {
            devices[p] = device;
            bases[p] = port;
        }
    }

    /**
     * Maps {@code [port, port+count)} to {@code device} unless a port is outside the I/O space or claimed: for
     * ranges the guest chooses (PCI I/O BARs). A range changed while vCPUs run becomes visible to them at their
     * next synchronisation point; the guest that moves a BAR while using it gets what real hardware gives.
     */
    public synchronized boolean tryRegister(int port, int count, PioDevice device) {
        if (port < 0 || count <= 0 || port + count > PORT_COUNT) {
            return false;
        }
        for (int p = port; p < port + count; p++) {
            if (devices[p] != null) {
                return false;
            }
        }
        register(port, count, device);
        return true;
    }

    /** Removes whatever is mapped at {@code [port, port+count)}. */
    public synchronized void unregister(int port, int count) {
        for (int p = port; p < port + count; p++) {
            devices[p] = null;
            bases[p] = 0;
        }
    }

    public PioDevice deviceAt(int port) {
        return devices[port & 0xFFFF];
    }

    public long read(int vcpu, int port, int size) {
        int p = port & 0xFFFF;
        PioDevice device = devices[p];
        if (device == null) {
            return BusAccess.allOnes(size);
        }
        return device.read(vcpu, p - bases[p], size) & BusAccess.allOnes(size);
    }

    public void write(int vcpu, int port, int size, long value) {
        int p = port & 0xFFFF;
        PioDevice device = devices[p];
        if (device != null) {
            device.write(vcpu, p - bases[p], size, value & BusAccess.allOnes(size));
        }
    }
}
