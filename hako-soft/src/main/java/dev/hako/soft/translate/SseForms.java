package dev.hako.soft.translate;

import static dev.hako.soft.decode.OpcodeTable.NP;
import static dev.hako.soft.decode.OpcodeTable.P66;
import static dev.hako.soft.decode.OpcodeTable.PF2;
import static dev.hako.soft.decode.OpcodeTable.PF3;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.fault.CpuFault;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;

/**
 * Inline bytecode for the SSE2 moves and integer instructions glibc's string functions run on: 128-bit
 * loads and stores (MOVUPS/MOVAPS/MOVUPD/MOVAPD, MOVDQU/MOVDQA), MOVSS/MOVSD, MOVD/MOVQ, the bitwise
 * logic (PAND PANDN POR PXOR and the PS/PD forms), PCMPEQB/W/D, PMOVMSKB, PSHUFD and the PUNPCK
 * interleaves. XMM registers stay in {@code cpu.xmm} (read and written there, never cached in locals), so
 * handler calls and fault stubs need nothing for them. Aligned forms raise #GP(0) on a misaligned 16-byte
 * operand before touching memory, as the interpreter does; a 128-bit access reads (or writes) the low quadword,
 * then the high one. The MMX forms of the same mnemonics (no 66 prefix) fall back.
 */
final class SseForms {
    private static final ClassDesc CD_PACKED_LANES = ClassDesc.of("dev.hako.soft.translate.PackedLanes");
    private static final ClassDesc CD_SSE_SHUFFLE = ClassDesc.of("dev.hako.soft.exec.SseShuffle");
    private static final long LOW32 = 0xFFFFFFFFL;
    private static final int AND = 0, ANDN = 1, OR = 2, XOR = 3;

    private SseForms() {}

    /** True if {@code i} (a 0F-map instruction) has a form here, which is then emitted. */
    static boolean emit(BlockEmitter e, Insn i) {
        int prefix = i.mandatoryPrefix;
        String m = i.spec.mnemonic;
        return switch (i.opcode) {
            case 0x10, 0x11 -> prefix == PF2 || prefix == PF3
                    ? scalarMove(e, i, prefix == PF2 ? 8 : 4, i.opcode == 0x11)
                    : i.opcode == 0x10 ? load128(e, i, false) : store128(e, i, false);
            case 0x28 -> load128(e, i, true);
            case 0x29 -> store128(e, i, true);
            case 0x6F -> prefix == P66 ? load128(e, i, true) : prefix == PF3 && load128(e, i, false);
            case 0x7F -> prefix == P66 ? store128(e, i, true) : prefix == PF3 && store128(e, i, false);
            case 0x6E -> prefix == P66 && "movd".equals(m) && run(() -> movdToXmm(e, i));
            case 0x7E -> prefix == P66 ? "movd".equals(m) && run(() -> movdFromXmm(e, i))
                    : prefix == PF3 && "movq".equals(m) && run(() -> movqLoad(e, i));
            case 0xD6 -> prefix == P66 && "movq".equals(m) && run(() -> movqStore(e, i));
            case 0x54, 0x55, 0x56, 0x57 -> (prefix == NP || prefix == P66) && logic(e, i, i.opcode - 0x54);
            case 0xDB -> prefix == P66 && logic(e, i, AND);
            case 0xDF -> prefix == P66 && logic(e, i, ANDN);
            case 0xEB -> prefix == P66 && logic(e, i, OR);
            case 0xEF -> prefix == P66 && logic(e, i, XOR);
            case 0x74, 0x75, 0x76 -> prefix == P66 && m.startsWith("pcmpeq")
                    && binary(e, i, (a, b) -> compareEqual(e, a, b, 1 << (i.opcode - 0x74)));
            case 0xD7 -> prefix == P66 && "pmovmskb".equals(m) && i.rmIsReg && run(() -> pmovmskb(e, i));
            case 0x70 -> prefix == P66 && "pshufd".equals(m) && run(() -> pshufd(e, i));
            case 0x60, 0x61, 0x62, 0x6C, 0x68, 0x69, 0x6A, 0x6D -> prefix == P66 && m.startsWith("punpck")
                    && run(() -> unpack(e, i));
            default -> false;
        };
    }

    private static boolean run(Runnable emitter) {
        emitter.run();
        return true;
    }

    // ---- the register file ----

    /** Pushes half {@code half} (0 low, 1 high) of XMM{@code reg}. */
    private static void xmm(BlockEmitter e, int reg, int half) {
        e.cpu();
        e.cob.getfield(BlockEmitter.CD_CPU, "xmm", BlockEmitter.CD_LONG_ARRAY).loadConstant(2 * reg + half).laload();
    }

    /** Sets half {@code half} of XMM{@code reg} to the long in local {@code value}. */
    private static void setXmm(BlockEmitter e, int reg, int half, int value) {
        e.cpu();
        e.cob.getfield(BlockEmitter.CD_CPU, "xmm", BlockEmitter.CD_LONG_ARRAY).loadConstant(2 * reg + half)
                .lload(value).lastore();
    }

    /** Pops a long into the low half of XMM{@code reg} and zeroes the high half. */
    private static void setZeroExtended(BlockEmitter e, int reg) {
        int lo = toLocal(e);
        e.cpu();
        e.cob.getfield(BlockEmitter.CD_CPU, "xmm", BlockEmitter.CD_LONG_ARRAY).loadConstant(2 * reg + 1).lconst_0()
                .lastore();
        setXmm(e, reg, 0, lo);
    }

    private static int toLocal(BlockEmitter e) {
        int local = e.newLong();
        e.cob.lstore(local);
        return local;
    }

    // ---- memory operands ----

    /** The memory operand's address in a local; #GP(0) first when {@code aligned} and it is not 16-byte aligned. */
    private static int address(BlockEmitter e, Insn i, boolean aligned) {
        e.ea(i);
        int address = toLocal(e);
        if (aligned) {
            CodeBuilder cob = e.cob;
            Label ok = cob.newLabel();
            cob.lload(address).loadConstant(15L).land().lconst_0().lcmp().ifeq(ok);
            e.raise(CpuFault.GP, 0);
            cob.labelBinding(ok);
        }
        return address;
    }

    private static void readAt(BlockEmitter e, int address, long plus, int size) {
        e.memRef();
        e.cob.lload(address);
        if (plus != 0) {
            e.cob.loadConstant(plus).ladd();
        }
        e.readCall(size);
    }

    private static void writeAt(BlockEmitter e, int address, long plus, int size, Runnable value) {
        e.memRef();
        e.cob.lload(address);
        if (plus != 0) {
            e.cob.loadConstant(plus).ladd();
        }
        value.run();
        e.writeCall(size);
    }

    /** The xmm/m128 source as two locals {low, high}. */
    private static int[] source128(BlockEmitter e, Insn i, boolean aligned) {
        if (i.rmIsReg) {
            xmm(e, i.rm, 0);
            int lo = toLocal(e);
            xmm(e, i.rm, 1);
            return new int[] {lo, toLocal(e)};
        }
        int address = address(e, i, aligned);
        readAt(e, address, 0, 8);
        int lo = toLocal(e);
        readAt(e, address, 8, 8);
        return new int[] {lo, toLocal(e)};
    }

    // ---- moves ----

    private static boolean load128(BlockEmitter e, Insn i, boolean aligned) {
        if (!i.spec.mnemonic.startsWith("mov")) {
            return false;
        }
        e.begin();
        int[] src = source128(e, i, aligned);
        setXmm(e, i.reg, 0, src[0]);
        setXmm(e, i.reg, 1, src[1]);
        e.end();
        return true;
    }

    private static boolean store128(BlockEmitter e, Insn i, boolean aligned) {
        if (!i.spec.mnemonic.startsWith("mov")) {
            return false;
        }
        e.begin();
        if (i.rmIsReg) {
            xmm(e, i.reg, 0);
            int lo = toLocal(e);
            xmm(e, i.reg, 1);
            int hi = toLocal(e);
            setXmm(e, i.rm, 0, lo);
            setXmm(e, i.rm, 1, hi);
        } else {
            int address = address(e, i, aligned);
            writeAt(e, address, 0, 8, () -> xmm(e, i.reg, 0));
            writeAt(e, address, 8, 8, () -> xmm(e, i.reg, 1));
        }
        e.end();
        return true;
    }

    /**
     * MOVSS/MOVSD (F3/F2 0F 10 load, 11 store): between registers the low element is merged, a load from
     * memory zeroes the rest of the register, a store writes the element alone.
     */
    private static boolean scalarMove(BlockEmitter e, Insn i, int size, boolean store) {
        if (!(size == 8 ? "movsd" : "movss").equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        e.begin();
        if (i.rmIsReg) {
            int from = store ? i.reg : i.rm;
            int to = store ? i.rm : i.reg;
            xmm(e, from, 0);
            if (size == 4) {
                cob.loadConstant(LOW32).land();
                xmm(e, to, 0);
                cob.loadConstant(~LOW32).land().lor();
            }
            setXmm(e, to, 0, toLocal(e));
        } else if (store) {
            e.memRef();
            e.ea(i);
            xmm(e, i.reg, 0);
            e.writeCall(size); // a 4-byte write takes the low doubleword
        } else {
            e.read(i, size);
            setZeroExtended(e, i.reg);
        }
        e.end();
        return true;
    }

    /** 66 0F 6E MOVD/MOVQ xmm, r/m32 or r/m64: zero-extended into the whole register. */
    private static void movdToXmm(BlockEmitter e, Insn i) {
        e.begin();
        TransferForms.readRm(e, i, i.opSize);
        setZeroExtended(e, i.reg);
        e.end();
    }

    /** 66 0F 7E MOVD/MOVQ r/m32 or r/m64, xmm. */
    private static void movdFromXmm(BlockEmitter e, Insn i) {
        e.begin();
        if (i.rmIsReg) {
            xmm(e, i.reg, 0);
            e.setReg(i.rm, i.opSize);
        } else {
            e.memRef();
            e.ea(i);
            xmm(e, i.reg, 0);
            e.writeCall(i.opSize);
        }
        e.end();
    }

    /** F3 0F 7E MOVQ xmm, xmm/m64: zero-extended. */
    private static void movqLoad(BlockEmitter e, Insn i) {
        e.begin();
        if (i.rmIsReg) {
            xmm(e, i.rm, 0);
        } else {
            e.read(i, 8);
        }
        setZeroExtended(e, i.reg);
        e.end();
    }

    /** 66 0F D6 MOVQ xmm/m64, xmm: a register destination has its high half zeroed. */
    private static void movqStore(BlockEmitter e, Insn i) {
        e.begin();
        if (i.rmIsReg) {
            xmm(e, i.reg, 0);
            setZeroExtended(e, i.rm);
        } else {
            e.memRef();
            e.ea(i);
            xmm(e, i.reg, 0);
            e.writeCall(8);
        }
        e.end();
    }

    // ---- packed integer and logic ----

    /** Emits one half's result from the locals of the destination's and source's halves. */
    private interface HalfOp {
        void emit(int destination, int source);
    }

    /** dst = op(dst, src) on both halves; the source is xmm/m128 (aligned). */
    private static boolean binary(BlockEmitter e, Insn i, HalfOp op) {
        e.begin();
        int[] src = source128(e, i, true);
        int[] result = new int[2];
        for (int half = 0; half < 2; half++) {
            xmm(e, i.reg, half);
            int dst = toLocal(e);
            op.emit(dst, src[half]);
            result[half] = toLocal(e);
        }
        setXmm(e, i.reg, 0, result[0]);
        setXmm(e, i.reg, 1, result[1]);
        e.end();
        return true;
    }

    private static boolean logic(BlockEmitter e, Insn i, int op) {
        String m = i.spec.mnemonic;
        String[] names = {"and", "andn", "or", "xor"};
        if (!m.equals("p" + names[op]) && !m.equals(names[op] + "ps") && !m.equals(names[op] + "pd")) {
            return false;
        }
        CodeBuilder cob = e.cob;
        return binary(e, i, (a, b) -> {
            cob.lload(a);
            if (op == ANDN) {
                cob.loadConstant(-1L).lxor();
            }
            cob.lload(b);
            switch (op) {
                case AND, ANDN -> cob.land();
                case OR -> cob.lor();
                default -> cob.lxor();
            }
        });
    }

    private static void compareEqual(BlockEmitter e, int a, int b, int width) {
        e.cob.lload(a).lload(b).loadConstant(width).invokestatic(CD_PACKED_LANES, "equal",
                MethodTypeDesc.of(CD_long, CD_long, CD_long, CD_int));
    }

    /** 66 0F D7 PMOVMSKB r, xmm: the byte signs into a 64-bit register (zero above bit 15). */
    private static void pmovmskb(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        MethodTypeDesc signs = MethodTypeDesc.of(CD_long, CD_long);
        e.begin();
        xmm(e, i.rm, 0);
        cob.invokestatic(CD_PACKED_LANES, "byteSigns", signs);
        xmm(e, i.rm, 1);
        cob.invokestatic(CD_PACKED_LANES, "byteSigns", signs).bipush(8).lshl().lor();
        e.setReg(i.reg, 8);
        e.end();
    }

    /** 66 0F 70 PSHUFD: each destination doubleword picked from the source by a 2-bit field of imm8. */
    private static void pshufd(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        int order = (int) i.imm;
        e.begin();
        int[] src = source128(e, i, true);
        int[] result = new int[2];
        for (int half = 0; half < 2; half++) {
            for (int k = 0; k < 2; k++) {
                int pick = (order >>> (2 * (2 * half + k))) & 3;
                cob.lload(src[pick >>> 1]);
                if ((pick & 1) != 0) {
                    cob.bipush(32).lushr();
                } else {
                    cob.loadConstant(LOW32).land();
                }
                if (k == 1) {
                    cob.bipush(32).lshl().lor();
                }
            }
            result[half] = toLocal(e);
        }
        setXmm(e, i.reg, 0, result[0]);
        setXmm(e, i.reg, 1, result[1]);
        e.end();
    }

    /** PUNPCKL/H BW WD DQ QDQ: the low (high) halves' elements interleaved, the destination's first. */
    private static void unpack(BlockEmitter e, Insn i) {
        CodeBuilder cob = e.cob;
        int bits = (i.sub & 15) * 8;
        int half = i.sub >>> 4;
        e.begin();
        int[] src = source128(e, i, true);
        xmm(e, i.reg, half);
        int a = toLocal(e);
        int b = src[half];
        if (bits == 64) {
            setXmm(e, i.reg, 0, a);
            setXmm(e, i.reg, 1, b);
        } else {
            MethodTypeDesc interleave = MethodTypeDesc.of(CD_long, CD_long, CD_long, CD_int, CD_boolean);
            cob.lload(a).lload(b).loadConstant(bits).iconst_0()
                    .invokestatic(CD_SSE_SHUFFLE, "interleave", interleave);
            int lo = toLocal(e);
            cob.lload(a).lload(b).loadConstant(bits).iconst_1()
                    .invokestatic(CD_SSE_SHUFFLE, "interleave", interleave);
            int hi = toLocal(e);
            setXmm(e, i.reg, 0, lo);
            setXmm(e, i.reg, 1, hi);
        }
        e.end();
    }
}
