package dev.hako.mgmt.cli;

import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.UnusableFileException;
import java.io.IOException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code hako} command. Mistakes get one line on standard error and a status of {@link ExitStatus}: a
 * stack trace is printed only for a bug in hako.
 */
@Command(name = "hako", mixinStandardHelpOptions = true, version = "hako 0.1.0",
        description = "A hypervisor in Java: runs x86-64 Linux guests on its own CPU or on KVM.",
        subcommands = {RunCommand.class, UserCommand.class, InitramfsCommand.class, ImageCommand.class,
                ServeCommand.class, VmCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The command line with hako's error handling; tests give it their own output and error writers. */
    public static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setParameterExceptionHandler(Main::invalidInput);
        commandLine.setExecutionExceptionHandler(Main::failed);
        commandLine.getSubcommands().get("run").getCommandSpec().usageMessage().exitCodeList(ExitStatus.RUN);
        commandLine.getSubcommands().get("vm").getCommandSpec().usageMessage().exitCodeList(ExitStatus.VM);
        return commandLine;
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "say what to do: hako run [options], hako serve, hako vm ..., hako initramfs OUTPUT, or hako user -- "
                + "PROGRAM");
    }

    private static int invalidInput(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        commandLine.getErr().println("hako: " + e.getMessage() + " (see '"
                + commandLine.getCommandSpec().qualifiedName() + " --help')");
        return ExitStatus.USAGE;
    }

    private static int failed(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed) {
        PrintWriter err = commandLine.getErr();
        switch (e) {
            case CommandError c -> {
                err.println("hako: " + c.getMessage());
                return c.status();
            }
            case UnusableFileException u -> {
                err.println("hako: " + u.getMessage());
                return ExitStatus.USAGE;
            }
            case IOException io -> {
                err.println("hako: " + HostFile.describe(io));
                return ExitStatus.IO_ERROR;
            }
            default -> {
                err.println("hako: internal error (a bug in hako: please report it with what follows)");
                e.printStackTrace(err);
                return ExitStatus.INTERNAL_ERROR;
            }
        }
    }
}
