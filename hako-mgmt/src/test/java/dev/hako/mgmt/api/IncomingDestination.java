package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.mgmt.cli.HakoProcess;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code hako run --incoming tcp:127.0.0.1:0} in a child JVM, listening. */
final class IncomingDestination {
    private static final Pattern LISTENING = Pattern.compile("waiting for a migration on 127\\.0\\.0\\.1:(\\d+)");

    final Process process;
    final StringBuffer out = new StringBuffer(), err = new StringBuffer();
    int port;

    private IncomingDestination(Process process) {
        this.process = process;
    }

    static IncomingDestination start() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--incoming",
                "tcp:127.0.0.1:0"));
        builder.environment().put("LC_ALL", "C.UTF-8");
        builder.environment().put("HAKO_DEBUG", "1");
        IncomingDestination d = new IncomingDestination(builder.start());
        HakoProcess.collect(d.process.getInputStream(), d.out);
        HakoProcess.collect(d.process.getErrorStream(), d.err);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Matcher m = LISTENING.matcher(d.err);
            if (m.find()) {
                d.port = Integer.parseInt(m.group(1));
                return d;
            }
            if (!d.process.isAlive()) {
                break;
            }
            Thread.sleep(20);
        }
        d.kill();
        throw new AssertionError("hako run --incoming did not listen; it said: " + d.err);
    }

    void awaitOutput(Pattern pattern, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!pattern.matcher(out).find() && process.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(out.toString()).as("the destination's console; hako said: %s", err).containsPattern(pattern);
    }

    void kill() throws InterruptedException {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
}
