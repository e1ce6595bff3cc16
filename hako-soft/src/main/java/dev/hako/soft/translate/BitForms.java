package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_Long;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.Flags;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.Label;
import java.lang.constant.MethodTypeDesc;

/**
 * Inline bytecode for bit instructions: BT, BTS, BTR, BTC with an immediate or a register bit offset (a
 * register offset into memory addresses a bit string: signed, and free to leave the operand), and BSF, BSR,
 * TZCNT, LZCNT with the interpreter's values for the flags the SDM leaves undefined. LOCK-prefixed forms fall back.
 */
final class BitForms {
    private static final String[] TEST_NAMES = {"bt", "bts", "btr", "btc"};
    private static final int BT = 0, BTS = 1, BTR = 2;

    private BitForms() {}

    /** 0F A3/AB/B3/BB (register offset) and 0F BA /4../7 (imm8 offset); {@code sub} is the operation. */
    static boolean bitTest(BlockEmitter e, Insn i, boolean immediate) {
        int op = i.sub;
        if (op < 0 || op > 3 || !TEST_NAMES[op].equals(i.spec.mnemonic)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        int bits = size * 8;
        e.begin();
        int bit = e.newLong();
        int value = e.newLong();
        if (immediate) {
            cob.loadConstant(i.imm & (bits - 1)).lstore(bit);
        }
        if (i.rmIsReg) {
            if (!immediate) {
                e.getReg(i.reg, size);
                cob.loadConstant((long) bits - 1).land().lstore(bit);
            }
            e.getReg(i.rm, size);
            cob.lstore(value);
            if (op != BT) {
                modified(e, op, value, bit);
                e.setReg(i.rm, size);
            }
        } else {
            int address = e.newLong();
            if (immediate) {
                e.ea(i);
            } else {
                int offset = e.newLong();
                e.getReg(i.reg, size);
                e.signExtend(size);
                cob.lstore(offset);
                e.ea(i);
                cob.lload(offset).bipush(Integer.numberOfTrailingZeros(bits)).lshr().loadConstant((long) size)
                        .lmul().ladd();
                cob.lload(offset).loadConstant((long) bits - 1).land().lstore(bit);
            }
            cob.lstore(address);
            e.memRef();
            cob.lload(address);
            e.readCall(size);
            cob.lstore(value);
            if (op != BT) {
                e.memRef();
                cob.lload(address);
                modified(e, op, value, bit);
                e.writeCall(size);
            }
        }
        int carry = e.newLong();
        cob.lload(value).lload(bit).l2i().lushr().lconst_1().land().lstore(carry);
        e.flags.add(new FlagChain.Producer(FlagChain.BIT_TEST, size, -1, carry, -1, 0, 0));
        e.end();
        return true;
    }

    /** Pushes {@code value} with bit {@code bit} set, cleared or flipped. */
    private static void modified(BlockEmitter e, int op, int value, int bit) {
        CodeBuilder cob = e.cob;
        cob.lload(value).lconst_1().lload(bit).l2i().lshl();
        switch (op) {
            case BTS -> cob.lor();
            case BTR -> cob.loadConstant(-1L).lxor().land();
            default -> cob.lxor();
        }
    }

    /**
     * 0F BC/BD BSF, BSR (F3: TZCNT, LZCNT). BSF/BSR of zero set ZF and leave the whole destination alone;
     * otherwise all six flags are clear. TZCNT/LZCNT set CF for a zero source and ZF for a zero count.
     */
    static boolean scan(BlockEmitter e, Insn i) {
        String m = i.spec.mnemonic;
        boolean reverse = "bsr".equals(m);
        boolean leading = "lzcnt".equals(m);
        boolean count = leading || "tzcnt".equals(m);
        if (!reverse && !count && !"bsf".equals(m)) {
            return false;
        }
        CodeBuilder cob = e.cob;
        int size = i.opSize;
        e.begin();
        int source = e.newLong();
        int flags = e.newLong();
        TransferForms.readRm(e, i, size);
        cob.lstore(source);
        if (count) {
            int bits = size * 8;
            MethodTypeDesc zeros = MethodTypeDesc.of(CD_int, CD_long);
            if (leading) {
                cob.lload(source).invokestatic(CD_Long, "numberOfLeadingZeros", zeros).bipush(64 - bits).isub();
            } else {
                cob.lload(source);
                if (bits < 64) {
                    cob.loadConstant(1L << bits).lor(); // a zero source counts the operand's width
                }
                cob.invokestatic(CD_Long, "numberOfTrailingZeros", zeros);
            }
            cob.i2l();
            int result = e.newLong();
            cob.lstore(result);
            // CF = source is zero, ZF = count is zero: both are zero tests
            Label cfDone = cob.newLabel();
            cob.lconst_0().lstore(flags);
            cob.lload(source).lconst_0().lcmp().ifne(cfDone);
            cob.loadConstant(Flags.CF).lstore(flags);
            cob.labelBinding(cfDone);
            Label zfDone = cob.newLabel();
            cob.lload(result).lconst_0().lcmp().ifne(zfDone);
            cob.lload(flags).loadConstant(Flags.ZF).lor().lstore(flags);
            cob.labelBinding(zfDone);
            cob.lload(result);
            e.setReg(i.reg, size);
        } else {
            e.preload(i.reg); // written on one path only
            Label zero = cob.newLabel();
            Label done = cob.newLabel();
            cob.lload(source).lconst_0().lcmp().ifeq(zero);
            if (reverse) {
                cob.bipush(63).lload(source)
                        .invokestatic(CD_Long, "numberOfLeadingZeros", MethodTypeDesc.of(CD_int, CD_long)).isub();
            } else {
                cob.lload(source).invokestatic(CD_Long, "numberOfTrailingZeros", MethodTypeDesc.of(CD_int, CD_long));
            }
            cob.i2l();
            e.setReg(i.reg, size);
            cob.lconst_0().lstore(flags).goto_(done);
            cob.labelBinding(zero);
            cob.loadConstant(Flags.ZF).lstore(flags);
            cob.labelBinding(done);
        }
        e.flags.add(new FlagChain.Producer(FlagChain.EAGER, size, flags, -1, -1, 0, 0));
        e.end();
        return true;
    }
}
