package dev.hako.core.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    private final Arena arena = Arena.ofConfined();
    private final GuestMemory memory = new GuestMemory(arena.allocate(0x10000, 4096));

    @AfterEach
    void close() {
        arena.close();
    }

    @Test
    void containsRejectsRangesThatLeaveRamOrWrap() {
        assertThat(memory.contains(0, 0x10000)).isTrue();
        assertThat(memory.contains(0xFFFF, 1)).isTrue();
        assertThat(memory.contains(0xFFFF, 2)).isFalse();
        assertThat(memory.contains(-1, 1)).isFalse();
        assertThat(memory.contains(8, -1)).isFalse();
        assertThat(memory.contains(Long.MAX_VALUE, Long.MAX_VALUE)).isFalse();
        assertThat(memory.contains(0x10000, 0)).isTrue();
    }

    @Test
    void valuesAreLittleEndianAtAnyAlignment() {
        memory.setU64(0x101, 0x0807_0605_0403_0201L);
        for (int i = 0; i < 8; i++) {
            assertThat(memory.getU8(0x101 + i)).isEqualTo(i + 1);
        }
        assertThat(memory.getU16(0x102)).isEqualTo(0x0302);
        assertThat(memory.getU32(0x103)).isEqualTo(0x0605_0403L);
        memory.setU32(0x200, 0xFFFF_FFFEL);
        assertThat(memory.getU32(0x200)).as("unsigned").isEqualTo(0xFFFF_FFFEL);
        memory.setU16(0x300, 0xFFFF);
        assertThat(memory.getU16(0x300)).isEqualTo(0xFFFF);
    }

    @Test
    void orderedAccessorsSeeThePlainOnes() {
        memory.setU16Release(0x400, 0xBEEF);
        assertThat(memory.getU16(0x400)).isEqualTo(0xBEEF);
        assertThat(memory.getU16Acquire(0x400)).isEqualTo(0xBEEF);
        memory.setU32(0x404, 0x8000_0001L);
        assertThat(memory.getU32Acquire(0x404)).isEqualTo(0x8000_0001L);
    }

    @Test
    void outOfRangeAccessIsADeviceBugAndThrows() {
        assertThatThrownBy(() -> memory.getU32(0xFFFE)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> memory.setU64(-8, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
