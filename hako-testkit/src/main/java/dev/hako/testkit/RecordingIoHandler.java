package dev.hako.testkit;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import java.util.ArrayList;
import java.util.List;

/**
 * Passes every port and MMIO access on to the buses and writes it down, in order, as one line each
 * ("out port 0x80/1 <- 0x88", "read  0xd0000000/4 -> 0x0"), so two runs can be compared access for access.
 */
public final class RecordingIoHandler implements IoHandler {
    private final PioBus pio;
    private final MmioBus mmio;
    private final List<String> traffic = new ArrayList<>();

    public RecordingIoHandler(PioBus pio, MmioBus mmio) {
        this.pio = pio;
        this.mmio = mmio;
    }

    /** Nothing on either bus: reads are all ones, writes are only recorded. */
    public static RecordingIoHandler withEmptyBuses() {
        return new RecordingIoHandler(new PioBus(), new MmioBus());
    }

    /** The accesses so far; live, not a copy. */
    public List<String> traffic() {
        return traffic;
    }

    @Override
    public long pioRead(int vcpu, int port, int size) {
        long v = pio.read(vcpu, port, size);
        traffic.add(String.format("in  port %#x/%d -> %#x", port, size, v));
        return v;
    }

    @Override
    public void pioWrite(int vcpu, int port, int size, long value) {
        traffic.add(String.format("out port %#x/%d <- %#x", port, size, value));
        pio.write(vcpu, port, size, value);
    }

    @Override
    public long mmioRead(int vcpu, long gpa, int size) {
        long v = mmio.read(vcpu, gpa, size);
        traffic.add(String.format("read  %#x/%d -> %#x", gpa, size, v));
        return v;
    }

    @Override
    public void mmioWrite(int vcpu, long gpa, int size, long value) {
        traffic.add(String.format("write %#x/%d <- %#x", gpa, size, value));
        mmio.write(vcpu, gpa, size, value);
    }
}
