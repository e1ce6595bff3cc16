package dev.hako.vmm.debug;

import dev.hako.core.x86.X86CpuState;
import java.util.List;

/**
 * The registers GDB sees, as data: the order of the {@code g} packet and of register numbers, each register's
 * size, and where it lives in {@link X86CpuState}. {@link #targetXml} describes the same list to GDB as an
 * i386:x86-64 target (features org.gnu.gdb.i386.core with the x87 registers, .sse, and a hako feature with the
 * control registers and EFER, which GDB shows with {@code info registers cr3}). Values travel little-endian.
 */
public final class GdbRegisters {
    private static final int[] GPR_ORDER = {0, 3, 1, 2, 6, 7, 5, 4, 8, 9, 10, 11, 12, 13, 14, 15};
    private static final String[] GPR_NAMES = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
        "r10", "r11", "r12", "r13", "r14", "r15"};
    private static final int[] SEGMENT_ORDER = {X86CpuState.CS, X86CpuState.SS, X86CpuState.DS, X86CpuState.ES,
        X86CpuState.FS, X86CpuState.GS};
    private static final String[] SEGMENT_NAMES = {"cs", "ss", "ds", "es", "fs", "gs"};
    private static final String[] X87_CONTROL = {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"};

    /** Reads or writes one register's value (as an unsigned number up to 64 bits, or bytes of fxsave). */
    private interface Field {
        long get(X86CpuState s);

        void set(X86CpuState s, long v);
    }

    /** One register: its name, size in bits, GDB type, feature, and either a numeric field or an fxsave slice. */
    record Register(String name, int bits, String type, String feature, Field field, int fxsaveOffset) {}

    static final List<Register> ALL = build();

    private GdbRegisters() {}

    private static List<Register> build() {
        java.util.ArrayList<Register> r = new java.util.ArrayList<>();
        String core = "org.gnu.gdb.i386.core";
        for (int i = 0; i < 16; i++) {
            int g = GPR_ORDER[i];
            String type = g == 4 || g == 5 ? "data_ptr" : "int64";
            r.add(numeric(GPR_NAMES[i], 64, type, core, s -> s.gpr[g], (s, v) -> s.gpr[g] = v));
        }
        r.add(numeric("rip", 64, "code_ptr", core, s -> s.rip, (s, v) -> s.rip = v));
        r.add(numeric("eflags", 32, "i386_eflags", core, s -> s.rflags, (s, v) -> s.rflags = v | 2));
        for (int i = 0; i < 6; i++) {
            int seg = SEGMENT_ORDER[i];
            r.add(numeric(SEGMENT_NAMES[i], 32, "int32", core, s -> s.selector[seg],
                    (s, v) -> s.selector[seg] = (int) v & 0xFFFF));
        }
        for (int i = 0; i < 8; i++) {
            r.add(new Register("st" + i, 80, "i387_ext", core, null, 32 + 16 * i));
        }
        r.add(fx16("fctrl", core, 0));
        r.add(fx16("fstat", core, 2));
        r.add(numeric("ftag", 32, "int", core, GdbRegisters::fullTagWord, GdbRegisters::setTagWord));
        r.add(fx16("fiseg", core, 12));
        r.add(new Register("fioff", 32, "int", core, null, 8));
        r.add(fx16("foseg", core, 20));
        r.add(new Register("fooff", 32, "int", core, null, 16));
        r.add(fx16("fop", core, 6));
        String sse = "org.gnu.gdb.i386.sse";
        for (int i = 0; i < 16; i++) {
            r.add(new Register("xmm" + i, 128, "vec128", sse, null, 160 + 16 * i));
        }
        r.add(new Register("mxcsr", 32, "i386_mxcsr", sse, null, 24));
        String sys = "dev.hako.x86.system";
        r.add(numeric("fs_base", 64, "int64", sys, s -> s.segmentBase[X86CpuState.FS],
                (s, v) -> s.segmentBase[X86CpuState.FS] = v));
        r.add(numeric("gs_base", 64, "int64", sys, s -> s.segmentBase[X86CpuState.GS],
                (s, v) -> s.segmentBase[X86CpuState.GS] = v));
        r.add(numeric("k_gs_base", 64, "int64", sys, s -> s.kernelGsBase, (s, v) -> s.kernelGsBase = v));
        r.add(numeric("cr0", 64, "int64", sys, s -> s.cr0, (s, v) -> s.cr0 = v));
        r.add(numeric("cr2", 64, "int64", sys, s -> s.cr2, (s, v) -> s.cr2 = v));
        r.add(numeric("cr3", 64, "int64", sys, s -> s.cr3, (s, v) -> s.cr3 = v));
        r.add(numeric("cr4", 64, "int64", sys, s -> s.cr4, (s, v) -> s.cr4 = v));
        r.add(numeric("cr8", 64, "int64", sys, s -> s.cr8, (s, v) -> s.cr8 = v));
        r.add(numeric("efer", 64, "int64", sys, s -> s.efer, (s, v) -> s.efer = v));
        return List.copyOf(r);
    }

    private static Register numeric(String name, int bits, String type, String feature,
            java.util.function.ToLongFunction<X86CpuState> get, java.util.function.ObjLongConsumer<X86CpuState> set) {
        return new Register(name, bits, type, feature, new Field() {
            public long get(X86CpuState s) {
                return get.applyAsLong(s);
            }

            public void set(X86CpuState s, long v) {
                set.accept(s, v);
            }
        }, -1);
    }

    /** A 16-bit fxsave field that GDB sees as 32 bits. */
    private static Register fx16(String name, String feature, int offset) {
        return numeric(name, 32, "int", feature, s -> s.fxsave[offset] & 0xFF | (s.fxsave[offset + 1] & 0xFF) << 8,
                (s, v) -> {
                    s.fxsave[offset] = (byte) v;
                    s.fxsave[offset + 1] = (byte) (v >>> 8);
                });
    }

    /** FXSAVE keeps one valid bit per register; GDB wants the full two-bit tags (valid 00, empty 11). */
    private static long fullTagWord(X86CpuState s) {
        int abridged = s.fxsave[4] & 0xFF;
        long tags = 0;
        for (int i = 0; i < 8; i++) {
            tags |= ((abridged >>> i & 1) != 0 ? 0L : 3L) << (2 * i);
        }
        return tags;
    }

    private static void setTagWord(X86CpuState s, long tags) {
        int abridged = 0;
        for (int i = 0; i < 8; i++) {
            abridged |= ((tags >>> (2 * i) & 3) != 3 ? 1 : 0) << i;
        }
        s.fxsave[4] = (byte) abridged;
    }

    /** Register {@code n} as little-endian hex; null for a number GDB was not given. */
    public static String read(X86CpuState s, int n) {
        if (n < 0 || n >= ALL.size()) {
            return null;
        }
        Register r = ALL.get(n);
        int bytes = r.bits() / 8;
        StringBuilder sb = new StringBuilder(bytes * 2);
        for (int i = 0; i < bytes; i++) {
            int b = r.field() != null ? (int) (r.field().get(s) >>> (8 * i)) & 0xFF : s.fxsave[r.fxsaveOffset() + i] & 0xFF;
            sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 15, 16));
        }
        return sb.toString();
    }

    /** All registers, the {@code g} packet's reply. */
    public static String readAll(X86CpuState s) {
        StringBuilder sb = new StringBuilder();
        for (int n = 0; n < ALL.size(); n++) {
            sb.append(read(s, n));
        }
        return sb.toString();
    }

    /** Sets register {@code n} from little-endian hex; false for a bad number or value. */
    public static boolean write(X86CpuState s, int n, String hex) {
        if (n < 0 || n >= ALL.size()) {
            return false;
        }
        Register r = ALL.get(n);
        int bytes = r.bits() / 8;
        if (hex.length() != bytes * 2) {
            return false;
        }
        byte[] value = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            int high = Character.digit(hex.charAt(2 * i), 16), low = Character.digit(hex.charAt(2 * i + 1), 16);
            if (high < 0 || low < 0) {
                return false;
            }
            value[i] = (byte) (high << 4 | low);
        }
        if (r.field() != null) {
            long v = 0;
            for (int i = bytes - 1; i >= 0; i--) {
                v = v << 8 | value[i] & 0xFF;
            }
            r.field().set(s, v);
        } else {
            System.arraycopy(value, 0, s.fxsave, r.fxsaveOffset(), bytes);
        }
        return true;
    }

    /** Sets every register from a {@code G} packet; false (changing nothing) when its length is wrong. */
    public static boolean writeAll(X86CpuState s, String hex) {
        int total = ALL.stream().mapToInt(r -> r.bits() / 4).sum();
        if (hex.length() != total) {
            return false;
        }
        X86CpuState copy = s.copy();
        int at = 0;
        for (int n = 0; n < ALL.size(); n++) {
            int len = ALL.get(n).bits() / 4;
            if (!write(copy, n, hex.substring(at, at + len))) {
                return false;
            }
            at += len;
        }
        for (int n = 0; n < ALL.size(); n++) {
            write(s, n, read(copy, n));
        }
        return true;
    }

    /** The target description GDB reads through qXfer:features:read:target.xml. */
    public static String targetXml() {
        StringBuilder sb = new StringBuilder("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                + "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n");
        String open = null;
        for (int n = 0; n < ALL.size(); n++) {
            Register r = ALL.get(n);
            if (!r.feature().equals(open)) {
                if (open != null) {
                    sb.append("</feature>\n");
                }
                open = r.feature();
                sb.append("<feature name=\"").append(open).append("\">\n").append(types(open));
            }
            sb.append(String.format("<reg name=\"%s\" bitsize=\"%d\" type=\"%s\" regnum=\"%d\"%s/>%n", r.name(),
                    r.bits(), r.type(), n, r.name().startsWith("xmm") || r.name().equals("mxcsr")
                    ? " group=\"vector\"" : r.name().startsWith("f") && r.bits() == 32 && !r.name().endsWith("base")
                    ? " group=\"float\"" : ""));
        }
        return sb.append("</feature>\n</target>\n").toString();
    }

    private static final String[] EFLAGS = {"CF", "", "PF", null, "AF", null, "ZF", "SF", "TF", "IF", "DF", "OF",
        null, null, "NT", null, "RF", "VM", "AC", "VIF", "VIP", "ID"};
    private static final String[] MXCSR = {"IE", "DE", "ZE", "OE", "UE", "PE", "DAZ", "IM", "DM", "ZM", "OM", "UM",
        "PM", null, null, "FZ"};

    private static String types(String feature) {
        return switch (feature) {
            case "org.gnu.gdb.i386.core" -> flags("i386_eflags", EFLAGS);
            case "org.gnu.gdb.i386.sse" -> """
                    <vector id="v4f" type="ieee_single" count="4"/>
                    <vector id="v2d" type="ieee_double" count="2"/>
                    <vector id="v16i8" type="int8" count="16"/>
                    <vector id="v8i16" type="int16" count="8"/>
                    <vector id="v4i32" type="int32" count="4"/>
                    <vector id="v2i64" type="int64" count="2"/>
                    <union id="vec128">
                      <field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>
                      <field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>
                      <field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>
                      <field name="uint128" type="uint128"/>
                    </union>
                    """ + flags("i386_mxcsr", MXCSR);
            default -> "";
        };
    }

    /** A 4-byte flags type whose bit n is named {@code names[n]} (null: not shown). */
    private static String flags(String id, String[] names) {
        StringBuilder sb = new StringBuilder("<flags id=\"").append(id).append("\" size=\"4\">\n");
        for (int bit = 0; bit < names.length; bit++) {
            if (names[bit] != null) {
                sb.append(String.format("  <field name=\"%s\" start=\"%d\" end=\"%d\"/>%n", names[bit], bit, bit));
            }
        }
        return sb.append("</flags>\n").toString();
    }
}
