package dev.hako.vmm.boot;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class E820MapTest {
    private static final long MIB = 1 << 20, GIB = 1L << 30;

    @Test
    void smallMachineHasConventionalMemoryBiosHolesAndHighMemory() {
        E820Map map = E820Map.forRam(256 * MIB);
        assertThat(map.entries()).containsExactly(
                new E820Map.Entry(0, 0x9FC00, E820Map.TYPE_RAM),
                new E820Map.Entry(0x9FC00, 0x400, E820Map.TYPE_RESERVED),
                new E820Map.Entry(0xE0000, 0x20000, E820Map.TYPE_RESERVED),
                new E820Map.Entry(0x100000, 255 * MIB, E820Map.TYPE_RAM));
    }

    @Test
    void ramAcrossTheMmioWindowIsSplit() {
        E820Map map = E820Map.forRam(5 * GIB);
        assertThat(map.entries()).contains(
                new E820Map.Entry(0x100000, 3 * GIB - MIB, E820Map.TYPE_RAM),
                new E820Map.Entry(4 * GIB, GIB, E820Map.TYPE_RAM));
        assertThat(map.isRam(0xFEC00000L, 4)).isFalse();
        assertThat(map.isRam(4 * GIB + 100, 4)).isTrue();
    }

    @Test
    void entriesAreSortedAndDisjoint() {
        E820Map map = E820Map.forRam(5 * GIB);
        for (int i = 1; i < map.entries().size(); i++) {
            assertThat(map.entries().get(i).address()).isGreaterThanOrEqualTo(map.entries().get(i - 1).end());
        }
    }

    @Test
    void rangesCrossingHolesAreNotRam() {
        E820Map map = E820Map.forRam(256 * MIB);
        assertThat(map.isRam(0x9F000, 0x1000)).isFalse();
        assertThat(map.isRam(0x9E000, 0x1000)).isTrue();
        assertThat(map.isRam(0xF0000, 16)).isFalse();
        assertThat(map.isRam(255 * MIB, 2 * MIB)).isFalse();
        assertThat(map.ramEndContaining(300 * MIB)).isEqualTo(-1);
    }

    @Test
    void reservedWindowsAreAddedInOrderAndMayNotCoverRam() {
        E820Map map = E820Map.forRam(256 * MIB).withReserved(0xE000_0000L, 1 << 20);
        E820Map.Entry last = map.entries().get(map.entries().size() - 1);
        assertThat(last).isEqualTo(new E820Map.Entry(0xE000_0000L, 1 << 20, E820Map.TYPE_RESERVED));
        assertThat(map.isRam(0xE000_0000L, 1)).isFalse();
        E820Map below = E820Map.forRam(256 * MIB).withReserved(0x2000_0000L, 4096);
        assertThat(below.entries()).isSortedAccordingTo(java.util.Comparator.comparingLong(E820Map.Entry::address));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> map.withReserved(0x100_0000L, 4096))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("overlaps RAM");
    }

    @Test
    void highestFitIsPageAlignedBelowTheLimitAndAboveTheFloor() {
        E820Map map = E820Map.forRam(256 * MIB);
        assertThat(map.highestFit(10_000, 64 * MIB, 256 * MIB)).isEqualTo(256 * MIB - 0x3000);
        assertThat(map.highestFit(10_000, 64 * MIB, 128 * MIB + 5)).isEqualTo(128 * MIB - 0x3000);
        assertThat(map.highestFit(200 * MIB, 64 * MIB, 256 * MIB)).isEqualTo(-1);
    }

    @Test
    void tinyRamIsRefused() {
        assertThatThrownBy(() -> E820Map.forRam(MIB)).hasMessageContaining("too small");
    }
}
