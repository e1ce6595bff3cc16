package dev.hako.soft.decode;

/** Renders a decoded instruction for logs and register dumps (mnemonic and operands, Intel order). */
public final class Disassembler {
    private static final String[] REG64 = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15"};

    private Disassembler() {}

    public static String format(Insn i) {
        if (i.spec == null) {
            return "(undecoded)";
        }
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("%016x: %s", i.addr, i.spec.mnemonic));
        if (i.spec.has(OpSpec.MODRM)) {
            sb.append(' ').append(i.rmIsReg ? "r" + i.rm : memory(i)).append(", r").append(i.reg);
        }
        if (i.spec.immediate != OpSpec.IMM_NONE) {
            sb.append(String.format(", %#x", i.imm));
        }
        sb.append(" (").append(i.opSize * 8).append("-bit, ").append(i.length).append(" bytes)");
        return sb.toString();
    }

    private static String memory(Insn i) {
        StringBuilder sb = new StringBuilder("[");
        if (i.segment == 1) {
            sb.append("fs:");
        } else if (i.segment == 2) {
            sb.append("gs:");
        }
        if (i.base >= 0) {
            sb.append(REG64[i.base]);
        }
        if (i.index >= 0) {
            sb.append(i.base >= 0 ? "+" : "").append(REG64[i.index]).append('*').append(1 << i.scale);
        }
        boolean bare = i.base < 0 && i.index < 0;
        if (bare) {
            sb.append(String.format("%#x", i.disp));
        } else if (i.disp != 0) {
            // Formatter refuses a '+' flag with %x, so the sign is written by hand.
            sb.append(i.disp < 0 ? "-" : "+").append(String.format("%#x", Math.abs(i.disp)));
        }
        sb.append(']');
        return sb.toString();
    }
}
