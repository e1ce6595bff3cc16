package dev.hako.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** QEMU's isa-debug-exit on an I/O bus: (V << 1) | 1 for any width, reads of zero, the range's edge respected. */
class IsaDebugExitTest {
    private final List<long[]> exits = new ArrayList<>();
    private final PioBus bus = new PioBus();

    private void install(int iobase, int iosize) {
        bus.register(iobase, iosize, new IsaDebugExit(iosize, (value, status) -> exits.add(new long[] {value,
                status})));
    }

    @Test
    void aWriteOfVEndsWithStatusTwoVPlusOne() {
        install(0xF4, 4);
        bus.write(0, 0xF4, 4, 0x12);
        bus.write(0, 0xF4, 1, 0);
        bus.write(0, 0xF4, 2, 0x7F);
        assertThat(exits).extracting(e -> e[0]).containsExactly(0x12L, 0L, 0x7FL);
        assertThat(exits).extracting(e -> e[1]).containsExactly(37L, 1L, 255L);
    }

    @Test
    void theStatusKeepsTheLowEightBitsAsTheHostsExitDoes() {
        assertThat(IsaDebugExit.status(0x80)).isEqualTo(1);
        assertThat(IsaDebugExit.status(0xFFFF_FFFFL)).isEqualTo(255);
        assertThat(IsaDebugExit.status(0x81)).isEqualTo(3);
    }

    @Test
    void onlyTheBytesInsideTheRangeCount() {
        install(0x501, 2);
        bus.write(0, 0x502, 4, 0x0403_0201L);  // one byte of it lies inside
        assertThat(exits).extracting(e -> e[0]).containsExactly(0x01L);
    }

    @Test
    void readsGiveZeroInsideAndOnesBeyond() {
        install(0x501, 2);
        assertThat(bus.read(0, 0x501, 1)).isZero();
        assertThat(bus.read(0, 0x501, 2)).isZero();
        assertThat(bus.read(0, 0x502, 2)).isEqualTo(0xFF00);
        assertThat(bus.read(0, 0x501, 4)).isEqualTo(0xFFFF_0000L);
        assertThat(exits).isEmpty();
    }
}
