package dev.hako.soft.decode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.testkit.CPrograms;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The disassembler against GNU objdump over real code: the first 64 KiB of the .text of Debian's busybox-static.
 * For every instruction objdump lists, the decoder must find the same length; mnemonics and operands are
 * compared where the soft CPU knows the instruction, and the agreement rates are printed.
 */
class DisassemblerTest {
    private static final Pattern LINE = Pattern.compile("^\\s*([0-9a-f]+):\\t(.*)$");
    private static final int SPAN = 64 * 1024;

    @Test
    void agreesWithObjdumpOnBusyboxText() throws Exception {
        Path busybox = busybox();
        long[] text = textSection(busybox); // address, file offset, size
        byte[] file = Files.readAllBytes(busybox);
        byte[] code = new byte[(int) Math.min(SPAN + 16, text[2])];
        System.arraycopy(file, (int) text[1], code, 0, code.length);
        List<String[]> listing = objdump(busybox, text[0], text[0] + SPAN);

        Disassembler dis = new Disassembler(64);
        CodeBytes bytes = CodeBytes.of(code, text[0]);
        int known = 0, mnemonics = 0, operands = 0, unknown = 0;
        Map<String, Integer> unknownByName = new TreeMap<>();
        Map<String, Integer> differentByName = new TreeMap<>();
        List<String> mismatches = new ArrayList<>();
        for (String[] row : listing) {
            long address = Long.parseUnsignedLong(row[0], 16);
            String expected = row[1];
            if (objdumpLost(expected)) {
                continue;
            }
            Disassembler.Instruction mine = dis.decode(bytes, address);
            assertThat(mine).as("decodes at %x", address).isNotNull();
            String[] theirs = split(expected);
            if (mine.mnemonic().equals("(bad)")) {
                unknown++;
                unknownByName.merge(theirs[0], 1, Integer::sum);
                continue;
            }
            known++;
            if (sameMnemonic(mine.mnemonic(), theirs[0])) {
                mnemonics++;
                if (mine.operands().equals(normalizeOperands(theirs[1]))) {
                    operands++;
                    continue;
                }
            }
            if (differentByName.merge(theirs[0], 1, Integer::sum) == 1) {
                mismatches.add(String.format("%x: objdump '%s' hako '%s'", address, expected, mine.text()));
            }
        }
        System.out.printf("disassembler vs objdump over %d instructions of busybox .text: %d known to the soft CPU,"
                + " mnemonics agree %.2f%%, operands agree %.2f%%, %d unknown (bad)%n", listing.size(), known,
                100.0 * mnemonics / known, 100.0 * operands / known, unknown);
        System.out.println("  unknown to the soft CPU, by objdump's mnemonic: " + unknownByName);
        System.out.println("  different, by objdump's mnemonic: " + differentByName + "; first of each:");
        mismatches.forEach(m -> System.out.println("    " + m));
        assertThat(listing).hasSizeGreaterThan(10_000);
        // busybox carries AVX2 and AVX-512 string functions (glibc picks them by CPUID), which the soft CPU does
        // not offer: those are the unknown ones.
        assertThat(known).as("instructions the soft CPU knows").isGreaterThan(listing.size() * 3 / 4);
        assertThat(100.0 * mnemonics / known).as("mnemonic agreement %").isGreaterThan(99.5);
        assertThat(100.0 * operands / known).as("operand agreement %").isGreaterThan(99.0);
    }

    @Test
    void instructionLengthsFollowObjdump() throws Exception {
        Path busybox = busybox();
        long[] text = textSection(busybox);
        byte[] file = Files.readAllBytes(busybox);
        byte[] code = new byte[SPAN + 16];
        System.arraycopy(file, (int) text[1], code, 0, code.length);
        List<String[]> listing = objdump(busybox, text[0], text[0] + SPAN);
        // Each instruction the soft CPU knows must end where objdump's next one starts.
        Disassembler dis = new Disassembler(64);
        CodeBytes bytes = CodeBytes.of(code, text[0]);
        int checked = 0;
        for (int n = 0; n + 1 < listing.size(); n++) {
            long address = Long.parseUnsignedLong(listing.get(n)[0], 16);
            Disassembler.Instruction mine = dis.decode(bytes, address);
            if (!mine.mnemonic().equals("(bad)") && !objdumpLost(listing.get(n)[1])
                    && !objdumpLost(listing.get(n + 1)[1])) {
                assertThat(Long.toHexString(address + mine.length())).as("after %s", listing.get(n)[1])
                        .isEqualTo(listing.get(n + 1)[0]);
                checked++;
            }
        }
        assertThat(checked).isGreaterThan(10_000);
    }

    @Test
    void decodesSixteenAndThirtyTwoBitCodeAndStopsAtTheEndOfTheBytes() {
        byte[] real = {(byte) 0xB8, 0x34, 0x12, (byte) 0x8E, (byte) 0xD8, (byte) 0xCD, 0x10};
        List<Disassembler.Instruction> r = new Disassembler(16).decode(CodeBytes.of(real, 0x7C00), 0x7C00, 10);
        assertThat(r).extracting(Disassembler.Instruction::text)
                .containsExactly("mov $0x1234,%ax", "mov %ax,%ds", "int $0x10");
        byte[] prot = {(byte) 0x8B, 0x44, 0x24, 0x04, (byte) 0xC3};
        assertThat(new Disassembler(32).decode(CodeBytes.of(prot, 0x1000), 0x1000, 5))
                .extracting(Disassembler.Instruction::text).containsExactly("mov 0x4(%esp),%eax", "ret");
        assertThat(new Disassembler(64).decode(CodeBytes.of(new byte[] {0x48, (byte) 0x8B}, 0), 0)).isNull();
    }

    /** Data among the code, which objdump shows as lone prefixes and bytes. */
    private static boolean objdumpLost(String text) {
        return text.startsWith(".byte") || text.startsWith("rex") || text.startsWith("(bad)");
    }

    private static boolean sameMnemonic(String mine, String theirs) {
        if (mine.equals(theirs)) {
            return true;
        }
        String a = mine.replace("repnz ", "repnz").replace("rep ", "rep");
        String b = theirs.replace("repz ", "rep").replace("repnz ", "repnz").replace("rep ", "rep")
                .replace("bnd ", "").replace("notrack ", "").replace("data16 ", "").replace("addr32 ", "").replace("ds ", "")
                .replace("cs ", "");
        // Size suffixes objdump adds or leaves off where the operands tell the size anyway.
        return a.equals(b) || b.equals(a + "b") || b.equals(a + "w") || b.equals(a + "l") || b.equals(a + "q")
                || a.equals(b + "b") || a.equals(b + "w") || a.equals(b + "l") || a.equals(b + "q")
                || synonym(a).equals(synonym(b));
    }

    /** objdump's spellings of the same encodings: jae/jnb, sete/setz, shl/sal, xchg %ax,%ax as nop, ... */
    private static String synonym(String m) {
        return switch (m) {
            case "jb", "jnae", "jc" -> "jb";
            case "jae", "jnb", "jnc" -> "jae";
            case "je", "jz" -> "je";
            case "jne", "jnz" -> "jne";
            case "sete", "setz" -> "sete";
            case "setne", "setnz" -> "setne";
            case "sal", "shl" -> "shl";
            default -> m;
        };
    }

    private static String normalizeOperands(String ops) {
        String s = ops.replaceAll("\\s*#.*$", "").replaceAll("\\s*<[^>]*>", "").trim();
        if (s.matches("[0-9a-f]+")) {
            s = "0x" + s; // a branch target
        }
        return s;
    }

    private static String[] split(String text) {
        String t = text.trim();
        // Prefixes objdump writes as separate words stay with the mnemonic.
        Matcher m = Pattern.compile("^((?:(?:lock|rep|repz|repnz|bnd|notrack|ds|cs|data16|addr32) )*\\S+)\\s*(.*)$")
                .matcher(t);
        if (!m.matches()) {
            return new String[] {t, ""};
        }
        return new String[] {m.group(1), m.group(2)};
    }

    /** .text's address, file offset and size, from {@code objdump -h}. */
    private static long[] textSection(Path elf) throws Exception {
        for (String line : run(List.of("objdump", "-h", elf.toString()))) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 6 && f[1].equals(".text")) {
                return new long[] {Long.parseLong(f[3], 16), Long.parseLong(f[5], 16), Long.parseLong(f[2], 16)};
            }
        }
        throw new IllegalStateException("no .text in " + elf);
    }

    private static List<String[]> objdump(Path elf, long start, long stop) throws Exception {
        List<String[]> rows = new ArrayList<>();
        for (String line : run(List.of("objdump", "-d", "--no-show-raw-insn", "--start-address=0x"
                + Long.toHexString(start), "--stop-address=0x" + Long.toHexString(stop), elf.toString()))) {
            Matcher m = LINE.matcher(line);
            if (m.matches()) {
                rows.add(new String[] {m.group(1), m.group(2).trim().replaceAll("\\s+", " ")});
            }
        }
        return rows;
    }

    private static List<String> run(List<String> argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null;) {
                lines.add(l);
            }
        }
        assertThat(p.waitFor()).as("%s", argv).isZero();
        return lines;
    }

    /** Debian's busybox-static in hako's cache, fetched with apt-get download and dpkg-deb when missing. */
    private static Path busybox() throws IOException, InterruptedException {
        String configured = System.getProperty("hako.cache");
        Path cache = configured != null && !configured.isBlank() ? Path.of(configured)
                : Path.of(System.getProperty("user.home"), ".cache", "hako");
        Path bin = cache.resolve("busybox-static/bin/busybox");
        if (!Files.isExecutable(bin)) {
            Files.createDirectories(cache);
            CPrograms.command(cache, List.of("apt-get", "download", "busybox-static"));
            try (Stream<Path> files = Files.list(cache)) {
                Path deb = files.filter(f -> f.getFileName().toString().startsWith("busybox-static_")).findFirst()
                        .orElseThrow();
                CPrograms.command(cache, List.of("dpkg-deb", "-x", deb.toString(), cache.resolve("busybox-static")
                        .toString()));
            }
        }
        return bin;
    }
}
