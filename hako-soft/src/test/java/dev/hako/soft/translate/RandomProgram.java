package dev.hako.soft.translate;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random 64-bit programs for comparing the translator with the interpreter: a loop (counter R15) over a
 * body of random instructions from the forms the translator inlines and some it does not, with memory
 * operands, forward branches, pushes and pops, calls and returns, loads and stores that fault, and stores
 * into the body's own code (self-modifying code). The program ends with SYSCALL.
 *
 * <p>Register roles: R12 and R13 point at data, R14 is a small index, R15 counts iterations, RSP is the
 * stack; instructions write only the others.
 */
final class RandomProgram {
    static final long DATA = 0x8000, STACK_TOP = 0xF000;
    /** Where the program starts: anywhere in the first code page, so longer programs cross into the next. */
    final long start;
    /** An address no page maps: accesses there raise #PF. */
    static final int UNMAPPED_DISP = 0x100000;
    private static final int[] WRITABLE = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11};

    /** One instruction (or a short fixed sequence), with a fix-up applied once addresses are known. */
    private static final class Item {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        /** Fix-up: 0 none; 1 rel8 at the last byte to item {@code target}; 2 abs32 of item target at {@code at};
         *  3 rip-relative disp32 at {@code at} to the imm32 of item target (SMC). */
        int fixup;
        int target;
        int at;
        long address;
        /** What the item does to the stack depth; a branch may skip only items that leave it alone. */
        int depthDelta;
        /** False inside a sequence that must run whole (push address; ret): no branch lands there. */
        boolean boundary = true;

        Item b(int... values) {
            for (int v : values) {
                bytes.write(v);
            }
            return this;
        }

        Item imm(long value, int size) {
            for (int k = 0; k < size; k++) {
                bytes.write((int) (value >>> (8 * k)));
            }
            return this;
        }

        int length() {
            return bytes.size();
        }
    }

    private final Random rnd;
    private final List<Item> body = new ArrayList<>();
    private int depth;
    /** Addresses of instructions that fault, mapped to the next instruction (the test's handler skips them). */
    final java.util.Map<Long, Long> faultingNext = new java.util.HashMap<>();
    byte[] code;

    RandomProgram(long seed, int length) {
        rnd = new Random(seed);
        start = 0x1000 + rnd.nextInt(0xF00);
        while (body.size() < length) {
            emitRandom();
        }
        while (depth > 0) {
            pop(WRITABLE[rnd.nextInt(WRITABLE.length)]);
        }
        layout();
    }

    private int writable() {
        return WRITABLE[rnd.nextInt(WRITABLE.length)];
    }

    private int size() {
        return new int[] {1, 2, 4, 8, 8, 4}[rnd.nextInt(6)];
    }

    /** A memory operand [R12/R13 (+ R14*scale) + disp32]: ModRM with SIB, mod 10. Returns REX.X|B bits. */
    private record Mem(int base, boolean indexed, int scale, int disp) {}

    private Mem mem() {
        boolean indexed = rnd.nextBoolean();
        return new Mem(rnd.nextBoolean() ? 12 : 13, indexed, rnd.nextInt(4), rnd.nextInt(0x800));
    }

    /**
     * Encodes {@code [66] [REX] opcode modrm [sib disp] imm}. {@code rm} is a register (0..15) when
     * {@code mem} is null. Byte forms between registers 0..7 are encoded without REX so 4..7 are AH..BH.
     */
    private Item modrm(int size, int[] opcode, int reg, int rm, Mem mem, boolean noRex) {
        return modrm(0, size, opcode, reg, rm, mem, noRex);
    }

    /** The same, after a mandatory prefix ({@code prefix} 0x66, 0xF2 or 0xF3; 0 for none). */
    private Item modrm(int prefix, int size, int[] opcode, int reg, int rm, Mem mem, boolean noRex) {
        Item it = new Item();
        if (size == 2) {
            it.b(0x66);
        }
        if (prefix != 0) {
            it.b(prefix);
        }
        int rex = 0x40 | (size == 8 ? 8 : 0) | (reg >= 8 ? 4 : 0);
        if (mem != null) {
            rex |= (mem.base >= 8 ? 1 : 0) | (mem.indexed ? 1 << 1 : 0); // index R14
        } else {
            rex |= rm >= 8 ? 1 : 0;
        }
        if (!noRex || rex != 0x40) {
            it.b(rex);
        }
        it.b(opcode);
        if (mem == null) {
            it.b(0xC0 | (reg & 7) << 3 | (rm & 7));
        } else {
            it.b(0x80 | (reg & 7) << 3 | 4);
            int index = mem.indexed ? 14 & 7 : 4;
            it.b(mem.scale << 6 | index << 3 | (mem.base & 7));
            it.imm(mem.disp, 4);
        }
        return it;
    }

    /** A random r/m: a writable register or (often) memory. */
    private Item rmForm(int size, int[] opcode, int reg) {
        if (rnd.nextInt(3) == 0) {
            return modrm(size, opcode, reg, 0, mem(), false);
        }
        if (size == 1 && rnd.nextBoolean()) {
            return modrm(1, opcode, reg & 7, rnd.nextInt(8), null, true); // AH..BH possible
        }
        return modrm(size, opcode, reg, writable(), null, false);
    }

    private static int[] op(int... bytes) {
        return bytes;
    }

    private static int immSize(int size) {
        return size == 8 ? 4 : size;
    }

    private void add(Item it) {
        body.add(it);
    }

    private void emitRandom() {
        emit(rnd.nextInt(38));
    }

    /** An inner loop (counter in memory no other access reaches) over a few straight-line instructions. */
    private void innerLoop() {
        Mem counter = new Mem(12, false, 0, 0x3000);
        add(modrm(8, op(0xC7), 0, 0, counter, false).imm(1 + rnd.nextInt(5), 4));
        int loopStart = body.size();
        int length = 1 + rnd.nextInt(4);
        for (int k = 0; k < length; k++) {
            emit(rnd.nextInt(18)); // straight-line forms only
        }
        add(modrm(8, op(0xFF), 1, 0, counter, false));
        Item jnz = new Item().b(0x0F, 0x85).imm(0, 4);
        jnz.fixup = 6;
        jnz.target = loopStart;
        add(jnz);
        for (int k = loopStart; k < body.size(); k++) {
            body.get(k).boundary = false; // no branch from outside lands inside the loop
        }
    }

    private void emit(int form) {
        int size = size();
        int w = size == 1 ? 0 : 1;
        int reg = writable();
        switch (form) {
            case 0, 1, 2 -> { // ALU Ev,Gv / Gv,Ev
                int alu = rnd.nextInt(8);
                add(rmForm(size, op((alu << 3) + w + (rnd.nextBoolean() ? 2 : 0)), reg));
            }
            case 3, 4 -> { // ALU Ev,imm
                int alu = rnd.nextInt(8);
                if (size == 1) {
                    add(rmForm(1, op(0x80), alu).imm(rnd.nextInt(256), 1));
                } else if (rnd.nextBoolean()) {
                    add(rmForm(size, op(0x83), alu).imm(rnd.nextInt(256), 1));
                } else {
                    add(rmForm(size, op(0x81), alu).imm(rnd.nextLong(), immSize(size)));
                }
            }
            case 5 -> { // ALU rAX,imm
                int alu = rnd.nextInt(8);
                Item it = new Item();
                if (size == 2) {
                    it.b(0x66);
                }
                if (size == 8) {
                    it.b(0x48);
                }
                add(it.b((alu << 3) + 4 + w).imm(rnd.nextLong(), immSize(size)));
            }
            case 6 -> add(rmForm(size, op(0x84 + w), reg)); // test
            case 7 -> { // F6/F7: test imm, not, neg, mul
                int digit = new int[] {0, 2, 3, 4}[rnd.nextInt(4)];
                Item it = rmForm(size, op(0xF6 + w), digit);
                add(digit == 0 ? it.imm(rnd.nextLong(), immSize(size)) : it);
            }
            case 8 -> add(rmForm(size, op(0xFE + w), rnd.nextInt(2))); // inc, dec
            case 9, 10 -> { // shifts and rotates
                int kind = rnd.nextInt(5);
                int digit = rnd.nextInt(8);
                if (kind < 3) {
                    int count = rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(70);
                    add(rmForm(size, op(0xC0 + w), digit).imm(count, 1));
                } else {
                    add(rmForm(size, op(kind == 3 ? 0xD0 + w : 0xD2 + w), digit));
                }
            }
            case 11, 12 -> { // mov
                switch (rnd.nextInt(4)) {
                    case 0 -> add(rmForm(size, op(0x88 + w), reg));
                    case 1 -> add(rmForm(size, op(0x8A + w), reg));
                    case 2 -> add(rmForm(size, op(0xC6 + w), 0).imm(rnd.nextLong(), immSize(size)));
                    default -> {
                        Item it = new Item();
                        if (size == 2) {
                            it.b(0x66);
                        }
                        int rex = 0x40 | (size == 8 ? 8 : 0) | (reg >= 8 ? 1 : 0);
                        if (rex != 0x40 || size == 1) {
                            it.b(rex);
                        }
                        add(it.b((size == 1 ? 0xB0 : 0xB8) + (reg & 7)).imm(rnd.nextLong(), size));
                    }
                }
            }
            case 13 -> { // movzx, movsx, movsxd
                int s = rnd.nextBoolean() ? 4 : 8;
                switch (rnd.nextInt(3)) {
                    case 0 -> add(rmForm(s, op(0x0F, rnd.nextBoolean() ? 0xB6 : 0xB7), reg));
                    case 1 -> add(rmForm(s, op(0x0F, rnd.nextBoolean() ? 0xBE : 0xBF), reg));
                    default -> add(rmForm(s, op(0x63), reg));
                }
            }
            case 14 -> add(modrm(size == 1 ? 8 : size, op(0x8D), reg, 0, mem(), false)); // lea
            case 15 -> { // cmov, setcc
                if (rnd.nextBoolean()) {
                    add(rmForm(size == 1 ? 4 : size, op(0x0F, 0x40 + rnd.nextInt(16)), reg));
                } else {
                    add(rmForm(1, op(0x0F, 0x90 + rnd.nextInt(16)), 0));
                }
            }
            case 16 -> { // xchg, bswap, cbw/cwd
                switch (rnd.nextInt(4)) {
                    case 0 -> add(modrm(size, op(0x86 + w), reg, writable(), null, false));
                    case 1 -> add(new Item().b(0x48 | (reg >= 8 ? 1 : 0), 0x90 + (reg & 7)));
                    case 2 -> add(new Item().b(0x40 | (size == 8 ? 8 : 0) | (reg >= 8 ? 1 : 0), 0x0F,
                            0xC8 + (reg & 7)));
                    default -> {
                        Item it = new Item();
                        int s = size == 1 ? 4 : size;
                        if (s == 2) {
                            it.b(0x66);
                        }
                        if (s == 8) {
                            it.b(0x48);
                        }
                        add(it.b(rnd.nextBoolean() ? 0x98 : 0x99));
                    }
                }
            }
            case 17 -> { // imul
                int s = size == 1 ? 4 : size;
                switch (rnd.nextInt(3)) {
                    case 0 -> add(rmForm(s, op(0x0F, 0xAF), reg));
                    case 1 -> add(rmForm(s, op(0x6B), reg).imm(rnd.nextInt(256), 1));
                    default -> add(rmForm(s, op(0x69), reg).imm(rnd.nextLong(), immSize(s)));
                }
            }
            case 18, 19 -> { // push / pop
                if (depth > 0 && rnd.nextBoolean()) {
                    pop(reg);
                } else if (depth < 40) {
                    switch (rnd.nextInt(4)) {
                        case 0 -> add(new Item().b(0x6A).imm(rnd.nextInt(256), 1));
                        case 1 -> add(new Item().b(0x68).imm(rnd.nextInt(), 4));
                        case 2 -> add(new Item().b(0xE8).imm(0, 4)); // call the next instruction
                        default -> add(pushReg(rnd.nextInt(16)));
                    }
                    body.get(body.size() - 1).depthDelta = 1;
                    depth++;
                }
            }
            case 20 -> { // flags read by handlers: pushf/pop, lahf, sahf
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        Item pushf = new Item().b(0x9C);
                        pushf.depthDelta = 1;
                        add(pushf);
                        depth++;
                        pop(reg);
                        body.get(body.size() - 1).boundary = false;
                    }
                    case 1 -> add(new Item().b(0x9F));
                    default -> add(new Item().b(0x9E));
                }
            }
            case 21, 22, 23 -> { // forward conditional branch over 1..3 instructions
                Item it = rnd.nextBoolean() ? new Item().b(0x70 + rnd.nextInt(16), 0)
                        : new Item().b(0x0F, 0x80 + rnd.nextInt(16)).imm(0, 4);
                it.fixup = it.length() == 2 ? 1 : 4;
                it.target = 1 + rnd.nextInt(3); // instructions to skip, settled in layout()
                add(it);
            }
            case 24 -> { // push address; ret / mov reg, address; jmp reg / call reg
                int kind = rnd.nextInt(3);
                if (kind == 0) {
                    Item push = new Item().b(0x68).imm(0, 4);
                    push.fixup = 2;
                    push.at = 1;
                    push.target = body.size() + 2;
                    add(push);
                    Item ret = new Item().b(0xC3);
                    ret.boundary = false;
                    add(ret);
                } else {
                    Item mov = new Item().b(0x40 | (reg >= 8 ? 1 : 0), 0xB8 + (reg & 7)).imm(0, 4);
                    mov.fixup = 2;
                    mov.at = mov.length() - 4;
                    mov.target = body.size() + 2;
                    add(mov);
                    Item branch = new Item().b(0x40 | (reg >= 8 ? 1 : 0), 0xFF, (kind == 1 ? 0xE0 : 0xD0) | (reg & 7));
                    branch.boundary = false;
                    add(branch);
                    if (kind == 2) {
                        branch.depthDelta = 1;
                        depth++;
                    }
                }
            }
            case 25 -> { // a load, store or read-modify-write that faults
                Mem unmapped = new Mem(12, false, 0, UNMAPPED_DISP);
                int[][] forms = {op(0x8B), op(0x89), op(0x01), op(0xFF)};
                int k = rnd.nextInt(forms.length);
                add(modrm(8, forms[k], k == 3 ? 0 : reg, 0, unmapped, false));
                body.get(body.size() - 1).fixup = 5; // marks: faults
            }
            case 26 -> { // SMC: rewrite the imm32 of a later mov r32, imm32 in the body
                Item store = new Item().b(0xC7, 0x05).imm(0, 4).imm(rnd.nextInt(), 4);
                store.fixup = 3;
                store.at = 2;
                int pick = rnd.nextInt(6);
                store.target = body.size() + 1 + pick;
                add(store);
                for (int k = 0; k < 6; k++) {
                    if (k == pick) {
                        add(new Item().b(0xB8 + rnd.nextInt(4)).imm(rnd.nextInt(), 4));
                    } else if (rnd.nextBoolean()) {
                        add(rmForm(4, op(0x01), writable()));
                    } else {
                        add(new Item().b(0xB8 + rnd.nextInt(4)).imm(rnd.nextInt(), 4));
                    }
                }
            }
            case 27 -> { // adc, sbb after a carry-producing compare
                add(rmForm(size, op(0x38 + w), reg));
                add(rmForm(size, op((rnd.nextBoolean() ? 0x10 : 0x18) + w), reg));
            }
            case 28 -> innerLoop();
            case 29 -> add(new Item().b(0xFB)); // STI (at CPL 0): ends a block without a branch
            case 31 -> bitTest();
            case 32 -> bitScan();
            case 33 -> wideMultiplyOrDivide();
            case 34, 35, 36 -> sse();
            case 37 -> { // SHLD, SHRD by imm8 (any value: it is masked) or CL
                int width = new int[] {2, 4, 8}[rnd.nextInt(3)];
                int opcode = rnd.nextBoolean() ? 0xA4 : 0xAC;
                if (rnd.nextBoolean()) {
                    add(rmForm(width, op(0x0F, opcode), reg).imm(rnd.nextInt(3) == 0 ? rnd.nextInt(256)
                            : rnd.nextInt(width * 8), 1));
                } else {
                    add(rmForm(width, op(0x0F, opcode + 1), reg));
                }
            }
            case 30 -> { // compare and a conditional move or set on it
                add(rmForm(size, op(0x38 + w + (rnd.nextBoolean() ? 2 : 0)), reg));
                add(rmForm(4, op(0x0F, 0x40 + rnd.nextInt(16)), writable()));
            }
        }
    }

    /** mov r64, imm32 (sign-extended). */
    private static Item movSigned(int r, int value) {
        return new Item().b(0x48 | (r >= 8 ? 1 : 0), 0xC7, 0xC0 | (r & 7)).imm(value, 4);
    }

    /** An item whose fault (if any) the test's handler skips, so the program goes on after it. */
    private void addSkippable(Item it) {
        it.fixup = 5;
        add(it);
    }

    /** BT, BTS, BTR, BTC: by imm8 (any value: it is masked) or by a register (into memory: signed, any distance). */
    private void bitTest() {
        int op = rnd.nextInt(4);
        int size = new int[] {2, 4, 8}[rnd.nextInt(3)];
        if (rnd.nextBoolean()) {
            int bit = rnd.nextInt(3) == 0 ? rnd.nextInt(256) : rnd.nextInt(size * 8);
            add(rmForm(size, op(0x0F, 0xBA), 4 + op).imm(bit, 1));
            return;
        }
        int[] opcodes = {0xA3, 0xAB, 0xB3, 0xBB};
        int offset = writable();
        if (rnd.nextInt(3) == 0) {
            add(movSigned(offset, rnd.nextInt(4096) - 2048)); // up to 256 bytes either side
            add(modrm(size, op(0x0F, opcodes[op]), offset, 0, mem(), false));
        } else {
            add(modrm(size, op(0x0F, opcodes[op]), offset, writable(), null, false));
        }
    }

    /** BSF, BSR, TZCNT, LZCNT, sometimes of a zeroed source. */
    private void bitScan() {
        int size = new int[] {2, 4, 8}[rnd.nextInt(3)];
        int[] opcode = op(0x0F, 0xBC + rnd.nextInt(2));
        int prefix = rnd.nextBoolean() ? 0xF3 : 0;
        int reg = writable();
        if (rnd.nextInt(3) == 0) {
            add(modrm(prefix, size, opcode, reg, 0, mem(), false));
            return;
        }
        int source = writable();
        if (rnd.nextInt(3) == 0) {
            add(modrm(4, op(0x31), source, source, null, false)); // xor: a zero source
        } else if (rnd.nextBoolean()) {
            add(movSigned(source, 1 << rnd.nextInt(31)));
        }
        add(modrm(prefix, size, opcode, reg, source, null, false));
    }

    /** MUL, one-operand IMUL, DIV (whose #DE the handler skips), often from small operands. */
    private void wideMultiplyOrDivide() {
        int size = size();
        int digit = 4 + rnd.nextInt(3);
        if (rnd.nextBoolean()) {
            add(movSigned(0, rnd.nextInt(512) - 256)); // rax
        }
        if (digit == 6 && rnd.nextBoolean()) {
            add(modrm(4, op(0x31), 2, 2, null, false)); // xor edx, edx: a quotient that fits
        }
        Item it = rmForm(size, op(size == 1 ? 0xF6 : 0xF7), digit);
        if (digit == 6) {
            addSkippable(it);
        } else {
            add(it);
        }
    }

    /** An SSE operand in memory: mostly 16-byte aligned (R12 and R13 are), sometimes not. */
    private Mem sseMem() {
        int disp = rnd.nextInt(0x80) * 16 + (rnd.nextInt(6) == 0 ? 1 + rnd.nextInt(15) : 0);
        return new Mem(rnd.nextBoolean() ? 12 : 13, false, 0, disp);
    }

    /** An SSE instruction on XMM {@code reg} and an XMM register or (a third of the time) memory; faults skipped. */
    private void sseForm(int prefix, int[] opcode, int reg) {
        Mem m = rnd.nextInt(3) == 0 ? sseMem() : null;
        addSkippable(modrm(prefix, 4, opcode, reg, m == null ? rnd.nextInt(16) : 0, m, false));
    }

    private void sse() {
        int x = rnd.nextInt(16);
        switch (rnd.nextInt(11)) {
            case 0 -> { // unaligned 128-bit moves: movups, movupd, movdqu
                int[][] forms = {{0, 0x10}, {0x66, 0x10}, {0, 0x11}, {0x66, 0x11}, {0xF3, 0x6F}, {0xF3, 0x7F}};
                int[] f = forms[rnd.nextInt(forms.length)];
                sseForm(f[0], op(0x0F, f[1]), x);
            }
            case 1 -> { // aligned: movaps, movapd, movdqa
                int[][] forms = {{0, 0x28}, {0x66, 0x28}, {0, 0x29}, {0x66, 0x29}, {0x66, 0x6F}, {0x66, 0x7F}};
                int[] f = forms[rnd.nextInt(forms.length)];
                sseForm(f[0], op(0x0F, f[1]), x);
            }
            case 2 -> sseForm(rnd.nextBoolean() ? 0xF2 : 0xF3, op(0x0F, 0x10 + rnd.nextInt(2)), x); // movsd, movss
            case 3 -> { // movd/movq between XMM and general registers or memory; movq xmm/m64
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        int size = rnd.nextBoolean() ? 8 : 4;
                        int[] opcode = op(0x0F, rnd.nextBoolean() ? 0x6E : 0x7E);
                        addSkippable(rnd.nextInt(3) == 0 ? modrm(0x66, size, opcode, x, 0, sseMem(), false)
                                : modrm(0x66, size, opcode, x, writable(), null, false));
                    }
                    case 1 -> sseForm(0xF3, op(0x0F, 0x7E), x);
                    default -> sseForm(0x66, op(0x0F, 0xD6), x);
                }
            }
            case 4, 5 -> { // logic: pand pandn por pxor, and/andn/or/xor ps/pd
                if (rnd.nextBoolean()) {
                    sseForm(0x66, op(0x0F, new int[] {0xDB, 0xDF, 0xEB, 0xEF}[rnd.nextInt(4)]), x);
                } else {
                    sseForm(rnd.nextBoolean() ? 0x66 : 0, op(0x0F, 0x54 + rnd.nextInt(4)), x);
                }
            }
            case 6, 7 -> sseForm(0x66, op(0x0F, 0x74 + rnd.nextInt(3)), x); // pcmpeqb/w/d
            case 8 -> add(modrm(0x66, 4, op(0x0F, 0xD7), writable(), x, null, false)); // pmovmskb
            case 9 -> { // pshufd
                Mem m = rnd.nextInt(3) == 0 ? sseMem() : null;
                addSkippable(modrm(0x66, 4, op(0x0F, 0x70), x, m == null ? rnd.nextInt(16) : 0, m, false)
                        .imm(rnd.nextInt(256), 1));
            }
            default -> { // punpck*
                int[] unpacks = {0x60, 0x61, 0x62, 0x6C, 0x68, 0x69, 0x6A, 0x6D};
                sseForm(0x66, op(0x0F, unpacks[rnd.nextInt(unpacks.length)]), x);
            }
        }
    }

    private Item pushReg(int r) {
        Item it = new Item();
        if (r >= 8) {
            it.b(0x41);
        }
        return it.b(0x50 + (r & 7));
    }

    private void pop(int r) {
        Item it = new Item();
        if (r >= 8) {
            it.b(0x41);
        }
        it.b(0x58 + (r & 7));
        it.depthDelta = -1;
        add(it);
        depth--;
    }

    /** Lays out: prologue-free loop body at a random start, then dec r15; jnz body; syscall. Applies the fix-ups. */
    private void layout() {
        long pc = start;
        for (Item it : body) {
            it.address = pc;
            pc += it.length();
        }
        long loopTail = pc;
        for (int k = 0; k < body.size(); k++) {
            Item it = body.get(k);
            if (it.fixup == 1 || it.fixup == 4) {
                it.target = branchTarget(k, it.target);
            }
        }
        Item dec = new Item().b(0x49, 0xFF, 0xCF);
        Item jnz = new Item().b(0x0F, 0x85).imm(start - (loopTail + 3 + 6), 4);
        Item end = new Item().b(0x0F, 0x05);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Item it : body) {
            byte[] b = it.bytes.toByteArray();
            long next = it.address + b.length;
            long target = it.target < body.size() ? body.get(it.target).address : loopTail;
            switch (it.fixup) {
                case 1 -> b[b.length - 1] = (byte) (target - next);
                case 4, 6 -> put32(b, b.length - 4, target - next);
                case 2 -> put32(b, it.at, target);
                case 3 -> put32(b, it.at, target + 1 - next); // the imm32 after the B8+r opcode byte
                case 5 -> faultingNext.put(it.address, next);
                default -> { }
            }
            out.writeBytes(b);
        }
        out.writeBytes(dec.bytes.toByteArray());
        out.writeBytes(jnz.bytes.toByteArray());
        out.writeBytes(end.bytes.toByteArray());
        code = out.toByteArray();
    }

    /** The furthest item at most {@code skip} past {@code from + 1} reachable without unbalancing the stack. */
    private int branchTarget(int from, int skip) {
        int best = from + 1;
        for (int k = from + 1; k <= from + skip && k < body.size(); k++) {
            if (body.get(k).depthDelta != 0) {
                break;
            }
            if (k + 1 >= body.size() || body.get(k + 1).boundary) {
                best = k + 1;
            }
        }
        return best;
    }

    private static void put32(byte[] b, int at, long value) {
        for (int k = 0; k < 4; k++) {
            b[at + k] = (byte) (value >>> (8 * k));
        }
    }
}
