package dev.hako.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The C test programs (this module's resources {@code c/NAME.c}), built by the host's gcc, and their native
 * runs as hako's soft CPU would see them: the user-mode tests and the guest boot tests compare hako's output
 * with these runs byte for byte.
 */
public final class CPrograms {
    /**
     * glibc hardware-capability masks (GLIBC_TUNABLES) that leave the host with the features hako's CPUID
     * advertises (SSE2, no AVX or FMA): glibc picks libm and string variants by CPU feature, and e.g. its
     * FMA sin() can differ from the SSE2 one in the last bit.
     */
    public static final String NATIVE_BASELINE = "glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-FMA4,-BMI1,-BMI2,-ERMS,-FSRM,"
            + "-SSE3,-SSSE3,-SSE4_1,-SSE4_2,-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-MOVBE";

    /** How a native run ended and what it wrote. */
    public record Run(int status, byte[] stdout, byte[] stderr) {}

    private CPrograms() {}

    /**
     * Builds {@code c/PROGRAM.c} in {@code dir} with gcc and {@code flags} (such as "-static -O2"; -lm and
     * -pthread are added) into a binary named after the program and the flags; returns its path.
     */
    public static Path compile(Path dir, String program, String flags) throws IOException, InterruptedException {
        Path source = dir.resolve(program + ".c");
        if (!Files.exists(source)) {
            try (InputStream in = CPrograms.class.getResourceAsStream("c/" + program + ".c")) {
                if (in == null) {
                    throw new IllegalArgumentException("no test program c/" + program + ".c");
                }
                Files.copy(in, source);
            }
        }
        Path binary = dir.resolve(program + flags.replace(" ", ""));
        List<String> gcc = new ArrayList<>(List.of("gcc"));
        gcc.addAll(List.of(flags.trim().split(" +")));
        gcc.addAll(List.of("-o", binary.toString(), source.toString(), "-lm", "-pthread"));
        command(dir, gcc);
        return binary;
    }

    /** Runs {@code argv} on the host with the baseline CPU features, stdin from {@code stdin} (null: /dev/null). */
    public static Run runNative(Path dir, Path stdin, List<String> argv) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "native-out", ".bin");
        Path err = Files.createTempFile(dir, "native-err", ".bin");
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(stdin == null ? new File("/dev/null") : stdin.toFile()))
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("GLIBC_TUNABLES", NATIVE_BASELINE);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("native run of " + argv + " did not finish in 120 s");
        }
        return new Run(p.exitValue(), Files.readAllBytes(out), Files.readAllBytes(err));
    }

    /** Runs a host command in {@code dir}; fails with its output if it fails. */
    public static void command(Path dir, List<String> argv) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(argv + " failed:\n" + output);
        }
    }
}
