package dev.hako.soft.decode;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Where a disassembler reads instruction bytes: the byte at an address, or -1 where there is none to read. */
@FunctionalInterface
public interface CodeBytes {
    int byteAt(long address);

    /** {@code bytes}, its first byte at address {@code origin}. */
    static CodeBytes of(byte[] bytes, long origin) {
        return address -> {
            long i = address - origin;
            return i >= 0 && i < bytes.length ? bytes[(int) i] & 0xFF : -1;
        };
    }

    /** {@code segment}, its first byte at address {@code origin}. */
    static CodeBytes of(MemorySegment segment, long origin) {
        return address -> {
            long i = address - origin;
            return i >= 0 && i < segment.byteSize() ? segment.get(ValueLayout.JAVA_BYTE, i) & 0xFF : -1;
        };
    }
}
