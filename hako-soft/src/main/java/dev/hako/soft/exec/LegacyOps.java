package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.FAR_POINTER;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.OPREG;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;

/**
 * Encodings that mean something else outside 64-bit mode (SDM vol. 2 appendix A, the "i64"/"o64" marks):
 * INC/DEC r in 40-4F, PUSH/POP of ES CS SS DS, PUSHA/POPA, JMP and CALL ptr16:16/32, 82 as an alias of 80, and
 * ARPL's slot 63 (undefined here): what 16- and 32-bit start-up code (the SMP trampoline, the PVH entry) and
 * 32-bit programs in compatibility mode use (hand-written assembly still saves registers with PUSHA). Not
 * implemented (#UD): BOUND, INTO, the BCD adjustments, LDS/LES and SALC, which compilers do not emit.
 */
final class LegacyOps {
    private LegacyOps() {}

    static void register(OpcodeTable t) {
        for (int r = 0; r < 8; r++) {
            t.legacyOp(ONE_BYTE, 0x40 + r, "inc", OPREG, IMM_NONE, 0, Alu::inc);
            t.legacyOp(ONE_BYTE, 0x48 + r, "dec", OPREG, IMM_NONE, 1, Alu::inc);
        }
        int[][] segments = {{0x06, 0x07, SystemState.ES}, {0x16, 0x17, SystemState.SS}, {0x1E, 0x1F, SystemState.DS}};
        for (int[] s : segments) {
            t.legacyOp(ONE_BYTE, s[0], "push", 0, IMM_NONE, s[2], Privileged::pushSreg);
            t.legacyOp(ONE_BYTE, s[1], "pop", ENDS_BLOCK, IMM_NONE, s[2], Privileged::popSreg);
        }
        t.legacyOp(ONE_BYTE, 0x0E, "push", 0, IMM_NONE, SystemState.CS, Privileged::pushSreg);
        t.legacyOp(ONE_BYTE, 0x60, "pusha", 0, IMM_NONE, 0, LegacyOps::pushAll);
        t.legacyOp(ONE_BYTE, 0x61, "popa", 0, IMM_NONE, 0, LegacyOps::popAll);
        t.legacyOp(ONE_BYTE, 0xEA, "ljmp", ENDS_BLOCK, FAR_POINTER, 0, FarTransfers::farJumpDirect);
        t.legacyOp(ONE_BYTE, 0x9A, "lcall", ENDS_BLOCK, FAR_POINTER, 0, FarTransfers::farCallDirect);
        t.legacyOp(ONE_BYTE, 0x63, "arpl", 0, IMM_NONE, 0, Instructions::undefined);
        t.legacyAlias(ONE_BYTE, 0x82, 0x80);
    }

    /**
     * PUSHA/PUSHAD: EAX, ECX, EDX, EBX, the stack pointer as it was, EBP, ESI, EDI at the operand size. Every
     * store is made below the unchanged stack pointer before it moves, so a fault leaves the registers as they
     * were and the instruction restarts.
     */
    static void pushAll(Cpu c, Insn i) {
        int size = i.opSize;
        for (int r = 0; r < 8; r++) {
            c.mem.write(c.stackAddress(-(long) (r + 1) * size), size, c.getReg(r, size));
        }
        c.adjustStack(-8L * size);
    }

    /** POPA/POPAD: the reverse, skipping the saved stack pointer; every load is made before a register changes. */
    static void popAll(Cpu c, Insn i) {
        int size = i.opSize;
        long di = c.mem.read(c.stackAddress(0), size);
        long si = c.mem.read(c.stackAddress(size), size);
        long bp = c.mem.read(c.stackAddress(2L * size), size);
        long bx = c.mem.read(c.stackAddress(4L * size), size);
        long dx = c.mem.read(c.stackAddress(5L * size), size);
        long cx = c.mem.read(c.stackAddress(6L * size), size);
        long ax = c.mem.read(c.stackAddress(7L * size), size);
        c.setReg(Cpu.RDI, size, di);
        c.setReg(Cpu.RSI, size, si);
        c.setReg(Cpu.RBP, size, bp);
        c.setReg(Cpu.RBX, size, bx);
        c.setReg(Cpu.RDX, size, dx);
        c.setReg(Cpu.RCX, size, cx);
        c.setReg(Cpu.RAX, size, ax);
        c.adjustStack(8L * size);
    }
}
