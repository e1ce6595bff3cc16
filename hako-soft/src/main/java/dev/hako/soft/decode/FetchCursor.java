package dev.hako.soft.decode;

import dev.hako.soft.mmu.Mmu;

/**
 * Reads instruction bytes at offsets of the code segment: linear address = CS base + offset, the offset
 * wrapping at the width of EIP or IP outside 64-bit mode. The bytes come from the MMU's fetch path (a CPU
 * decoding) or from a {@link CodeBytes} (a disassembler).
 */
final class FetchCursor {
    private Mmu mem;
    private CodeBytes code;
    private long base;
    private long mask;

    void bind(Mmu mmu, long csBase, long offsetMask) {
        this.mem = mmu;
        this.code = null;
        this.base = csBase;
        this.mask = offsetMask;
    }

    void bind(CodeBytes bytes, long offsetMask) {
        this.mem = null;
        this.code = bytes;
        this.base = 0;
        this.mask = offsetMask;
    }

    int byte8(long offset) {
        if (code != null) {
            int b = code.byteAt(base + (offset & mask));
            if (b < 0) {
                throw UndecodableCode.INSTANCE;
            }
            return b;
        }
        return mem.fetch8(base + (offset & mask));
    }

    int int16(long offset) {
        return byte8(offset) | (byte8(offset + 1) << 8);
    }

    int int32(long offset) {
        return int16(offset) | (int16(offset + 2) << 16);
    }
}
