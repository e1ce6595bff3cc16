package dev.hako.soft.exec;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.DataWatch;
import dev.hako.soft.mmu.Mmu;

/**
 * The architectural state of one soft vCPU and the operand accessors its instruction handlers share.
 * Fields are public and plain: only the vCPU's own thread touches them.
 */
public final class Cpu {
    public static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
    /**
     * Segment codes kept in {@link Insn#segment}: in 64-bit mode only FS and GS (others are flat: NONE);
     * outside it, every memory operand names its segment.
     */
    public static final int SEG_NONE = 0, SEG_FS = 1, SEG_GS = 2, SEG_ES = 3, SEG_CS = 4, SEG_SS = 5, SEG_DS = 6;
    /** Decoding modes: long mode with a 64-bit CS, and the legacy 32- and 16-bit default sizes. */
    public static final int MODE_64 = 64, MODE_32 = 32, MODE_16 = 16;

    public final long[] r = new long[16];
    /** The instruction pointer: an offset in CS (the linear address in 64-bit mode, where CS is flat). */
    public long rip;
    /** The decoding mode, from CR0.PE, EFER.LMA, CS.L and CS.D (see {@link #updateMode}). */
    public int mode = MODE_64;

    // Lazy flags (see Flags).
    public int ccOp = Flags.EAGER;
    public int ccSize = 8;
    public long ccRes, ccSrc1, ccSrc2, ccAux;
    /** RFLAGS bits that are not arithmetic flags (DF, IF, ...), bit 1 always set. */
    public long flagsOther = 0x202;

    public long fsBase, gsBase, kernelGsBase;
    /** Current privilege level; user-mode programs run at 3. */
    public int cpl = 3;

    /** XMM0..15 as (low, high) pairs: xmm[2n] is bits 0-63 of XMMn. */
    public final long[] xmm = new long[32];
    public int mxcsr = 0x1F80;
    public final X87 fpu = new X87();
    /** SSE floating-point arithmetic under MXCSR's controls, and the exceptions one instruction detected. */
    public final SoftFloat sse = new SoftFloat();

    public final Mmu mem;
    public final SystemState sys = new SystemState();
    /** The local interrupt controller the CPU asks at instruction boundaries; it also owns some MSRs. */
    public dev.hako.core.accel.LocalInterrupts interrupts = dev.hako.core.accel.LocalInterrupts.NONE;
    /** Set from any thread when the vCPU must look up from its blocks: an interrupt, a pause, a stop. */
    public volatile boolean attention;
    /** Index of this vCPU in its machine. */
    public int index;
    /** Port I/O and MMIO go here (the MMU gets the same handler for MMIO pages). */
    public dev.hako.core.accel.IoHandler io = dev.hako.core.accel.IoHandler.NONE;
    public final CpuFault fault = new CpuFault();
    public final CpuidModel cpuid = new CpuidModel();
    /** Told when MOV wrote DR0-DR3 or DR7, so that what they arm is armed before the next instruction. */
    public Runnable debugRegistersWritten = () -> { };
    /**
     * The guest's I/O breakpoints (DR7 R/W 10 under CR4.DE) while one is armed, else null: the one check port I/O
     * pays when none is.
     */
    public DataWatch portWatch;
    /** Set by an instruction that must end the current block (SMC store, syscall that stops the guest). */
    public boolean exitBlock;
    /** Where SYSCALL goes; the user-mode runner carries it out on the host. */
    public SyscallHandler syscallHandler;
    /** Retired instructions, counted per block. */
    public long instructions;
    /**
     * Deterministic execution only: the retired count at which {@link #instructionClock}'s next timer is due,
     * looked at between blocks and on a translated trace's loop-back. {@link Long#MAX_VALUE} otherwise: the
     * comparison is then never true.
     */
    public long instructionDeadline = Long.MAX_VALUE;
    /** Deterministic execution only: guest time as retired instructions, whose timers this vCPU runs; else null. */
    public dev.hako.core.time.InstructionClock instructionClock;
    /** Quotient and remainder of a 128-bit division, reused. */
    final long[] divScratch = new long[2];
    /** Result slot for MSR hooks, reused. */
    final long[] msrScratch = new long[1];
    /** An interrupt frame being built, reused. */
    final long[] frameScratch = new long[6];
    /** Guest time; the TSC counts its nanoseconds (1 GHz) plus {@link SystemState#tscOffset}. */
    public dev.hako.core.time.VirtualClock clock = new dev.hako.core.time.NanoTimeClock();

    public Cpu(Mmu mem) {
        this.mem = mem;
    }

    /** Connects the vCPU to its machine's buses. */
    public void connect(int vcpuIndex, dev.hako.core.accel.IoHandler handler) {
        index = vcpuIndex;
        io = handler;
        mem.setIo(handler, vcpuIndex);
    }

    /** Called by SYSCALL. */
    public interface SyscallHandler {
        void syscall(Cpu cpu);
    }

    // ---- faults ----

    public CpuFault fault(int vector) {
        return fault.raise(vector, 0, false, 0);
    }

    public CpuFault fault(int vector, int errorCode) {
        return fault.raise(vector, errorCode, true, 0);
    }

    // ---- registers ----

    /**
     * Register {@code reg} at {@code size} bytes, zero-extended. Byte registers 16..19 are AH, CH, DH, BH
     * (the decoder maps them so when no REX prefix is present).
     */
    public long getReg(int reg, int size) {
        return switch (size) {
            case 1 -> reg < 16 ? r[reg] & 0xFF : (r[reg - 16] >>> 8) & 0xFF;
            case 2 -> r[reg] & 0xFFFF;
            case 4 -> r[reg] & 0xFFFFFFFFL;
            default -> r[reg];
        };
    }

    /** Writes a register as x86 does: 32-bit writes zero the upper half, 8 and 16-bit writes merge. */
    public void setReg(int reg, int size, long value) {
        switch (size) {
            case 1 -> {
                if (reg < 16) {
                    r[reg] = (r[reg] & ~0xFFL) | (value & 0xFF);
                } else {
                    r[reg - 16] = (r[reg - 16] & ~0xFF00L) | ((value & 0xFF) << 8);
                }
            }
            case 2 -> r[reg] = (r[reg] & ~0xFFFFL) | (value & 0xFFFF);
            case 4 -> r[reg] = value & 0xFFFFFFFFL;
            default -> r[reg] = value;
        }
    }

    // ---- memory operands ----

    /**
     * Effective (linear) address of the memory operand. Outside 64-bit mode (compatibility mode included) the
     * linear address wraps at 4 GiB, as 32-bit TLS accesses at negative offsets from GS rely on.
     */
    public long ea(Insn i) {
        long a = i.disp;
        if (i.base >= 0) {
            a += r[i.base];
        }
        if (i.index >= 0) {
            a += r[i.index] << i.scale;
        }
        if (i.addrSize != 8) {
            a &= i.addrSize == 4 ? 0xFFFFFFFFL : 0xFFFFL;
        }
        if (i.segment == SEG_NONE) {
            return a;
        }
        a += segmentBase(i.segment);
        return mode == MODE_64 ? a : a & 0xFFFFFFFFL;
    }

    /** Base of the segment named by an {@link Insn#segment} code. */
    public long segmentBase(int segment) {
        return switch (segment) {
            case SEG_FS -> fsBase;
            case SEG_GS -> gsBase;
            case SEG_ES -> sys.base[SystemState.ES];
            case SEG_CS -> sys.base[SystemState.CS];
            case SEG_SS -> sys.base[SystemState.SS];
            case SEG_DS -> sys.base[SystemState.DS];
            default -> 0;
        };
    }

    /** Recomputes the decoding mode after CS, CR0 or EFER changed. */
    public void updateMode() {
        int cs = sys.attributes[SystemState.CS];
        if ((sys.cr.efer & dev.hako.soft.mmu.ControlRegisters.EFER_LMA) != 0 && (cs & 0x2000) != 0) {
            mode = MODE_64;
        } else if ((sys.cr.cr0 & 1) != 0 && (cs & 0x4000) != 0) {
            mode = MODE_32;
        } else {
            mode = MODE_16;
        }
    }

    /** The mask of an address of {@code addrSize} bytes. */
    public static long addressMask(int addrSize) {
        return addrSize == 8 ? -1L : addrSize == 4 ? 0xFFFFFFFFL : 0xFFFFL;
    }

    /**
     * Writes a counter or index register (RCX, RSI, RDI of string ops and LOOP) at the address size whose
     * mask is {@code addrMask}, as a register write of that width: 16 bits merge, 32 bits zero-extend.
     */
    public static void writeAddressRegister(Cpu c, int reg, long addrMask, long value) {
        c.r[reg] = addrMask == 0xFFFFL ? (c.r[reg] & ~0xFFFFL) | (value & 0xFFFF) : value & addrMask;
    }

    /** Width of the stack pointer: RSP in 64-bit mode, else ESP or SP by SS.B. */
    public long stackMask() {
        return mode == MODE_64 ? -1L : (sys.attributes[SystemState.SS] & 0x4000) != 0 ? 0xFFFFFFFFL : 0xFFFFL;
    }

    /** Linear address of the instruction pointer. */
    public long linearRip() {
        return mode == MODE_64 ? rip : (sys.base[SystemState.CS] + rip) & 0xFFFFFFFFL; // wraps at 4 GiB, as ea does
    }

    /** The r/m operand at the instruction's operand size. */
    public long readRm(Insn i) {
        return i.rmIsReg ? getReg(i.rm, i.opSize) : mem.read(ea(i), i.opSize);
    }

    /** The r/m operand at an explicit size (movzx, movsx and friends). */
    public long readRm(Insn i, int size) {
        return i.rmIsReg ? getReg(i.rm, size) : mem.read(ea(i), size);
    }

    public void writeRm(Insn i, long value) {
        if (i.rmIsReg) {
            setReg(i.rm, i.opSize, value);
        } else {
            mem.write(ea(i), i.opSize, value);
        }
    }

    public void writeRm(Insn i, int size, long value) {
        if (i.rmIsReg) {
            setReg(i.rm, size, value);
        } else {
            mem.write(ea(i), size, value);
        }
    }

    // ---- flags ----

    public void setFlags(int op, int size, long res, long src1, long src2) {
        ccOp = op;
        ccSize = size;
        ccRes = res;
        ccSrc1 = src1;
        ccSrc2 = src2;
    }

    /** Sets the six arithmetic flags outright. */
    public void setArithFlags(long flags) {
        ccOp = Flags.EAGER;
        ccRes = flags & Flags.ARITH;
    }

    public long rflags() {
        return flagsOther | Flags.arith(this);
    }

    /** Loads RFLAGS; {@code writable} masks the bits the writer may change. */
    public void setRflags(long value, long writable) {
        long arith = Flags.arith(this);
        long merged = ((flagsOther | arith) & ~writable) | (value & writable);
        flagsOther = (merged & ~Flags.ARITH) | 2;
        setArithFlags(merged);
    }

    public int cpl() {
        return cpl;
    }

    /** Changes the CPL, and with it the TLB and page permissions user accesses are checked against. */
    public void setCpl(int newCpl) {
        cpl = newCpl;
        mem.setUserMode(newCpl == 3);
        if (mem.walker() instanceof dev.hako.soft.mmu.PageTableWalker w) {
            w.setUser(newCpl == 3);
        }
    }

    /** Where the guest's TSC is now. */
    public long tsc() {
        return clock.nanos() + sys.tscOffset;
    }

    public boolean df() {
        return (flagsOther & Flags.DF) != 0;
    }

    // ---- stack ----

    /** Pushes {@code size} bytes: in 64-bit mode at RSP, elsewhere at SS:ESP or SS:SP. */
    public void push(int size, long value) {
        if (mode == MODE_64) {
            long sp = r[RSP] - size;
            mem.write(sp, size, value);
            r[RSP] = sp;
            return;
        }
        long mask = stackMask();
        long sp = (r[RSP] - size) & mask;
        mem.write(sys.base[SystemState.SS] + sp, size, value);
        r[RSP] = (r[RSP] & ~mask) | sp;
    }

    /** Linear address of the stack top plus {@code offset}. */
    public long stackAddress(long offset) {
        if (mode == MODE_64) {
            return r[RSP] + offset;
        }
        return sys.base[SystemState.SS] + ((r[RSP] + offset) & stackMask());
    }

    /** Linear address of the stack offset {@code sp} (already at the stack pointer's width). */
    public long stackLinear(long sp) {
        return mode == MODE_64 ? sp : sys.base[SystemState.SS] + sp;
    }

        /** Moves the stack pointer by {@code delta} at its width. */
    public void adjustStack(long delta) {
        long mask = stackMask();
        r[RSP] = (r[RSP] & ~mask) | ((r[RSP] + delta) & mask);
    }

    public long pop(int size) {
        long v = mem.read(stackAddress(0), size);
        adjustStack(size);
        return v;
    }

    public void push64(long value) {
        push(8, value);
    }

    public long pop64() {
        return pop(8);
    }
}
