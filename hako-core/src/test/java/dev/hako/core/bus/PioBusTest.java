package dev.hako.core.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PioBusTest {
    /** Remembers the last access and answers reads with offset * 0x11. */
    static final class Probe implements PioDevice {
        long lastOffset = -1;
        int lastSize;
        long lastValue;

        @Override
        public long read(int vcpu, long offset, int size) {
            lastOffset = offset;
            lastSize = size;
            return 0xABCD_0000L | offset * 0x11;
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            lastOffset = offset;
            lastSize = size;
            lastValue = value;
        }
    }

    @Test
    void deviceSeesOffsetsFromItsBasePort() {
        PioBus bus = new PioBus();
        Probe uart = new Probe();
        bus.register(0x3F8, 8, uart);
        assertThat(bus.read(0, 0x3FD, 1)).isEqualTo(0x55);
        assertThat(uart.lastOffset).isEqualTo(5);
        bus.write(0, 0x3FB, 1, 0x83);
        assertThat(uart.lastOffset).isEqualTo(3);
        assertThat(uart.lastValue).isEqualTo(0x83);
    }

    @Test
    void readsAreTruncatedToTheAccessWidth() {
        PioBus bus = new PioBus();
        bus.register(0x40, 4, new Probe());
        assertThat(bus.read(0, 0x41, 2)).isEqualTo(0x0011);
        assertThat(bus.read(0, 0x41, 4)).isEqualTo(0xABCD_0011L);
    }

    @Test
    void unmappedReadsAreAllOnesAndWritesVanish() {
        PioBus bus = new PioBus();
        assertThat(bus.read(0, 0x80, 1)).isEqualTo(0xFF);
        assertThat(bus.read(0, 0x80, 2)).isEqualTo(0xFFFF);
        assertThat(bus.read(0, 0x80, 4)).isEqualTo(0xFFFF_FFFFL);
        bus.write(0, 0x80, 1, 0x12);
    }

    @Test
    void overlappingRegistrationsAreRejected() {
        PioBus bus = new PioBus();
        bus.register(0x60, 1, new Probe());
        bus.register(0x64, 1, new Probe());
        assertThatThrownBy(() -> bus.register(0x61, 4, new Probe()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("0x64");
        bus.register(0x61, 3, new Probe());
        assertThatThrownBy(() -> bus.register(0xFFFF, 2, new Probe())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void unregisterFreesThePorts() {
        PioBus bus = new PioBus();
        bus.register(0x70, 2, new Probe());
        bus.unregister(0x70, 2);
        assertThat(bus.read(0, 0x71, 1)).isEqualTo(0xFF);
        bus.register(0x70, 2, new Probe());
    }
}
