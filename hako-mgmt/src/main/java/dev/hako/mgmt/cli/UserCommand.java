package dev.hako.mgmt.cli;

import dev.hako.usermode.UserMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hako user [--root DIR] -- PROGRAM [ARGS...]}: a static Linux program on the soft CPU. */
@Command(name = "user", mixinStandardHelpOptions = true, description = "Run a static x86-64 Linux program on the soft CPU, its syscalls on the host.")
final class UserCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--root", paramLabel = "DIR", description = {"Confine the program's file names to DIR, as "
            + "chroot would: PROGRAM and every name the program uses (open, stat, access, readlink, chdir, mkdir, "
            + "rename, link, ...) are resolved under DIR; absolute symbolic links are taken under DIR, '..' stops "
            + "at DIR, getcwd and /proc/self/exe give names inside DIR, and magic links such as /proc/self/root are "
            + "not followed.",
        "Not confined: the standard input, output and error it inherits; file systems mounted inside DIR "
            + "(crossed as usual); and what other host processes do to DIR's tree while it runs. The program "
            + "runs as your user: it can change whatever you may change inside DIR."})
    Path root;

    @Parameters(arity = "1..*", paramLabel = "PROGRAM [ARGS...]", description = "The program and its arguments.")
    List<String> argv;

    @Override
    public Integer call() {
        if (root != null && !Files.isDirectory(root)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--root " + root + " is not a directory");
        }
        return UserMode.run(root, argv);
    }
}
