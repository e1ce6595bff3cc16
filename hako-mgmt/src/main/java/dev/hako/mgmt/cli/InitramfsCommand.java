package dev.hako.mgmt.cli;

import dev.hako.vmm.boot.Elf64;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * {@code hako initramfs [--init PROGRAM] [--add FILE=GUEST_PATH]... OUTPUT}: the default guest's busybox
 * initramfs, as a file, optionally with the user's /init and files of their own (programs, libraries).
 */
@Command(name = "initramfs", mixinStandardHelpOptions = true,
        description = "Write a busybox initramfs (Debian's busybox-static, fetched with apt).")
final class InitramfsCommand implements Callable<Integer> {
    /** An /init larger than this is not a script or a small static program but a mistake. */
    private static final long MAX_INIT = 64L << 20;

    @Spec
    CommandSpec spec;

    @Option(names = "--init", paramLabel = "PROGRAM",
            description = "Use this as /init: a script starting with #! (busybox sh is /bin/sh) or a static "
                    + "x86-64 executable.")
    Path init;

    @Option(names = "--add", paramLabel = "FILE=GUEST_PATH",
            description = "Also put the host's FILE at GUEST_PATH (absolute; directories are made). Repeatable.")
    List<String> additions = new ArrayList<>();

    @Parameters(paramLabel = "OUTPUT", description = "Where to write the cpio archive (replaced whole).")
    Path output;

    @Override
    public Integer call() throws Exception {
        HostFile.requireWritable(output, "OUTPUT");
        byte[] program = init == null ? DefaultGuest.initScript().getBytes(StandardCharsets.UTF_8) : initProgram();
        List<DefaultGuest.GuestFile> files = new ArrayList<>();
        for (String addition : additions) {
            int eq = addition.indexOf('=');
            if (eq <= 0) {
                throw CommandError.usage("--add " + addition + ": expected FILE=GUEST_PATH");
            }
            Path host = Path.of(addition.substring(0, eq));
            byte[] contents = HostFile.read(host, "--add " + addition, MAX_INIT, HostFile.human(MAX_INIT));
            try {
                files.add(new DefaultGuest.GuestFile(addition.substring(eq + 1),
                        Files.isExecutable(host) ? 0755 : 0644, contents));
            } catch (IllegalArgumentException e) {
                throw CommandError.usage("--add " + addition + ": " + e.getMessage());
            }
        }
        Path busybox;
        try {
            busybox = DebianPackages.inDefaultCache().busybox();
        } catch (IOException e) {
            throw CommandError.unavailable("cannot fetch busybox (" + HostFile.describe(e) + ")");
        }
        byte[] cpio;
        try {
            cpio = DefaultGuest.initramfs(busybox, program, files);
        } catch (IllegalArgumentException e) {
            throw CommandError.usage(e.getMessage());
        }
        HostFile.writeAtomically(output, cpio);
        return 0;
    }
    /** The --init file, refused unless the kernel could run it as PID 1 in this initramfs. */
    private byte[] initProgram() throws IOException {
        byte[] program = HostFile.read(init, "--init", MAX_INIT, HostFile.human(MAX_INIT));
        if (program.length >= 2 && program[0] == '#' && program[1] == '!') {
            return program;
        }
        if (!Elf64.hasMagic(program)) {
            throw CommandError.usage("--init " + init + " is neither a script starting with #! nor an ELF "
                    + "executable: the kernel could not run it as /init");
        }
        try {
            Elf64 elf = Elf64.parse(program, "--init " + init);
            if (elf.segments().stream().anyMatch(s -> s.type() == Elf64.PT_INTERP)) {
                throw CommandError.usage("--init " + init + " is dynamically linked, and the initramfs holds no "
                        + "libraries: link it statically");
            }
        } catch (KernelFormatException e) {
            throw CommandError.usage(e.getMessage());
        }
        return program;
    }
}
