package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.host.Host;
import dev.hako.host.VmStore;
import dev.hako.mgmt.api.ApiServer;
import dev.hako.vmm.image.DefaultGuest;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code hako vm console} as a script uses it, in a process of its own against a server: it shows the recent
 * output, types what comes through its pipe, stays through a quiet half minute (Jetty's default idle timeout closed
 * it after 30 s), and ends when the VM's run ends (here: the end of its input makes the default guest's shell exit
 * and power off), saying how. Boots Debian's kernel on the soft CPU.
 */
class VmConsoleIT {
    private static final long BOOT_SECONDS = 300;

    @TempDir
    Path state;

    @Test
    void theSessionEndsWhenTheVmPowersOff() throws Exception {
        Path socket = state.resolve("hako.sock");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (Host host = new Host(new VmStore(state), quiet);
                ApiServer server = new ApiServer(host, socket, null, null, quiet)) {
            assertThat(vm(socket, "create", "box", "--memory", "128M", "--accel", "soft")).isZero();
            assertThat(vm(socket, "start", "box")).isZero();

            Process console = new ProcessBuilder(HakoProcess.command(List.of(), "vm", "console", "box", "--socket",
                    socket.toString())).start();
            StringBuffer out = new StringBuffer(), err = new StringBuffer();
            HakoProcess.collect(console.getInputStream(), out);
            HakoProcess.collect(console.getErrorStream(), err);
            try {
                await(out, DefaultGuest.BANNER, console);
                console.getOutputStream().write("sleep 35; echo hi-$((6*7))\n".getBytes(StandardCharsets.US_ASCII));
                console.getOutputStream().flush();
                await(out, "hi-42", console);
                console.getOutputStream().close(); // the end of input: a Ctrl-D for the shell, which powers off

                assertThat(console.waitFor(120, TimeUnit.SECONDS)).as(out + "\n" + err).isTrue();
                assertThat(console.exitValue()).as(err.toString()).isZero();
                assertThat(out.toString()).contains("shell exited, powering off");
                assertThat(err.toString()).contains("hako: VM box is stopped").doesNotContain("Exception");
            } finally {
                console.destroyForcibly();
            }
        }
    }

    private static int vm(Path socket, String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "vm";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--socket";
        all[args.length + 2] = socket.toString();
        CommandLine cli = Main.commandLine();
        return cli.execute(all);
    }


    private static void await(StringBuffer out, String text, Process console) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOOT_SECONDS);
        while (!out.toString().contains(text)) {
            assertThat(console.isAlive()).as("the console ended early:\n" + out).isTrue();
            assertThat(System.nanoTime()).as("no '" + text + "' in:\n" + out).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(100);
        }
    }
}
