package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_Long;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;

import dev.hako.soft.exec.Flags;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.util.ArrayList;
import java.util.List;

/**
 * The flag producers of a translated block that have not reached the cpu's lazy-flag fields. A producer is
 * only its operands in JVM locals; it is written out ("materialized") at the block's exits, before a handler
 * call, or when a fault stub needs it. A producer whose flags a later one overwrites before anything reads
 * them is therefore never computed at all: dead flags cost nothing.
 *
 * <p>The chain starts with a producer that sets all six flags (or with the fields themselves when empty);
 * INC/DEC (which keep CF) and rotates (which keep all but CF and OF) stack on top and are materialized after
 * what is under them, by the interpreter's own code, so the result is exact.
 *
 * <p>Conditions (Jcc, SETcc, CMOVcc) on a lone ADD, SUB/CMP or logic producer are answered from its
 * operands directly; anything else is materialized first and asked of {@link Flags#condition}.
 */
final class FlagChain {
    static final int ADD = Flags.ADD, SUB = Flags.SUB, LOGIC = Flags.LOGIC, INC = Flags.INC, DEC = Flags.DEC;
    /** ADC and SBB: {@code count} is the local holding the carry-in (0 or 1). */
    static final int ADC = Flags.ADC, SBB = Flags.SBB;
    /**
     * Producers done by calling the interpreter's computation at materialization. SHIFT_CL has its count in
     * a local ({@code count} is that local's slot) and changes nothing when the count is zero.
     */
    static final int SHIFT = 100, IMUL = 101, SHIFT_CL = 102;
    /** All six flags known outright: {@code res} is the local holding them as RFLAGS bits (BSF, TZCNT...). */
    static final int EAGER = 103;
    /** BT/BTS/BTR/BTC: only CF changes; {@code src1} is the local holding it (0 or 1). */
    static final int BIT_TEST = 104;
    /**
     * MUL and one-operand IMUL: {@code res} holds the low half of the product (SF ZF PF come from it, as in the
     * interpreter), {@code src2} 1 when the product does not fit it (CF and OF).
     */
    static final int WIDE_MUL = 105;
    /**
     * SHLD/SHRD: {@code res} the result, {@code src1} the destination before, {@code src2} CF, {@code count}
     * the local holding the masked count (zero changes nothing).
     */
    static final int DOUBLE_SHIFT = 106;
    private static final ClassDesc CD_FLAGS = ClassDesc.of("dev.hako.soft.exec.Flags");
    private static final ClassDesc CD_SHIFT = ClassDesc.of("dev.hako.soft.exec.Shift");
    private static final ClassDesc CD_TRANSLATED_FLAGS = ClassDesc.of("dev.hako.soft.translate.TranslatedFlags");

    /**
     * One producer: {@code kind}, operand size, and the locals holding result and sources (-1 where unused).
     * For SHIFT, {@code src1} is the (masked) operand, {@code op} the Shift operation and {@code count} the
     * masked non-zero count.
     */
    record Producer(int kind, int size, int res, int src1, int src2, int op, int count) {
        boolean setsAll() {
            return kind != INC && kind != DEC && kind != SHIFT_CL && kind != BIT_TEST && kind != DOUBLE_SHIFT
                    && !(kind == SHIFT && (op == 0 || op == 1));
        }

        /** ADD, SUB or logic: the carry is known from the operands. */
        boolean plain() {
            return kind == ADD || kind == SUB || kind == LOGIC;
        }
    }

    private final BlockEmitter e;
    private final List<Producer> chain = new ArrayList<>();

    FlagChain(BlockEmitter e) {
        this.e = e;
    }

    List<Producer> snapshot() {
        return List.copyOf(chain);
    }

    void add(Producer p) {
        if (p.setsAll()) {
            chain.clear();
        }
        chain.add(p);
    }

    /** Writes the whole chain into the cpu now; afterwards the fields are current. */
    void materializeNow() {
        materialize(chain);
        chain.clear();
    }

    /** Emits the writes that bring the cpu's flag fields to the state {@code producers} describe. */
    void materialize(List<Producer> producers) {
        CodeBuilder cob = e.cob;
        for (int k = 0; k < producers.size(); k++) {
            Producer p = producers.get(k);
            boolean incDecNext = k + 1 < producers.size()
                    && (producers.get(k + 1).kind == INC || producers.get(k + 1).kind == DEC);
            if (p.plain() && incDecNext) {
                continue; // the INC/DEC above overwrites every field; it takes its carry from p directly
            }
            Producer below = k > 0 ? producers.get(k - 1) : null;
            if ((p.kind == INC || p.kind == DEC) && below != null && below.plain()) {
                writeIncDec(p, below);
                continue;
            }
            switch (p.kind) {
                case SHIFT -> {
                    e.cpu();
                    cob.loadConstant(p.op).lload(p.src1).loadConstant(p.count).loadConstant(p.size)
                            .invokestatic(CD_SHIFT, "compute",
                                    MethodTypeDesc.of(CD_long, BlockEmitter.CD_CPU, CD_int, CD_long, CD_int, CD_int))
                            .pop2();
                }
                case IMUL -> {
                    e.cpu();
                    cob.lload(p.src1).lload(p.src2).loadConstant(p.size).invokestatic(CD_TRANSLATED_FLAGS,
                            "imul", MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU, CD_long, CD_long, CD_int));
                }
                case SHIFT_CL -> {
                    e.cpu();
                    cob.loadConstant(p.op).lload(p.src1).lload(p.count).l2i().loadConstant(p.size)
                            .invokestatic(CD_TRANSLATED_FLAGS, "shiftByCount",
                                    MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU, CD_int, CD_long, CD_int, CD_int));
                }
                case EAGER -> {
                    e.cpu();
                    cob.lload(p.res).invokevirtual(BlockEmitter.CD_CPU, "setArithFlags",
                            MethodTypeDesc.of(CD_void, CD_long));
                }
                case BIT_TEST -> {
                    e.cpu();
                    cob.lload(p.src1).invokestatic(CD_TRANSLATED_FLAGS, "carry",
                            MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU, CD_long));
                }
                case DOUBLE_SHIFT -> {
                    e.cpu();
                    cob.lload(p.res).lload(p.src1).lload(p.src2).lload(p.count).loadConstant(p.size)
                            .invokestatic(CD_TRANSLATED_FLAGS, "doubleShift", MethodTypeDesc.of(CD_void,
                                    BlockEmitter.CD_CPU, CD_long, CD_long, CD_long, CD_long, CD_int));
                }
                case WIDE_MUL -> {
                    e.cpu();
                    cob.lload(p.res).lload(p.src2).loadConstant(p.size).invokestatic(CD_TRANSLATED_FLAGS,
                            "wideMultiply", MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU, CD_long, CD_long, CD_int));
                }
                case INC, DEC -> {
                    e.cpu();
                    cob.loadConstant(p.kind).loadConstant(p.size).lload(p.res).lload(p.src1)
                            .invokestatic(CD_TRANSLATED_FLAGS, "incDec",
                                    MethodTypeDesc.of(CD_void, BlockEmitter.CD_CPU, CD_int, CD_int, CD_long, CD_long));
                }
                default -> {
                    e.cpu();
                    cob.loadConstant(p.kind).putfield(BlockEmitter.CD_CPU, "ccOp", CD_int);
                    e.cpu();
                    cob.loadConstant(p.size).putfield(BlockEmitter.CD_CPU, "ccSize", CD_int);
                    e.cpu();
                    cob.lload(p.res).putfield(BlockEmitter.CD_CPU, "ccRes", CD_long);
                    if (p.kind != LOGIC) {
                        e.cpu();
                        cob.lload(p.src1).putfield(BlockEmitter.CD_CPU, "ccSrc1", CD_long);
                        e.cpu();
                        cob.lload(p.src2).putfield(BlockEmitter.CD_CPU, "ccSrc2", CD_long);
                    }
                    if (p.kind == ADC || p.kind == SBB) {
                        e.cpu();
                        cob.lload(p.count).putfield(BlockEmitter.CD_CPU, "ccAux", CD_long);
                    }
                }
            }
        }
    }

    /** INC/DEC over a plain producer: the lazy fields, with the carry worked out from {@code below}. */
    private void writeIncDec(Producer p, Producer below) {
        CodeBuilder cob = e.cob;
        e.cpu();
        if (below.kind == LOGIC) {
            cob.lconst_0();
        } else {
            Label carry = cob.newLabel();
            Label done = cob.newLabel();
            if (below.kind == SUB) {
                cob.lload(below.src1).lload(below.src2);
            } else {
                cob.lload(below.res);
                e.mask(below.size);
                cob.lload(below.src1);
            }
            unsignedCompare(below.size);
            cob.iflt(carry).lconst_0().goto_(done);
            cob.labelBinding(carry);
            cob.lconst_1();
            cob.labelBinding(done);
        }
        cob.putfield(BlockEmitter.CD_CPU, "ccAux", CD_long);
        e.cpu();
        cob.loadConstant(p.kind).putfield(BlockEmitter.CD_CPU, "ccOp", CD_int);
        e.cpu();
        cob.loadConstant(p.size).putfield(BlockEmitter.CD_CPU, "ccSize", CD_int);
        e.cpu();
        cob.lload(p.res).putfield(BlockEmitter.CD_CPU, "ccRes", CD_long);
        e.cpu();
        cob.lload(p.src1).putfield(BlockEmitter.CD_CPU, "ccSrc1", CD_long);
        e.cpu();
        cob.lconst_1().putfield(BlockEmitter.CD_CPU, "ccSrc2", CD_long);
    }

    // ---- conditions ----

    /** The last producer; ADD, SUB and logic producers set every flag, so when on top they are alone. */
    private Producer top() {
        return chain.isEmpty() ? null : chain.get(chain.size() - 1);
    }

    private static boolean inlinable(Producer p, int cc) {
        if (p == null) {
            return false;
        }
        return switch (p.kind) {
            case SUB -> cc != 0x0 && cc != 0x1 && cc != 0xA && cc != 0xB;
            case ADD -> cc >= 0x2 && cc <= 0x5 || cc == 0x8 || cc == 0x9;
            case LOGIC -> cc != 0xA && cc != 0xB;
            case INC, DEC -> cc == 0x4 || cc == 0x5 || cc == 0x8 || cc == 0x9; // ZF and SF come from the result
            case EAGER -> cc >= 0x2 && cc <= 0x5;
            case BIT_TEST -> cc == 0x2 || cc == 0x3;
            case WIDE_MUL -> cc <= 0x3; // OF and CF: the overflow local
            default -> false;
        };
    }

    /** Before an instruction that tests {@code cc}: if the test cannot be answered inline, materialize now. */
    void prepareCondition(int cc) {
        if (!inlinable(top(), cc) && !chain.isEmpty()) {
            materializeNow();
        }
    }

    /** Branches to {@code ifTrue} when condition {@code cc} holds (after {@link #prepareCondition}). */
    void branchIf(int cc, Label ifTrue) {
        CodeBuilder cob = e.cob;
        Producer p = top();
        if (!inlinable(p, cc)) {
            e.cpu();
            cob.loadConstant(cc).invokestatic(CD_FLAGS, "condition",
                    MethodTypeDesc.of(CD_boolean, BlockEmitter.CD_CPU, CD_int)).ifne(ifTrue);
            return;
        }
        boolean negate = (cc & 1) != 0;
        int size = p.size;
        switch (p.kind) {
            case EAGER -> {
                cob.lload(p.res).loadConstant(cc <= 0x3 ? Flags.CF : Flags.ZF).land().lconst_0().lcmp();
                if (negate) {
                    cob.ifeq(ifTrue);
                } else {
                    cob.ifne(ifTrue);
                }
            }
            case BIT_TEST, WIDE_MUL -> {
                cob.lload(p.kind == BIT_TEST ? p.src1 : p.src2).lconst_0().lcmp();
                if (negate) {
                    cob.ifeq(ifTrue);
                } else {
                    cob.ifne(ifTrue);
                }
            }
            case LOGIC -> {
                // CF = OF = 0: every condition is a signed compare of the result with zero.
                switch (cc) {
                    case 0x0, 0x2 -> { } // never
                    case 0x1, 0x3 -> cob.goto_(ifTrue);
                    default -> {
                        signedResult(p);
                        cob.lconst_0().lcmp();
                        switch (cc) {
                            case 0x4, 0x6 -> cob.ifeq(ifTrue);
                            case 0x5, 0x7 -> cob.ifne(ifTrue);
                            case 0x8, 0xC -> cob.iflt(ifTrue);
                            case 0x9, 0xD -> cob.ifge(ifTrue);
                            case 0xE -> cob.ifle(ifTrue);
                            default -> cob.ifgt(ifTrue); // 0xF
                        }
                    }
                }
            }
            case ADD -> {
                switch (cc) {
                    case 0x2, 0x3 -> { // CF: the masked result is below the first operand
                        cob.lload(p.res);
                        e.mask(size);
                        cob.lload(p.src1);
                        unsignedCompare(size);
                        if (negate) {
                            cob.ifge(ifTrue);
                        } else {
                            cob.iflt(ifTrue);
                        }
                    }
                    default -> {
                        signedResult(p);
                        cob.lconst_0().lcmp();
                        switch (cc) {
                            case 0x4 -> cob.ifeq(ifTrue);
                            case 0x5 -> cob.ifne(ifTrue);
                            case 0x8 -> cob.iflt(ifTrue);
                            default -> cob.ifge(ifTrue); // 0x9
                        }
                    }
                }
            }
            case INC, DEC -> {
                signedResult(p);
                cob.lconst_0().lcmp();
                switch (cc) {
                    case 0x4 -> cob.ifeq(ifTrue);
                    case 0x5 -> cob.ifne(ifTrue);
                    case 0x8 -> cob.iflt(ifTrue);
                    default -> cob.ifge(ifTrue); // 0x9
                }
            }
            default -> subCondition(p, cc, ifTrue);
        }
    }

    /** SUB/CMP: compare the operands themselves (they are held masked to the operand size). */
    private void subCondition(Producer p, int cc, Label ifTrue) {
        CodeBuilder cob = e.cob;
        int size = p.size;
        switch (cc) {
            case 0x8, 0x9 -> {
                signedResult(p);
                cob.lconst_0().lcmp();
                if (cc == 0x8) {
                    cob.iflt(ifTrue);
                } else {
                    cob.ifge(ifTrue);
                }
                return;
            }
            case 0x2, 0x3, 0x6, 0x7 -> {
                cob.lload(p.src1).lload(p.src2);
                unsignedCompare(size);
            }
            case 0x4, 0x5 -> cob.lload(p.src1).lload(p.src2).lcmp();
            default -> { // 0xC..0xF: signed
                cob.lload(p.src1);
                e.signExtend(size);
                cob.lload(p.src2);
                e.signExtend(size);
                cob.lcmp();
            }
        }
        switch (cc) {
            case 0x2, 0xC -> cob.iflt(ifTrue);
            case 0x3, 0xD -> cob.ifge(ifTrue);
            case 0x4 -> cob.ifeq(ifTrue);
            case 0x5 -> cob.ifne(ifTrue);
            case 0x6, 0xE -> cob.ifle(ifTrue);
            default -> cob.ifgt(ifTrue); // 0x7, 0xF
        }
    }

    private void signedResult(Producer p) {
        e.cob.lload(p.res);
        e.signExtend(p.size);
    }

    /** Compares two longs as unsigned values of {@code size} bytes (already masked), leaving lcmp's int. */
    private void unsignedCompare(int size) {
        CodeBuilder cob = e.cob;
        if (size == 8) {
            cob.invokestatic(CD_Long, "compareUnsigned",
                    MethodTypeDesc.of(CD_int, CD_long, CD_long));
        } else {
            cob.lcmp();
        }
    }

    /** Pushes 1 if condition {@code cc} holds, else 0 (as an int). */
    void pushCondition(int cc) {
        CodeBuilder cob = e.cob;
        Label yes = cob.newLabel();
        Label done = cob.newLabel();
        branchIf(cc, yes);
        cob.iconst_0().goto_(done);
        cob.labelBinding(yes);
        cob.iconst_1();
        cob.labelBinding(done);
    }
}
