package dev.hako.mgmt.cli;

import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.UnusableFileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code hako} command. Mistakes get one line on standard error and a status of {@link ExitStatus}: a
 * stack trace is printed only for a bug in hako.
 */
@Command(name = "hako", mixinStandardHelpOptions = true, version = "hako 0.1.0",
        description = "A hypervisor in Java: runs x86-64 Linux guests on its own CPU or on KVM.")
public final class Main implements Runnable {
    /** The subcommands by name, in the order help lists them. */
    private static final Map<String, Class<?>> SUBCOMMANDS = subcommands(RunCommand.class, UserCommand.class,
            InitramfsCommand.class, ImageCommand.class, ServeCommand.class, VmCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine(args).execute(args));
    }

    /** The command line with hako's error handling; tests give it their own output and error writers. */
    public static CommandLine commandLine() {
        return commandLine(new String[0]);
    }

    /**
     * As {@link #commandLine()}, with only the subcommand {@code args} names if it names one: picocli reflects
     * over every subcommand it is given (their options, mixins, and the types of their fields, which for
     * {@code vm} and {@code serve} load Jackson and Jetty), and a JVM that runs {@code hako user} has no use for
     * that. Anything else (help, a mistake) gets them all, so help lists them and a mistake is told apart.
     */
    static CommandLine commandLine(String[] args) {
        CommandLine commandLine = new CommandLine(new Main());
        Class<?> named = args.length > 0 ? SUBCOMMANDS.get(args[0]) : null;
        for (Class<?> subcommand : SUBCOMMANDS.values()) {
            if (named == null || named == subcommand) {
                commandLine.addSubcommand(subcommand);
            }
        }
        commandLine.setParameterExceptionHandler(Main::invalidInput);
        commandLine.setExecutionExceptionHandler(Main::failed);
        setExitCodes(commandLine, "run", ExitStatus.RUN);
        setExitCodes(commandLine, "vm", ExitStatus.VM);
        return commandLine;
    }

    private static Map<String, Class<?>> subcommands(Class<?>... classes) {
        Map<String, Class<?>> byName = new LinkedHashMap<>();
        for (Class<?> c : classes) {
            byName.put(c.getAnnotation(Command.class).name(), c);
        }
        return byName;
    }

    private static void setExitCodes(CommandLine commandLine, String subcommand, Map<String, String> codes) {
        CommandLine sub = commandLine.getSubcommands().get(subcommand);
        if (sub != null) {
            sub.getCommandSpec().usageMessage().exitCodeList(codes);
        }
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
