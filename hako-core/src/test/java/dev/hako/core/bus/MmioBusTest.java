package dev.hako.core.bus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MmioBusTest {
    /** Answers reads with a tag and the offset so the test can see who served an address. */
    record Tagged(long tag) implements MmioDevice {
        @Override
        public long read(int vcpu, long offset, int size) {
            return tag << 32 | offset;
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
        }
    }

    @Test
    void routesEachAddressToTheRangeHoldingIt() {
        MmioBus bus = new MmioBus();
        bus.register(0xFEE0_0000L, 0x1000, new Tagged(3));
        bus.register(0xFEC0_0000L, 0x1000, new Tagged(2));
        bus.register(0xD000_0000L, 0x200, new Tagged(1));
        assertThat(bus.read(0, 0xFEC0_0010L, 4)).isEqualTo(2L << 32 | 0x10);
        assertThat(bus.read(0, 0xFEE0_00B0L, 4)).isEqualTo(3L << 32 | 0xB0);
        assertThat(bus.read(0, 0xFEE0_00B0L, 4)).isEqualTo(3L << 32 | 0xB0); // the cached range
        assertThat(bus.read(0, 0xD000_01FFL, 1)).isEqualTo(1L << 32 | 0x1FF);
        assertThat(bus.isMapped(0xD000_0200L)).isFalse();
        assertThat(bus.read(0, 0xD000_0200L, 4)).isEqualTo(0xFFFF_FFFFL);
        assertThat(bus.read(0, 0xD000_0200L, 8)).isEqualTo(-1L);
    }

    @Test
    void overlapsOnEitherSideAreRejected() {
        MmioBus bus = new MmioBus();
        bus.register(0x1000, 0x1000, new Tagged(1));
        assertThatThrownBy(() -> bus.register(0x1800, 0x1000, new Tagged(2))).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> bus.register(0x0800, 0x1000, new Tagged(2))).isInstanceOf(IllegalStateException.class);
        bus.register(0x2000, 0x1000, new Tagged(2));
        bus.register(0x0000, 0x1000, new Tagged(0));
        assertThat(bus.read(0, 0x2FFF, 4) >>> 32).isEqualTo(2);
        assertThat(bus.read(0, 0x0FFF, 4) >>> 32).isEqualTo(0);
    }

    @Test
    void unregisterRemovesOneRange() {
        MmioBus bus = new MmioBus();
        bus.register(0x1000, 0x1000, new Tagged(1));
        bus.register(0x3000, 0x1000, new Tagged(3));
        assertThat(bus.read(0, 0x1004, 4) >>> 32).isEqualTo(1); // prime the last-hit cache
        assertThat(bus.unregister(0x1000)).isTrue();
        assertThat(bus.unregister(0x1000)).isFalse();
        assertThat(bus.isMapped(0x1004)).isFalse();
        assertThat(bus.read(0, 0x3004, 4) >>> 32).isEqualTo(3);
    }
}
