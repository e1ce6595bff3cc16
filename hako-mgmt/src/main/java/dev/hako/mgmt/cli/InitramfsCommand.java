package dev.hako.mgmt.cli;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code hako initramfs [--init SCRIPT] [--add FILE=GUEST_PATH]... OUTPUT}: the default guest's busybox
 * initramfs, as a file, optionally with the user's /init and files of their own (programs, libraries).
 */
@Command(name = "initramfs", description = "Write a busybox initramfs (Debian's busybox-static, fetched with apt).")
final class InitramfsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--init", paramLabel = "SCRIPT", description = "Use this shell script as /init.")
    Path init;

    @Option(names = "--add", paramLabel = "FILE=GUEST_PATH",
            description = "Also put the host's FILE at GUEST_PATH (absolute; directories are made). Repeatable.")
    List<String> additions = new ArrayList<>();

    @Parameters(paramLabel = "OUTPUT", description = "Where to write the cpio archive.")
    Path output;

    @Override
    public Integer call() throws Exception {
        String script = DefaultGuest.initScript();
        if (init != null) {
            requireFile(init, "--init " + init);
            script = Files.readString(init);
        }
        List<DefaultGuest.GuestFile> files = new ArrayList<>();
        for (String addition : additions) {
            int eq = addition.indexOf('=');
            if (eq <= 0) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--add " + addition + ": expected FILE=GUEST_PATH");
            }
            Path host = Path.of(addition.substring(0, eq));
            requireFile(host, "--add " + addition);
            try {
                files.add(DefaultGuest.GuestFile.copyOf(host, addition.substring(eq + 1)));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--add " + addition + ": " + e.getMessage());
            }
        }
        byte[] cpio;
        try {
            cpio = DefaultGuest.initramfs(DebianPackages.inDefaultCache().busybox(), script, files);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        Files.write(output, cpio);
        return 0;
    }

    private void requireFile(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new CommandLine.ParameterException(spec.commandLine(), what + ": no such file");
        }
    }
}
