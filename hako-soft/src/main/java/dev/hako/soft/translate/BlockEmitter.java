package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpSpec;
import dev.hako.soft.exec.Branches;
import dev.hako.soft.exec.Cpu;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.classfile.TypeKind;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.DynamicConstantDesc;
import java.lang.constant.MethodTypeDesc;
import java.util.ArrayList;
import java.util.List;

/**
 * Emits the body of one translated block: guest registers live in JVM locals (loaded on first use, written
 * back at exits), flags stay pending in a {@link FlagChain}, and every instruction that can fault gets an
 * exception-table range whose handler commits the state as it was before that instruction, sets RIP to it
 * and rethrows. Instructions with no inline form call their interpreter handler.
 *
 * <p>Discipline the instruction forms follow: first everything that can fault (memory accesses, handler
 * calls), then register and flag updates. So the state recorded at {@link #begin} holds throughout the
 * instruction's faulting part.
 */
final class BlockEmitter {
    static final ClassDesc CD_CPU = ClassDesc.of("dev.hako.soft.exec.Cpu");
    static final ClassDesc CD_MMU = ClassDesc.of("dev.hako.soft.mmu.Mmu");
    static final ClassDesc CD_INSN = ClassDesc.of("dev.hako.soft.decode.Insn");
    static final ClassDesc CD_EXEC = ClassDesc.of("dev.hako.soft.exec.Exec");
    static final ClassDesc CD_BRANCHES = ClassDesc.of("dev.hako.soft.exec.Branches");
    static final ClassDesc CD_THROWABLE = ClassDesc.of("java.lang.Throwable");
    static final ClassDesc CD_LONG_ARRAY = CD_long.arrayType();
    private static final MethodTypeDesc EXEC_TYPE = MethodTypeDesc.of(CD_void, CD_CPU, CD_INSN);
    private static final int CPU = 1;
    private static final int NOT_LOADED = 0, CLEAN = 1, DIRTY = 2;

    final CodeBuilder cob;
    final Insn[] insns;
    /** How many of the block's instructions are translated (a prefix when the block is too long). */
    final int count;
    private final List<Object> classData;
    final FlagChain flags;
    private final int mem;
    private final int regs;
    private final int[] regSlot = new int[16];
    private final int[] regState = new int[16];
    private final int scratchEa;

    /** The instruction being emitted, and what a fault in it must commit. */
    private int current;
    private Label currentStart;
    private State atStart;
    private boolean mayFault;
    private boolean mayExit;
    private final List<Stub> faultStubs = new ArrayList<>();
    private final List<Stub> exitStubs = new ArrayList<>();
    private final List<Stub> sideExits = new ArrayList<>();
    /** Where a trace that comes back to its own start goes on. */
    private final Label loopHead;
    /** Whether the loop-back also leaves at {@link Cpu#instructionDeadline}. */
    private final boolean deadlines;
    /**
     * Registers (a bit each) that stay in their locals across the loop-back, loaded once before the loop head;
     * and those of them the trace writes, which every exit writes back.
     */
    private final int carried;
    private final int carriedWritten;
    /** Registers this emission writes: see {@link Carried}. */
    private int written;

    /**
     * Registers that differ from {@code cpu.r}, registers whose locals hold their value, and the flag producers
     * not yet in the cpu's fields.
     */
    record State(int dirty, int loaded, List<FlagChain.Producer> chain) {}

    /**
     * What a trace's first emission learns for its second: whether it loops back to its start, which registers it
     * touches and which it writes. A looping trace is emitted again with those carried across the loop-back, so
     * that each iteration neither stores its registers into {@code cpu.r} nor loads them again.
     */
    record Carried(boolean loops, int touched, int written) {
        static final Carried NONE = new Carried(false, 0, 0);
    }

    private record Stub(Label label, int index, State state) {}

    BlockEmitter(CodeBuilder cob, Insn[] insns, int count, List<Object> classData, boolean deadlines,
            Carried carry) {
        this.cob = cob;
        this.deadlines = deadlines;
        this.carried = carry.loops() ? carry.touched() : 0;
        this.carriedWritten = carry.loops() ? carry.written() : 0;
        this.insns = insns;
        this.count = count;
        this.classData = classData;
        this.flags = new FlagChain(this);
        this.mem = cob.allocateLocal(TypeKind.REFERENCE);
        this.regs = cob.allocateLocal(TypeKind.REFERENCE);
        this.scratchEa = cob.allocateLocal(TypeKind.LONG);
        this.loopHead = cob.newLabel();
        java.util.Arrays.fill(regSlot, -1);
    }

    /** What this emission found out, for a second one (see {@link Carried}). */
    Carried carried() {
        int touched = 0;
        for (int r = 0; r < 16; r++) {
            if (regSlot[r] >= 0) {
                touched |= 1 << r;
            }
        }
        return new Carried(loopsBack(), touched, written);
    }

    /**
     * Whether the trace goes on at its own start by a target known here: a side exit's, or its end's (the
     * continuation, or the target of the branch or LOOP that ends it). Every trace looks at RIP when it ends, and
     * one that comes back to its start by RET or an indirect jump loops too, without carrying registers: emitting
     * every trace twice would double the cost of translating the many that never come back.
     */
    private boolean loopsBack() {
        long start = insns[0].addr;
        for (int k = 0; k < count; k++) {
            Insn insn = insns[k];
            if (k < insns.length - 1 && Branches.isConditional(insn) && exitTarget(insn, k) == start) {
                return true;
            }
        }
        Insn last = insns[count - 1];
        return last.imm == start || last.next == start;
    }

    /** Emits the whole method. */
    void emit() {
        cob.aload(CPU).getfield(CD_CPU, "mem", CD_MMU).astore(mem);
        cob.aload(CPU).getfield(CD_CPU, "r", CD_LONG_ARRAY).astore(regs);
        for (int r = 0; r < 16; r++) {
            if ((carried & 1 << r) != 0) {
                ensureLoaded(r);
                if ((carriedWritten & 1 << r) != 0) {
                    regState[r] = DIRTY; // at the loop head it may differ from cpu.r: exits write it back
                }
            }
        }
        cob.labelBinding(loopHead);
        for (int k = 0; k < count; k++) {
            current = k;
            Insn insn = insns[k];
            boolean inner = k < insns.length - 1;
            if (inner && Branches.isConditional(insn)) {
                sideExit(insn);
            } else if (inner && Branches.isDirectJump(insn)) {
                continue; // the trace goes on at the target
            } else if (!InsnForms.emit(this, insn)) {
                fallback(insn);
            }
        }
        State end = state();
        flags.materialize(end.chain());
        Insn last = insns[count - 1];
        if (count < insns.length || !last.spec.has(OpSpec.ENDS_BLOCK)) {
            // The trace stops before its end, or at a page or size limit: RIP goes where execution continues.
            // (RIP holds the first block's end; control transfers set it themselves.) A conditional branch cut
            // from the rest of its trace leaves one way by its side exit; here it went the way the trace followed
            // (see followsTaken).
            boolean followed = Branches.isDirectJump(last)
                    || Branches.isConditional(last) && followsTaken(last, count - 1);
            long continuation = followed ? last.imm : last.next;
            cob.aload(CPU).loadConstant(continuation).putfield(CD_CPU, "rip", CD_long);
        }
        retire(count);
        Label leave = cob.newLabel();
        cob.aload(CPU).getfield(CD_CPU, "rip", CD_long).loadConstant(insns[0].addr).lcmp().ifne(leave);
        loopBack(end);
        cob.return_();
        cob.labelBinding(leave);
        commitRegisters(end);
        cob.return_();
        for (Stub s : sideExits) {
            cob.labelBinding(s.label);
            long target = exitTarget(insns[s.index], s.index);
            if (target == insns[0].addr) {
                flags.materialize(s.state.chain());
                cob.aload(CPU).loadConstant(target).putfield(CD_CPU, "rip", CD_long);
                retire(s.index + 1);
                loopBack(s.state);
            } else {
                commit(s.state);
                cob.aload(CPU).loadConstant(target).putfield(CD_CPU, "rip", CD_long);
                retire(s.index + 1);
            }
            cob.return_();
        }
        for (Stub s : exitStubs) {
            cob.labelBinding(s.label);
            commit(s.state);
            cob.aload(CPU).iconst_0().putfield(CD_CPU, "exitBlock", CD_boolean);
            if (s.index < insns.length - 1 || !insns[s.index].spec.has(OpSpec.ENDS_BLOCK)) {
                cob.aload(CPU).loadConstant(insns[s.index].next).putfield(CD_CPU, "rip", CD_long);
            }
            retire(s.index + 1);
            cob.return_();
        }
        for (Stub s : faultStubs) {
            cob.labelBinding(s.label);
            commit(s.state);
            cob.aload(CPU).loadConstant(insns[s.index].addr).putfield(CD_CPU, "rip", CD_long);
            retire(s.index);
            cob.athrow();
        }
    }

    private void retire(int n) {
        if (n > 0) {
            cob.aload(CPU).dup().getfield(CD_CPU, "instructions", CD_long).loadConstant((long) n).ladd()
                    .putfield(CD_CPU, "instructions", CD_long);
        }
    }

    State state() {
        int dirty = 0;
        int loaded = 0;
        for (int r = 0; r < 16; r++) {
            if (regState[r] == DIRTY) {
                dirty |= 1 << r;
            }
            if (regState[r] != NOT_LOADED) {
                loaded |= 1 << r;
            }
        }
        return new State(dirty, loaded, flags.snapshot());
    }

    /** Writes back registers and flags as {@code s} describes them. */
    private void commit(State s) {
        commitRegisters(s);
        flags.materialize(s.chain);
    }

    private void commitRegisters(State s) {
        for (int r = 0; r < 16; r++) {
            if ((s.dirty & (1 << r)) != 0) {
                storeRegister(r);
            }
        }
    }

    private void storeRegister(int r) {
        cob.aload(regs).loadConstant(r).lload(regSlot[r]).lastore();
    }

    // ---- instruction boundaries ----

    /** Starts the faulting part of the current instruction: a fault from here on sees the state as it is now. */
    void begin() {
        atStart = state();
        currentStart = cob.newLabel();
        cob.labelBinding(currentStart);
        mayFault = false;
        mayExit = false;
    }

    /** Ends the current instruction: closes its fault range and, after a store, checks for an SMC exit. */
    void end() {
        if (mayFault) {
            Label endLabel = cob.newLabel();
            cob.labelBinding(endLabel);
            Label handler = cob.newLabel();
            cob.exceptionCatch(currentStart, endLabel, handler, CD_THROWABLE);
            faultStubs.add(new Stub(handler, current, atStart));
        }
        if (mayExit) {
            Label exit = cob.newLabel();
            cob.aload(CPU).getfield(CD_CPU, "exitBlock", CD_boolean).ifne(exit);
            exitStubs.add(new Stub(exit, current, state()));
        }
    }

    /** True when the trace goes on at the target of the conditional branch {@code k} (a backward one). */
    private boolean followsTaken(Insn insn, int k) {
        return k + 1 < insns.length && insns[k + 1].addr == insn.imm && insn.imm != insn.next;
    }

    /** Where the side exit of conditional branch {@code k} leaves to: the way the trace does not go. */
    private long exitTarget(Insn insn, int k) {
        return followsTaken(insn, k) ? insn.next : insn.imm;
    }

    /** A conditional branch inside a trace: the way the trace goes on stays inside, the other way leaves. */
    private void sideExit(Insn insn) {
        int cc = followsTaken(insn, current) ? insn.sub ^ 1 : insn.sub;
        flags.prepareCondition(cc);
        begin();
        Label exit = cob.newLabel();
        flags.branchIf(cc, exit);
        sideExits.add(new Stub(exit, current, state()));
        end();
    }

    /**
     * Execution goes on at the trace's own start (flags committed, RIP set, instructions retired; the registers as
     * {@code s} says): loop inside the method instead of returning, unless someone wants the vCPU's attention or
     * (deterministic execution) a timer is due: a trace that left on a kick must not take a timer sooner than one
     * that did not. On the way back the registers are brought to what the loop head expects: the carried ones in
     * their locals, the others in {@code cpu.r}. Leaving, the registers are committed and the caller returns.
     */
    private void loopBack(State s) {
        Label leave = cob.newLabel();
        cob.aload(CPU).getfield(CD_CPU, "attention", CD_boolean).ifne(leave);
        if (deadlines) {
            cob.aload(CPU).getfield(CD_CPU, "instructions", CD_long)
                    .aload(CPU).getfield(CD_CPU, "instructionDeadline", CD_long).lcmp().ifge(leave);
        }
        for (int r = 0; r < 16; r++) {
            int bit = 1 << r;
            if ((carried & bit) == 0 || (carriedWritten & bit) == 0) {
                if ((s.dirty & bit) != 0) {
                    storeRegister(r); // the loop head finds it in cpu.r, or takes its local as clean
                }
            }
            if ((carried & bit) != 0 && (s.loaded & bit) == 0) {
                cob.aload(regs).loadConstant(r).laload().lstore(regSlot[r]); // a handler left it in cpu.r
            }
        }
        cob.goto_(loopHead);
        cob.labelBinding(leave);
        commitRegisters(s);
    }

    /** Runs the instruction through its interpreter handler, with registers and flags in the cpu. */
    private static final boolean REPORT = Boolean.getBoolean("hako.translate.report");

    private void fallback(Insn insn) {
        if (REPORT) {
            System.err.println("translate-fallback " + insn.spec.mnemonic + " " + insn);
        }
        flushRegisters();
        flags.materializeNow();
        // Handlers find RIP at their instruction's end (the interpreter runs a block with RIP at its end, and
        // only the last instruction of a block may end it): those that end a block without branching rely on it.
        cob.aload(CPU).loadConstant(insn.next).putfield(CD_CPU, "rip", CD_long);
        begin();
        mayFault = true;
        mayExit = true;
        if (FallbackCounts.ENABLED) {
            ClassDesc adder = ClassDesc.of("java.util.concurrent.atomic.LongAdder");
            cob.ldc(classConstant(FallbackCounts.counter(insn), adder))
                    .invokevirtual(adder, "increment", MethodTypeDesc.of(CD_void));
        }
        cob.ldc(classConstant(insn.exec, CD_EXEC)).aload(CPU).ldc(classConstant(insn, CD_INSN))
                .invokeinterface(CD_EXEC, "exec", EXEC_TYPE);
        java.util.Arrays.fill(regState, NOT_LOADED); // the handler may have changed any of them
        end();
    }

    private DynamicConstantDesc<Object> classConstant(Object value, ClassDesc type) {
        classData.add(value);
        return DynamicConstantDesc.ofNamed(ConstantDescs.BSM_CLASS_DATA_AT, ConstantDescs.DEFAULT_NAME, type,
                classData.size() - 1);
    }

    /** Stores dirty registers into {@code cpu.r} (before code that reads them there). */
    void flushRegisters() {
        for (int r = 0; r < 16; r++) {
            if (regState[r] == DIRTY) {
                cob.aload(regs).loadConstant(r).lload(regSlot[r]).lastore();
                regState[r] = CLEAN;
            }
        }
    }

    // ---- registers ----

    /** Loads register {@code r} into its local now (before branches that read it on one path only). */
    void preload(int r) {
        ensureLoaded(r);
    }

    private void ensureLoaded(int r) {
        if (regSlot[r] < 0) {
            regSlot[r] = cob.allocateLocal(TypeKind.LONG);
        }
        if (regState[r] == NOT_LOADED) {
            cob.aload(regs).loadConstant(r).laload().lstore(regSlot[r]);
            regState[r] = CLEAN;
        }
    }

    /** Pushes all 64 bits of register {@code r} (0..15). */
    void reg64(int r) {
        ensureLoaded(r);
        cob.lload(regSlot[r]);
    }

    /** Pushes register {@code reg} at {@code size}, zero-extended; 16..19 are AH..BH. */
    void getReg(int reg, int size) {
        if (size == 1 && reg >= 16) {
            reg64(reg - 16);
            cob.bipush(8).lushr().loadConstant(0xFFL).land();
            return;
        }
        reg64(reg);
        mask(size);
    }

    /** Masks the long on the stack to {@code size} bytes. */
    void mask(int size) {
        if (size != 8) {
            cob.loadConstant(size == 4 ? 0xFFFFFFFFL : size == 2 ? 0xFFFFL : 0xFFL).land();
        }
    }

    /** Sign-extends the low {@code size} bytes of the long on the stack. */
    void signExtend(int size) {
        if (size != 8) {
            int shift = 64 - 8 * size;
            cob.bipush(shift).lshl().bipush(shift).lshr();
        }
    }

    /** Pops a long and writes it to register {@code reg} as x86 does (32-bit zero-extends, 8/16 merge). */
    void setReg(int reg, int size) {
        int r = size == 1 && reg >= 16 ? reg - 16 : reg;
        if (regSlot[r] < 0) {
            regSlot[r] = cob.allocateLocal(TypeKind.LONG);
        }
        switch (size) {
            case 8 -> cob.lstore(regSlot[r]);
            case 4 -> cob.loadConstant(0xFFFFFFFFL).land().lstore(regSlot[r]);
            default -> {
                long field = size == 2 ? 0xFFFFL : reg >= 16 ? 0xFF00L : 0xFFL;
                if (reg >= 16 && size == 1) {
                    cob.loadConstant(0xFFL).land().bipush(8).lshl();
                } else {
                    cob.loadConstant(field).land();
                }
                ensureLoaded(r);
                cob.lload(regSlot[r]).loadConstant(~field).land().lor().lstore(regSlot[r]);
            }
        }
        regState[r] = DIRTY;
        written |= 1 << r;
    }

    // ---- memory ----

    /** Pushes the offset of the instruction's memory operand: base + index * scale + disp, at the address size. */
    void offset(Insn i) {
        boolean pushed = false;
        if (i.base >= 0) {
            reg64(i.base);
            pushed = true;
        }
        if (i.index >= 0) {
            reg64(i.index);
            if (i.scale != 0) {
                cob.bipush(i.scale).lshl();
            }
            if (pushed) {
                cob.ladd();
            }
            pushed = true;
        }
        if (!pushed) {
            cob.loadConstant(i.disp);
        } else if (i.disp != 0) {
            cob.loadConstant(i.disp).ladd();
        }
        if (i.addrSize != 8) {
            cob.loadConstant(Cpu.addressMask(i.addrSize)).land();
        }
    }

    /** Pushes the effective (linear) address of the instruction's memory operand. */
    void ea(Insn i) {
        offset(i);
        if (i.segment == Cpu.SEG_FS) {
            cob.aload(CPU).getfield(CD_CPU, "fsBase", CD_long).ladd();
        } else if (i.segment == Cpu.SEG_GS) {
            cob.aload(CPU).getfield(CD_CPU, "gsBase", CD_long).ladd();
        }
    }

    /** Computes the effective address into a scratch local, for a read-modify-write. */
    void eaToScratch(Insn i) {
        ea(i);
        cob.lstore(scratchEa);
    }

    /** Pushes the memory value at the scratch address, zero-extended. */
    void readScratch(int size) {
        cob.aload(mem).lload(scratchEa);
        readCall(size);
    }

    /** Pushes the value of the memory operand of {@code i} at {@code size}, zero-extended. */
    void read(Insn i, int size) {
        cob.aload(mem);
        ea(i);
        readCall(size);
    }

    /** Pushes the value at the address the top long gives (mem must be loaded under it: see {@link #memRef}). */
    void readCall(int size) {
        mayFault = true;
        switch (size) {
            case 1 -> cob.invokevirtual(CD_MMU, "read8", MethodTypeDesc.of(CD_int, CD_long)).i2l();
            case 2 -> cob.invokevirtual(CD_MMU, "read16", MethodTypeDesc.of(CD_int, CD_long)).i2l();
            case 4 -> cob.invokevirtual(CD_MMU, "read32", MethodTypeDesc.of(CD_long, CD_long));
            default -> cob.invokevirtual(CD_MMU, "read64", MethodTypeDesc.of(CD_long, CD_long));
        }
    }

    /** Pushes the Mmu (the receiver of a read or write). */
    void memRef() {
        cob.aload(mem);
    }

    /** Pushes the Mmu and the scratch address: the start of a store to it. */
    void scratchTarget() {
        cob.aload(mem).lload(scratchEa);
    }

    /** Stores the top long at the address under it (mem under that): both pushed by the caller. */
    void writeCall(int size) {
        mayFault = true;
        mayExit = true;
        switch (size) {
            case 1 -> cob.l2i().invokevirtual(CD_MMU, "write8", MethodTypeDesc.of(CD_void, CD_long, CD_int));
            case 2 -> cob.l2i().invokevirtual(CD_MMU, "write16", MethodTypeDesc.of(CD_void, CD_long, CD_int));
            case 4 -> cob.invokevirtual(CD_MMU, "write32", MethodTypeDesc.of(CD_void, CD_long, CD_long));
            default -> cob.invokevirtual(CD_MMU, "write64", MethodTypeDesc.of(CD_void, CD_long, CD_long));
        }
    }

    /** A fresh long local (values a fault or exit stub may still read must not share one). */
    int newLong() {
        return cob.allocateLocal(TypeKind.LONG);
    }

    /** Pushes the Cpu. */
    void cpu() {
        cob.aload(CPU);
    }

    /** Raises exception {@code vector} (with {@code errorCode} unless negative) as the current instruction's fault. */
    void raise(int vector, int errorCode) {
        mayFault = true;
        ClassDesc fault = ClassDesc.of("dev.hako.soft.fault.CpuFault");
        cob.aload(CPU).loadConstant(vector);
        if (errorCode < 0) {
            cob.invokevirtual(CD_CPU, "fault", MethodTypeDesc.of(fault, CD_int));
        } else {
            cob.loadConstant(errorCode).invokevirtual(CD_CPU, "fault", MethodTypeDesc.of(fault, CD_int, CD_int));
        }
        cob.athrow();
    }

    /** Checks the branch target on the stack: it stays if canonical, else #GP(0) (see {@link Branches#target}). */
    void canonicalTarget() {
        mayFault = true;
        cob.aload(CPU).invokestatic(CD_BRANCHES, "target", MethodTypeDesc.of(CD_long, CD_long, CD_CPU));
    }

        /** Sets RIP to the long on the stack (the Cpu must be under it). */
    void putRip() {
        cob.putfield(CD_CPU, "rip", CD_long);
    }
}
