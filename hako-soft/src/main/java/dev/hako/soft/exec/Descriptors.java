package dev.hako.soft.exec;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.PageTableWalker;

/**
 * Segment descriptors (SDM vol. 3 ch. 3.4-3.5, 7.2.3): reading GDT/LDT entries with supervisor rights,
 * loading data and stack segments with their checks, and the code-segment loads of far transfers. In
 * 64-bit mode only the attributes (and FS/GS bases) matter; bases and limits are kept for other modes.
 */
final class Descriptors {
    private Descriptors() {}

    /** A load of {@code linear} made by the processor itself (descriptor tables, TSS), at supervisor level. */
    static long readImplicit64(Cpu c, long linear) {
        if (c.cpl != 3) {
            return c.mem.read64(linear);
        }
        c.mem.setUserMode(false);
        PageTableWalker w = c.mem.walker() instanceof PageTableWalker p ? p : null;
        if (w != null) {
            w.setUser(false);
        }
        try {
            return c.mem.read64(linear);
        } finally {
            c.mem.setUserMode(true);
            if (w != null) {
                w.setUser(true);
            }
        }
    }

    /** A store of the processor's own (the accessed bit of a descriptor), at supervisor level. */
    static void writeImplicit8(Cpu c, long linear, int value) {
        if (c.cpl != 3) {
            c.mem.write8(linear, value);
            return;
        }
        c.mem.setUserMode(false);
        PageTableWalker w = c.mem.walker() instanceof PageTableWalker p ? p : null;
        if (w != null) {
            w.setUser(false);
        }
        try {
            c.mem.write8(linear, value);
        } finally {
            c.mem.setUserMode(true);
            if (w != null) {
                w.setUser(true);
            }
        }
    }

    /**
     * Sets the accessed bit of {@code selector}'s descriptor {@code d} in its table, as the processor does when
     * it loads a segment register (SDM vol. 3 §3.4.5.1); returns the descriptor as loaded.
     */
    static long markAccessed(Cpu c, int selector, long d) {
        if ((d & ACCESSED) != 0 || (selector & 4) == 0 && c.sys.gdtEntries != null) {
            return d | ACCESSED;
        }
        long tableBase = (selector & 4) != 0 ? c.sys.ldtBase : c.sys.gdtBase;
        writeImplicit8(c, tableBase + (selector & ~7) + 5, (int) (d >>> 40) & 0xFF | 1);
        return d | ACCESSED;
    }

    private static final long ACCESSED = 1L << 40;

    /** The 8-byte descriptor for {@code selector}, or #GP(selector) if it lies beyond its table. */
    static long descriptor(Cpu c, int selector) {
        boolean local = (selector & 4) != 0;
        long tableBase = local ? c.sys.ldtBase : c.sys.gdtBase;
        int tableLimit = local ? c.sys.ldtLimit : c.sys.gdtLimit;
        int offset = selector & ~7;
        if (offset + 7 > tableLimit) {
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        if (!local && c.sys.gdtEntries != null) {
            return c.sys.gdtEntries[offset >>> 3];
        }
        return readImplicit64(c, tableBase + offset);
    }

    static long base(long d) {
        return ((d >>> 16) & 0xFFFFFF) | (((d >>> 56) & 0xFF) << 24);
    }

    static long limit(long d) {
        long l = (d & 0xFFFF) | ((d >>> 32) & 0xF0000);
        return (d & (1L << 55)) != 0 ? (l << 12) | 0xFFF : l;
    }

    /** Access byte in bits 0-7, flags nibble in bits 12-15, as {@link SystemState#attributes} keeps them. */
    static int attributes(long d) {
        return (int) (((d >>> 40) & 0xFF) | ((d >>> 40) & 0xF000));
    }

    static int dpl(long d) {
        return (int) (d >>> 45) & 3;
    }

    static boolean present(long d) {
        return (d & (1L << 47)) != 0;
    }

    /** MOV/POP to DS, ES, FS, GS or SS with the protected-mode checks. */
    static void loadData(Cpu c, int seg, int selector) {
        SystemState s = c.sys;
        if ((s.cr.cr0 & 1) == 0) { // real mode: base = selector * 16
            setSegment(c, seg, selector, (long) selector << 4, 0xFFFF, seg == SystemState.CS ? 0x9B : 0x93);
            return;
        }
        if ((selector & ~3) == 0) {
            if (seg == SystemState.SS && (!s.cr.longMode() || c.cpl == 3 || (selector & 3) != c.cpl)) {
                throw c.fault(CpuFault.GP, 0);
            }
            setSegment(c, seg, selector, 0, 0, 0);
            return;
        }
        long d = descriptor(c, selector);
        int type = (int) (d >>> 40) & 0x1F; // S bit and type
        int rpl = selector & 3;
        if (seg == SystemState.SS) {
            boolean writableData = (type & 0x1A) == 0x12;
            if (rpl != c.cpl || dpl(d) != c.cpl || !writableData) {
                throw c.fault(CpuFault.GP, selector & ~3);
            }
            if (!present(d)) {
                throw c.fault(CpuFault.SS, selector & ~3);
            }
        } else {
            boolean readable = (type & 0x18) == 0x10 || (type & 0x1A) == 0x1A;
            boolean conforming = (type & 0x1C) == 0x1C;
            if (!readable || (!conforming && Math.max(rpl, c.cpl) > dpl(d))) {
                throw c.fault(CpuFault.GP, selector & ~3);
            }
            if (!present(d)) {
                throw c.fault(CpuFault.NP, selector & ~3);
            }
        }
        d = markAccessed(c, selector, d);
        setSegment(c, seg, selector, base(d), limit(d), attributes(d));
    }

    static void setSegment(Cpu c, int seg, int selector, long base, long limit, int attributes) {
        SystemState s = c.sys;
        s.selector[seg] = selector & 0xFFFF;
        s.limit[seg] = limit;
        s.attributes[seg] = attributes;
        if (seg == SystemState.FS) {
            c.fsBase = base;
        } else if (seg == SystemState.GS) {
            c.gsBase = base;
        } else {
            s.base[seg] = base;
        }
        if (seg == SystemState.CS) {
            c.updateMode();
        }
    }

    /** Loads CS for a far transfer to privilege {@code newCpl} (checks done by the caller). */
    static void loadCode(Cpu c, int selector, long d, int newCpl) {
        setSegment(c, SystemState.CS, (selector & ~3) | newCpl, base(d), limit(d), attributes(d));
        if (newCpl != c.cpl) {
            c.setCpl(newCpl);
        }
    }

    /** A code segment descriptor for a far transfer: present, code, privilege rules of a non-gate transfer. */
    static long codeDescriptor(Cpu c, int selector) {
        if ((selector & ~3) == 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        long d = descriptor(c, selector);
        if (((d >>> 43) & 3) != 3) { // S=1 and code
            throw c.fault(CpuFault.GP, selector & ~3);
        }
        if (!present(d)) {
            throw c.fault(CpuFault.NP, selector & ~3);
        }
        return markAccessed(c, selector, d);
    }
}
