package dev.hako.soft.oracle;

import java.io.ByteArrayOutputStream;

/**
 * The host code that runs one instruction under test, assembled by hand as bytes. Called as
 * {@code void f(Context *ctx)}, it saves the callee-saved registers, the host RSP and the host's FXSAVE
 * image, loads the input FXSAVE image, RFLAGS and all 16 GPRs (RSP too, pointing into the data pages),
 * and jumps to the instruction. Each place execution may go on after it (the fall-through and any branch
 * targets the case names) holds an exit stub that records its offset, and then shared code stores all
 * GPRs, RFLAGS and the FXSAVE image, restores the host state (FXRSTOR of the saved image brings back MXCSR
 * and the FPU control word; RFLAGS is reset to 0x202, clearing DF and whatever a POPF under test set) and
 * returns.
 *
 * <p>Nothing between loading the inputs and storing the outputs touches the flags or the guest registers:
 * only MOV, LEA and JMP run there, and the exit stub saves RAX through an absolute address before using it.
 */
final class Trampoline {
    /** Code region: two pages; the instruction at {@link #INSN_OFFSET} so branches may go both ways. */
    static final int CODE_SIZE = 8192;
    static final int INSN_OFFSET = 0x800;
    private static final int COMMON_OFFSET = 0x1800;
    private static final int PROLOGUE_LIMIT = 0x100;
    /** Bytes an exit stub occupies: mov moffs,rax; mov rax,imm64; mov moffs,rax; jmp rel32. */
    static final int STUB_SIZE = 35;

    // Context block layout (16-byte aligned for FXSAVE).
    static final int IN_GPR = 0x000, IN_FLAGS = 0x080, OUT_GPR = 0x088, OUT_FLAGS = 0x108, HOST_RSP = 0x110,
            EXIT = 0x118, STASH = 0x120, STACK_TOP = 0x200, FX_IN = 0x200, FX_OUT = 0x400, FX_HOST = 0x600;
    static final int CONTEXT_SIZE = 0x800;

    private static final int RAX = 0, RSP = 4, RDI = 7;

    private Trampoline() {}

    /**
     * The code region for {@code insn}, with exit stubs at the end of the instruction and at each offset
     * of {@code branchExits} (relative to the instruction's first byte), for a context block at
     * {@code ctx}.
     */
    static byte[] assemble(byte[] insn, int[] branchExits, long ctx) {
        byte[] code = new byte[CODE_SIZE];
        java.util.Arrays.fill(code, (byte) 0xCC); // int3: a stray jump traps instead of running on
        byte[] prologue = prologue(ctx);
        if (prologue.length > PROLOGUE_LIMIT) {
            throw new IllegalStateException("prologue too long");
        }
        System.arraycopy(prologue, 0, code, 0, prologue.length);
        System.arraycopy(insn, 0, code, INSN_OFFSET, insn.length);
        boolean[] used = new boolean[CODE_SIZE];
        mark(used, 0, PROLOGUE_LIMIT, "prologue");
        mark(used, INSN_OFFSET, insn.length, "instruction");
        byte[] common = common(ctx);
        mark(used, COMMON_OFFSET, common.length, "common exit code");
        System.arraycopy(common, 0, code, COMMON_OFFSET, common.length);
        placeStub(code, used, insn.length, ctx);
        for (int exit : branchExits) {
            if (exit != insn.length) {
                placeStub(code, used, exit, ctx);
            }
        }
        return code;
    }

    private static void mark(boolean[] used, int from, int length, String what) {
        if (from < 0 || from + length > used.length) {
            throw new IllegalArgumentException(what + " falls outside the code region");
        }
        for (int k = from; k < from + length; k++) {
            if (used[k]) {
                throw new IllegalArgumentException(what + " overlaps other trampoline code at " + k);
            }
            used[k] = true;
        }
    }

    private static void placeStub(byte[] code, boolean[] used, int exitOffset, long ctx) {
        int at = INSN_OFFSET + exitOffset;
        mark(used, at, STUB_SIZE, "exit stub for insn" + (exitOffset >= 0 ? "+" : "") + exitOffset);
        Asm a = new Asm();
        a.bytes(0x48, 0xA3).u64(ctx + STASH);          // mov [ctx+STASH], rax
        a.bytes(0x48, 0xB8).u64(exitOffset);           // mov rax, exitOffset
        a.bytes(0x48, 0xA3).u64(ctx + EXIT);           // mov [ctx+EXIT], rax
        a.bytes(0xE9).u32(COMMON_OFFSET - (at + STUB_SIZE)); // jmp common
        byte[] stub = a.toBytes();
        System.arraycopy(stub, 0, code, at, stub.length);
    }

    private static byte[] prologue(long ctx) {
        Asm a = new Asm();
        a.bytes(0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57); // push rbx rbp r12-r15
        a.movToMem(RDI, HOST_RSP, RSP);                      // mov [rdi+HOST_RSP], rsp
        a.bytes(0x0F, 0xAE, 0x87).u32(FX_HOST);              // fxsave [rdi+FX_HOST]
        a.bytes(0x0F, 0xAE, 0x8F).u32(FX_IN);                // fxrstor [rdi+FX_IN]
        a.bytes(0x48, 0x8D, 0xA7).u32(STACK_TOP);            // lea rsp, [rdi+STACK_TOP]
        a.bytes(0xFF, 0xB7).u32(IN_FLAGS);                   // push qword [rdi+IN_FLAGS]
        a.bytes(0x9D);                                       // popfq
        for (int r = 0; r < 16; r++) {
            if (r != RSP && r != RDI) {
                a.movFromMem(r, RDI, IN_GPR + 8 * r);       // mov r, [rdi+IN_GPR+8r]
            }
        }
        a.movFromMem(RSP, RDI, IN_GPR + 8 * RSP);
        a.movFromMem(RDI, RDI, IN_GPR + 8 * RDI);
        int jmpEnd = a.size() + 5;
        a.bytes(0xE9).u32(INSN_OFFSET - jmpEnd);             // jmp insn
        return a.toBytes();
    }

    private static byte[] common(long ctx) {
        Asm a = new Asm();
        a.bytes(0x48, 0xB8).u64(ctx);                        // mov rax, ctx
        a.movToMem(RAX, OUT_GPR + 8 * RSP, RSP);             // mov [rax+OUT+32], rsp
        a.bytes(0x48, 0x8D, 0xA0).u32(STACK_TOP);            // lea rsp, [rax+STACK_TOP]
        a.bytes(0x9C);                                       // pushfq
        a.bytes(0x8F, 0x80).u32(OUT_FLAGS);                  // pop qword [rax+OUT_FLAGS]
        for (int r = 1; r < 16; r++) {
            if (r != RSP) {
                a.movToMem(RAX, OUT_GPR + 8 * r, r);         // mov [rax+OUT+8r], r
            }
        }
        a.movFromMem(1, RAX, STASH);                         // mov rcx, [rax+STASH]
        a.movToMem(RAX, OUT_GPR, 1);                         // mov [rax+OUT], rcx
        a.bytes(0x0F, 0xAE, 0x80).u32(FX_OUT);               // fxsave [rax+FX_OUT]
        a.bytes(0x0F, 0xAE, 0x88).u32(FX_HOST);              // fxrstor [rax+FX_HOST]
        a.bytes(0x68).u32(0x202);                            // push 0x202
        a.bytes(0x9D);                                       // popfq: DF, AC, TF clear for the host again
        a.movFromMem(RSP, RAX, HOST_RSP);                    // mov rsp, [rax+HOST_RSP]
        a.bytes(0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B); // pop r15-r12 rbp rbx
        a.bytes(0xC3);                                       // ret
        return a.toBytes();
    }

    /** Just enough of an assembler: raw bytes and 64-bit moves between a register and [base+disp32]. */
    private static final class Asm {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Asm bytes(int... bs) {
            for (int b : bs) {
                out.write(b);
            }
            return this;
        }

        Asm u32(long v) {
            for (int k = 0; k < 4; k++) {
                out.write((int) (v >>> (8 * k)));
            }
            return this;
        }

        Asm u64(long v) {
            for (int k = 0; k < 8; k++) {
                out.write((int) (v >>> (8 * k)));
            }
            return this;
        }

        /** mov [base+disp32], reg (base is rax..rdi other than rsp, rbp). */
        Asm movToMem(int base, int disp, int reg) {
            return modrmOp(0x89, reg, base, disp);
        }

        /** mov reg, [base+disp32]. */
        Asm movFromMem(int reg, int base, int disp) {
            return modrmOp(0x8B, reg, base, disp);
        }

        private Asm modrmOp(int opcode, int reg, int base, int disp) {
            if (base == RSP || base == 5 || base > 7) {
                throw new IllegalArgumentException("base needs a SIB byte or REX.B");
            }
            bytes(0x48 | (reg >= 8 ? 4 : 0), opcode, 0x80 | ((reg & 7) << 3) | base);
            return u32(disp);
        }

        int size() {
            return out.size();
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
