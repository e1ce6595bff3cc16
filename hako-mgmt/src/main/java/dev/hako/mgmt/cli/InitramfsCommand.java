package dev.hako.mgmt.cli;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hako initramfs [--init SCRIPT] OUTPUT}: the default guest's busybox initramfs, as a file. */
@Command(name = "initramfs", description = "Write a busybox initramfs (Debian's busybox-static, fetched with apt).")
final class InitramfsCommand implements Callable<Integer> {
    @Option(names = "--init", paramLabel = "SCRIPT", description = "Use this shell script as /init.")
    Path init;

    @Parameters(paramLabel = "OUTPUT", description = "Where to write the cpio archive.")
    Path output;

    @Override
    public Integer call() throws Exception {
        Path busybox = DebianPackages.inDefaultCache().busybox();
        byte[] cpio = init == null ? DefaultGuest.initramfs(busybox)
                : DefaultGuest.initramfs(busybox, Files.readString(init));
        Files.write(output, cpio);
        return 0;
    }
}
