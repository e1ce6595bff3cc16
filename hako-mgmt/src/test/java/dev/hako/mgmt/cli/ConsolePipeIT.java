package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DefaultGuest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The default guest driven through a pipe, as a script drives it: typed-ahead input reaches the shell whole
 * (it used to lose its first bytes to the UART driver's startup), and the session ends by itself, with
 * {@code poweroff} or at the end of the input. Both boot Debian's kernel on the soft CPU.
 */
class ConsolePipeIT {
    private static final long BOOT_SECONDS = 300;

    @Test
    void pipedCommandsRunAndPoweroffEndsTheRun() throws Exception {
        CliResult r = HakoProcess.run(HakoProcess.command(List.of(), "run", "--accel", "soft"),
                "echo hello-$((6*7))\npoweroff\n".getBytes(StandardCharsets.US_ASCII), BOOT_SECONDS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("hello-42");
        assertThat(r.err()).contains("guest powered off").doesNotContain("Exception");
    }

    @Test
    void theEndOfInputEndsTheSessionAndTheCommandLineArrivesAsUtf8() throws Exception {
        String word = "h\u00e9llo-\u732b";
        CliResult r = HakoProcess.run(HakoProcess.command(List.of(), "run", "--accel", "soft",
                        "--append", DefaultGuest.CMDLINE + " hako.word=" + word),
                "sleep 1\ncat /proc/cmdline\n".getBytes(StandardCharsets.US_ASCII), BOOT_SECONDS);
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).contains("hako.word=" + word).contains("shell exited, powering off");
    }
}
