package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** QEMU's own image tools (qemu-img, qemu-io from Debian's qemu-utils): the independent checker of hako's images. */
final class QemuTools {
    /** qemu-img check's exit status when it found leaked clusters and nothing worse. */
    static final int CHECK_LEAKS_ONLY = 3;

    record Result(int status, String output) {}

    private QemuTools() {}

    /** Runs a QEMU tool; the test is skipped, saying why, where qemu-utils is not installed. */
    static Result run(String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort(command[0] + " (qemu-utils) is not installed: no independent checker of images");
            throw e;
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("%s did not finish", command[0]).isTrue();
        return new Result(process.exitValue(), output);
    }

    /** Runs a QEMU tool that must succeed; returns its output. */
    static String ok(String... command) throws IOException, InterruptedException {
        Result result = run(command);
        assertThat(result.status()).as("%s\n%s", String.join(" ", command), result.output()).isZero();
        return result.output();
    }

    static String img(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        return ok(command.toArray(String[]::new));
    }

    /** qemu-io commands (each a -c argument) on an image of the given format. */
    static String io(Path image, String format, String... commands) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        command.add(image.toString());
        return ok(command.toArray(String[]::new));
    }

    /** qemu-img check: no errors and, unless {@code leaksAllowed}, no leaks either. */
    static void check(Path image, boolean leaksAllowed) throws IOException, InterruptedException {
        Result result = run("qemu-img", "check", "-f", "qcow2", image.toString());
        if (leaksAllowed && result.status() == CHECK_LEAKS_ONLY) {
            assertThat(result.output()).doesNotContain("ERROR").doesNotContain("corrupt");
            return;
        }
        assertThat(result.status()).as("qemu-img check %s:\n%s", image, result.output()).isZero();
        assertThat(result.output()).contains("No errors were found on the image");
    }

    /** The image's disk contents, through qemu-img convert -O raw. */
    static byte[] contents(Path image, Path scratch) throws IOException, InterruptedException {
        Path raw = scratch.resolve("converted-" + System.nanoTime() + ".raw");
        img("convert", "-O", "raw", image.toString(), raw.toString());
        byte[] bytes = Files.readAllBytes(raw);
        Files.delete(raw);
        return bytes;
    }
}
