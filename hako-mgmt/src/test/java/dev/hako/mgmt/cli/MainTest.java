package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Main gives picocli only the subcommand the arguments name (what a JVM that runs {@code hako user} spends on
 * the others' reflection is start-up time); what the user sees must not change with it.
 */
class MainTest {
    private static final String[] ALL = {"run", "user", "initramfs", "image", "serve", "vm"};

    @Test
    void aNamedSubcommandIsTheOnlyOneGiven() {
        assertThat(Main.commandLine(new String[] {"user", "--", "/bin/true"}).getSubcommands())
                .containsOnlyKeys("user");
        assertThat(Main.commandLine(new String[] {"vm", "list"}).getSubcommands()).containsOnlyKeys("vm");
        assertThat(Main.commandLine(new String[] {"vm", "list"}).getSubcommands().get("vm").getSubcommands())
                .containsKeys("create", "console", "list");
    }

    @Test
    void helpAMistakeOrNothingGetsThemAll() {
        for (String[] args : new String[][] {{}, {"--help"}, {"--version"}, {"usr"}, {"-x", "user"}}) {
            assertThat(Main.commandLine(args).getSubcommands()).as(String.join(" ", args)).containsOnlyKeys(ALL);
        }
        assertThat(Main.commandLine().getSubcommands().keySet()).containsExactly(ALL);
        CliResult help = CliResult.inProcess("--help");
        assertThat(help.status()).isZero();
        for (String name : ALL) {
            assertThat(help.out()).containsPattern("(?m)^  " + name + " ");
        }
    }

    @Test
    void aSubcommandSaysTheSameAloneAsAmongAll() {
        for (String name : ALL) {
            CliResult alone = CliResult.inProcess(name, "--help");
            CliResult amongAll = CliResult.inProcess(Main.commandLine(), name, "--help");
            assertThat(alone.status()).isZero();
            assertThat(alone).as(name).isEqualTo(amongAll);
            assertThat(alone.out()).startsWith("Usage: hako " + name);
        }
        CliResult mistake = CliResult.inProcess("run", "--no-such-option");
        assertThat(mistake).isEqualTo(CliResult.inProcess(Main.commandLine(), "run", "--no-such-option"));
        mistake.refusedWith(ExitStatus.USAGE, "see 'hako run --help'");
    }
}
