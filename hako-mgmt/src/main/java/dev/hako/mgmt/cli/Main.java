package dev.hako.mgmt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hako} command. */
@Command(name = "hako", mixinStandardHelpOptions = true, version = "hako 0.1.0",
        description = "A hypervisor in Java: runs x86-64 Linux guests on its own CPU or on KVM.",
        subcommands = {RunCommand.class, UserCommand.class, InitramfsCommand.class, ImageCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line, with usage errors reported as one line that points to --help. */
    static CommandLine commandLine() {
        return new CommandLine(new Main()).setParameterExceptionHandler((e, args) -> {
            CommandLine command = e.getCommandLine();
            String name = command.getCommandSpec().qualifiedName();
            command.getErr().println(name + ": " + e.getMessage() + " (see " + name + " --help)");
            command.getErr().flush();
            return command.getCommandSpec().exitCodeOnInvalidInput();
        });
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "say what to do: hako run [options], or hako user -- PROGRAM");
    }
}
