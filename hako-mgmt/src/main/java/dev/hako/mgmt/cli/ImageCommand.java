package dev.hako.mgmt.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code hako image}: guest images. */
@Command(name = "image", mixinStandardHelpOptions = true, description = "Build guest images.",
        subcommands = ImageCreateCommand.class)
final class ImageCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "say what to do: hako image create DIR");
    }
}
