package dev.hako.mgmt.cli;

import dev.hako.testkit.ChildJvm;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * hako's CLI as a separate process on this test's class path, for what only a process shows: its standard input
 * as a pipe, and a user whom the kernel's permission checks stop.
 */
public final class HakoProcess {
    private HakoProcess() {}

    /** The command that runs {@code hako ARGS}, after {@code prefix} (e.g. setpriv and its options). */
    public static List<String> command(List<String> prefix, String... args) {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(ChildJvm.command("-Xss16m", "-cp", classPath(),
                "-Dhako.cache=" + System.getProperty("hako.cache", ""), Main.class.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /** Runs it with {@code input} on standard input; waits at most {@code seconds}. */
    public static CliResult run(List<String> command, byte[] input, long seconds)
            throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("LC_ALL", "C.UTF-8"); // as the hako launcher sets it
        Process p = builder.start();
        CompletableFuture<String> out = drain(p.getInputStream()), err = drain(p.getErrorStream());
        try (var stdin = p.getOutputStream()) {
            stdin.write(input);
        }
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("hako did not end within " + seconds + " s; it printed:\n" + out.join()
                    + "\n" + err.join());
        }
        return new CliResult(p.exitValue(), out.join(), err.join());
    }

    /** Appends what {@code stream} (a running process's output, ASCII) gives to {@code into} as it comes. */
    public static void collect(java.io.InputStream stream, StringBuffer into) {
        Thread.ofVirtual().start(() -> {
            byte[] buffer = new byte[4096];
            try {
                for (int n; (n = stream.read(buffer)) > 0; ) {
                    into.append(new String(buffer, 0, n, StandardCharsets.ISO_8859_1));
                }
            } catch (IOException e) {
                // the process ended
            }
        });
    }

    private static CompletableFuture<String> drain(java.io.InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "";
            }
        });
    }

    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }
}
