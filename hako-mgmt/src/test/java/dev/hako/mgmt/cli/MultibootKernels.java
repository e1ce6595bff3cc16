package dev.hako.mgmt.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The Multiboot test kernel (this module's test resources {@code multiboot/}), built by the host's gcc: as a
 * 32-bit ELF, and as a flat binary whose header carries the a.out-kludge address fields.
 */
public final class MultibootKernels {
    private static final List<String> SOURCES = List.of("header.S", "kernel.c", "kernel.ld");
    private static final List<String> FLAGS = List.of("-m32", "-ffreestanding", "-fno-pic", "-fno-stack-protector",
            "-nostdlib", "-static", "-O2", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments", "-T", "kernel.ld",
            "header.S", "kernel.c");

    private MultibootKernels() {}

    /** Builds the ELF kernel into {@code dir}; returns its path. */
    public static Path elf(Path dir) throws IOException, InterruptedException {
        return build(dir, "kernel.elf", List.of());
    }

    /** Builds the a.out-kludge kernel (a flat binary, not an ELF) into {@code dir}; returns its path. */
    public static Path aoutKludge(Path dir) throws IOException, InterruptedException {
        return build(dir, "kernel.bin", List.of("-DAOUT_KLUDGE", "-Wl,--oformat=binary"));
    }

    private static Path build(Path dir, String output, List<String> extra) throws IOException, InterruptedException {
        for (String source : SOURCES) {
            Path target = dir.resolve(source);
            if (!Files.exists(target)) {
                try (InputStream in = MultibootKernels.class.getResourceAsStream("/multiboot/" + source)) {
                    Files.copy(in, target);
                }
            }
        }
        List<String> gcc = new ArrayList<>(List.of("gcc", "-o", output));
        gcc.addAll(extra);
        gcc.addAll(FLAGS);
        Process p = new ProcessBuilder(gcc).directory(dir.toFile()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(gcc + " failed:\n" + log);
        }
        return dir.resolve(output);
    }
}
