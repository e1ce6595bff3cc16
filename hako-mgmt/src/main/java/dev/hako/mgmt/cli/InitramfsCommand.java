package dev.hako.mgmt.cli;

import dev.hako.vmm.boot.Elf64;
import dev.hako.vmm.boot.KernelFormatException;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hako initramfs [--init PROGRAM] OUTPUT}: the default guest's busybox initramfs, as a file. */
@Command(name = "initramfs", mixinStandardHelpOptions = true, description = "Write a busybox initramfs (Debian's busybox-static, fetched with apt).")
final class InitramfsCommand implements Callable<Integer> {
    /** An /init larger than this is not a script or a small static program but a mistake. */
    private static final long MAX_INIT = 64L << 20;

    @Option(names = "--init", paramLabel = "PROGRAM",
            description = "Use this as /init: a script starting with #! (busybox sh is /bin/sh) or a static "
                    + "x86-64 executable.")
    Path init;

    @Parameters(paramLabel = "OUTPUT", description = "Where to write the cpio archive (replaced whole).")
    Path output;

    @Override
    public Integer call() throws Exception {
        HostFile.requireWritable(output, "OUTPUT");
        byte[] program = init == null ? null : initProgram();
        Path busybox;
        try {
            busybox = DebianPackages.inDefaultCache().busybox();
        } catch (IOException e) {
            throw CommandError.unavailable("cannot fetch busybox (" + HostFile.describe(e) + ")");
        }
        byte[] cpio = program == null ? DefaultGuest.initramfs(busybox) : DefaultGuest.initramfs(busybox, program);
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
