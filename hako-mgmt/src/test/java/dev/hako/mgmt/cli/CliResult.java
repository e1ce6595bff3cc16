package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** What one hako command printed and returned. */
public record CliResult(int status, String out, String err) {
    /** Runs {@code hako ARGS} in this JVM, as Main does, with its output captured. */
    static CliResult inProcess(String... args) {
        return inProcess(Main.commandLine(args), args);
    }

    /** Runs {@code hako ARGS} with {@code commandLine}, with its output captured. */
    static CliResult inProcess(CommandLine commandLine, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int status = commandLine.execute(args);
        return new CliResult(status, out.toString(), err.toString());
    }

    /** A user mistake: the status, and one line on standard error that says {@code message}, no Java in sight. */
    public CliResult refusedWith(int expectedStatus, String message) {
        assertThat(status).as(err).isEqualTo(expectedStatus);
        assertThat(err.lines().toList()).as("one line").hasSize(1);
        assertThat(err).startsWith("hako: ").contains(message)
                .doesNotContain("Exception", "at dev.hako", "at java.", "Usage:");
        return this;
    }
}
