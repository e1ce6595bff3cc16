package dev.hako.kvm;

import static dev.hako.kvm.abi.KvmLayouts.*;

import dev.hako.core.x86.X86CpuState;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.sys.Ioctl;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A vCPU's registers as KVM holds them, synchronised lazily: nothing is read from KVM until someone asks
 * for the state, and a loaded state is written only before the next KVM_RUN. The exit path (port I/O,
 * MMIO) thus costs no register traffic at all. Converts between kvm_regs, kvm_sregs, kvm_fpu and the
 * MSRs on one side and {@link X86CpuState} on the other.
 */
final class KvmRegisters {
    /** The MSRs that travel in X86CpuState, read and written in this order. */
    static final int IA32_TSC = 0x10, IA32_SYSENTER_CS = 0x174, IA32_SYSENTER_ESP = 0x175,
            IA32_SYSENTER_EIP = 0x176, IA32_PAT = 0x277, IA32_STAR = 0xC0000081, IA32_LSTAR = 0xC0000082,
            IA32_CSTAR = 0xC0000083, IA32_FMASK = 0xC0000084, IA32_KERNEL_GS_BASE = 0xC0000102;
    private static final int[] MSRS = {IA32_STAR, IA32_LSTAR, IA32_CSTAR, IA32_FMASK, IA32_KERNEL_GS_BASE,
        IA32_SYSENTER_CS, IA32_SYSENTER_ESP, IA32_SYSENTER_EIP, IA32_PAT, IA32_TSC};

    private final int vcpuFd;
    private final MemorySegment regs, sregs, fpu, msrs;
    /** The cached copies hold KVM's current values. */
    private boolean valid;
    /** The cached copies hold values KVM must get before it runs the vCPU again. */
    private boolean dirty;

    KvmRegisters(int vcpuFd, Arena arena) {
        this.vcpuFd = vcpuFd;
        this.regs = arena.allocate(REGS);
        this.sregs = arena.allocate(SREGS);
        this.fpu = arena.allocate(FPU);
        this.msrs = arena.allocate(MSRS_HEADER.byteSize() + MSRS.length * MSR_ENTRY.byteSize(), 8);
    }

    /** KVM ran the vCPU: the cached copies are stale. */
    void invalidate() {
        valid = false;
    }

    /** Before KVM_RUN: hands KVM a loaded state. */
    void flush() {
        if (!dirty) {
            return;
        }
        call(KvmIoctls.SET_SREGS, sregs);
        call(KvmIoctls.SET_REGS, regs);
        call(KvmIoctls.SET_FPU, fpu);
        long written = KvmException.check(Ioctl.call(vcpuFd, KvmIoctls.SET_MSRS, msrs), KvmIoctls.SET_MSRS);
        if (written != MSRS.length) {
            throw new KvmException(String.format("KVM_SET_MSRS refused MSR %#x", MSRS[(int) written]));
        }
        dirty = false;
    }

    private void fetch() {
        if (valid || dirty) {
            return;
        }
        call(KvmIoctls.GET_REGS, regs);
        call(KvmIoctls.GET_SREGS, sregs);
        call(KvmIoctls.GET_FPU, fpu);
        prepareMsrList();
        long read = KvmException.check(Ioctl.call(vcpuFd, KvmIoctls.GET_MSRS, msrs), KvmIoctls.GET_MSRS);
        if (read != MSRS.length) {
            throw new KvmException(String.format("KVM_GET_MSRS could not read MSR %#x", MSRS[(int) read]));
        }
        valid = true;
    }

    private void call(long request, MemorySegment struct) {
        KvmException.check(Ioctl.call(vcpuFd, request, struct), request);
    }

    private void prepareMsrList() {
        msrs.set(ValueLayout.JAVA_INT, 0, MSRS.length);
        for (int i = 0; i < MSRS.length; i++) {
            msrs.set(ValueLayout.JAVA_INT, msrEntry(i) + MSR_ENTRY_INDEX, MSRS[i]);
        }
    }

    private static long msrEntry(int i) {
        return MSRS_HEADER.byteSize() + i * MSR_ENTRY.byteSize();
    }

    private long msr(int i) {
        return msrs.get(ValueLayout.JAVA_LONG, msrEntry(i) + MSR_ENTRY_DATA);
    }

    private void setMsr(int i, long value) {
        msrs.set(ValueLayout.JAVA_LONG, msrEntry(i) + MSR_ENTRY_DATA, value);
    }

    long rip() {
        fetch();
        return regs.get(ValueLayout.JAVA_LONG, REGS_RIP);
    }

    long rflags() {
        fetch();
        return regs.get(ValueLayout.JAVA_LONG, REGS_RFLAGS);
    }

    /** Reads the whole architectural state (the halted flag is the caller's). */
    X86CpuState save() {
        fetch();
        X86CpuState s = new X86CpuState();
        for (int i = 0; i < 16; i++) {
            s.gpr[REGS_ORDER[i]] = regs.getAtIndex(ValueLayout.JAVA_LONG, i);
        }
        s.rip = regs.get(ValueLayout.JAVA_LONG, REGS_RIP);
        s.rflags = regs.get(ValueLayout.JAVA_LONG, REGS_RFLAGS);
        for (int seg = 0; seg < 6; seg++) {
            long at = SREGS_SEGMENTS[seg];
            s.selector[seg] = Short.toUnsignedInt(sregs.get(ValueLayout.JAVA_SHORT, at + SEG_SELECTOR));
            s.segmentBase[seg] = sregs.get(ValueLayout.JAVA_LONG, at + SEG_BASE);
            s.segmentLimit[seg] = Integer.toUnsignedLong(sregs.get(ValueLayout.JAVA_INT, at + SEG_LIMIT));
            s.segmentAttributes[seg] = attributes(at);
        }
        s.trSelector = Short.toUnsignedInt(sregs.get(ValueLayout.JAVA_SHORT, SREGS_TR + SEG_SELECTOR));
        s.trBase = sregs.get(ValueLayout.JAVA_LONG, SREGS_TR + SEG_BASE);
        s.trLimit = sregs.get(ValueLayout.JAVA_INT, SREGS_TR + SEG_LIMIT);
        s.trAttributes = attributes(SREGS_TR);
        s.ldtSelector = Short.toUnsignedInt(sregs.get(ValueLayout.JAVA_SHORT, SREGS_LDT + SEG_SELECTOR));
        s.ldtBase = sregs.get(ValueLayout.JAVA_LONG, SREGS_LDT + SEG_BASE);
        s.ldtLimit = sregs.get(ValueLayout.JAVA_INT, SREGS_LDT + SEG_LIMIT);
        s.gdtBase = sregs.get(ValueLayout.JAVA_LONG, SREGS_GDT + DTABLE_BASE);
        s.gdtLimit = Short.toUnsignedInt(sregs.get(ValueLayout.JAVA_SHORT, SREGS_GDT + DTABLE_LIMIT));
        s.idtBase = sregs.get(ValueLayout.JAVA_LONG, SREGS_IDT + DTABLE_BASE);
        s.idtLimit = Short.toUnsignedInt(sregs.get(ValueLayout.JAVA_SHORT, SREGS_IDT + DTABLE_LIMIT));
        s.cr0 = sregs.get(ValueLayout.JAVA_LONG, SREGS_CR0);
        s.cr2 = sregs.get(ValueLayout.JAVA_LONG, SREGS_CR2);
        s.cr3 = sregs.get(ValueLayout.JAVA_LONG, SREGS_CR3);
        s.cr4 = sregs.get(ValueLayout.JAVA_LONG, SREGS_CR4);
        s.cr8 = sregs.get(ValueLayout.JAVA_LONG, SREGS_CR8);
        s.efer = sregs.get(ValueLayout.JAVA_LONG, SREGS_EFER);
        s.apicBase = sregs.get(ValueLayout.JAVA_LONG, SREGS_APIC_BASE);
        s.star = msr(0);
        s.lstar = msr(1);
        s.cstar = msr(2);
        s.sfmask = msr(3);
        s.kernelGsBase = msr(4);
        s.sysenterCs = msr(5);
        s.sysenterEsp = msr(6);
        s.sysenterEip = msr(7);
        s.pat = msr(8);
        s.tsc = msr(9);
        KvmFpuImage.toFxsave(fpu, s.fxsave);
        return s;
    }

    /** Takes {@code s} as the vCPU's state; KVM gets it before the vCPU next runs. */
    void load(X86CpuState s) {
        for (int i = 0; i < 16; i++) {
            regs.setAtIndex(ValueLayout.JAVA_LONG, i, s.gpr[REGS_ORDER[i]]);
        }
        regs.set(ValueLayout.JAVA_LONG, REGS_RIP, s.rip);
        regs.set(ValueLayout.JAVA_LONG, REGS_RFLAGS, s.rflags | 2);
        sregs.fill((byte) 0);
        for (int seg = 0; seg < 6; seg++) {
            setSegment(SREGS_SEGMENTS[seg], s.selector[seg], s.segmentBase[seg], s.segmentLimit[seg],
                    s.segmentAttributes[seg]);
        }
        setSegment(SREGS_TR, s.trSelector, s.trBase, s.trLimit, s.trAttributes);
        // The LDT's attributes are implied: a present LDT descriptor, or none at all.
        setSegment(SREGS_LDT, s.ldtSelector, s.ldtBase, s.ldtLimit, s.ldtSelector == 0 ? 0x02 : 0x82);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_GDT + DTABLE_BASE, s.gdtBase);
        sregs.set(ValueLayout.JAVA_SHORT, SREGS_GDT + DTABLE_LIMIT, (short) s.gdtLimit);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_IDT + DTABLE_BASE, s.idtBase);
        sregs.set(ValueLayout.JAVA_SHORT, SREGS_IDT + DTABLE_LIMIT, (short) s.idtLimit);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_CR0, s.cr0);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_CR2, s.cr2);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_CR3, s.cr3);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_CR4, s.cr4);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_CR8, s.cr8);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_EFER, s.efer);
        sregs.set(ValueLayout.JAVA_LONG, SREGS_APIC_BASE, s.apicBase);
        prepareMsrList();
        long[] values = {s.star, s.lstar, s.cstar, s.sfmask, s.kernelGsBase, s.sysenterCs, s.sysenterEsp,
            s.sysenterEip, s.pat, s.tsc};
        for (int i = 0; i < values.length; i++) {
            setMsr(i, values[i]);
        }
        KvmFpuImage.fromFxsave(s.fxsave, fpu);
        valid = true;
        dirty = true;
    }

    /** X86CpuState's attribute word: access byte in bits 0-7, AVL/L/DB/G in bits 12-15. */
    private int attributes(long at) {
        int type = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_TYPE) & 0xF;
        int s = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_S) & 1;
        int dpl = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_DPL) & 3;
        int present = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_PRESENT) & 1;
        int unusable = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_UNUSABLE) & 1;
        int avl = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_AVL) & 1;
        int l = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_L) & 1;
        int db = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_DB) & 1;
        int g = sregs.get(ValueLayout.JAVA_BYTE, at + SEG_G) & 1;
        return type | s << 4 | dpl << 5 | (present & (unusable ^ 1)) << 7 | avl << 12 | l << 13 | db << 14 | g << 15;
    }

    private void setSegment(long at, int selector, long base, long limit, int attributes) {
        int present = (attributes >> 7) & 1;
        sregs.set(ValueLayout.JAVA_LONG, at + SEG_BASE, base);
        sregs.set(ValueLayout.JAVA_INT, at + SEG_LIMIT, (int) limit);
        sregs.set(ValueLayout.JAVA_SHORT, at + SEG_SELECTOR, (short) selector);
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_TYPE, (byte) (attributes & 0xF));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_S, (byte) ((attributes >> 4) & 1));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_DPL, (byte) ((attributes >> 5) & 3));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_PRESENT, (byte) present);
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_AVL, (byte) ((attributes >> 12) & 1));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_L, (byte) ((attributes >> 13) & 1));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_DB, (byte) ((attributes >> 14) & 1));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_G, (byte) ((attributes >> 15) & 1));
        sregs.set(ValueLayout.JAVA_BYTE, at + SEG_UNUSABLE, (byte) (present ^ 1));
    }
}
