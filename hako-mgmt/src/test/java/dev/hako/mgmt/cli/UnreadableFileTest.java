package dev.hako.mgmt.cli;

import dev.hako.vmm.image.DebianPackages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A kernel or initrd the user may not read: one line that says so. The tests run as root, whom permissions do
 * not stop, so hako runs here as root without the capabilities that let root ignore them (setpriv).
 */
class UnreadableFileTest {
    @TempDir
    Path dir;

    private List<String> asUserWithoutOverride() {
        boolean root = "root".equals(System.getProperty("user.name"));
        return root ? List.of("setpriv", "--bounding-set=-dac_override,-dac_read_search") : List.of();
    }

    @Test
    void unreadableKernelAndInitrd() throws Exception {
        Path secret = Files.write(dir.resolve("secret"), new byte[4096]);
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("---------"));
        CliResult kernel = HakoProcess.run(HakoProcess.command(asUserWithoutOverride(),
                "run", "--kernel", secret.toString()), new byte[0], 60);
        kernel.refusedWith(ExitStatus.USAGE, "kernel " + secret + ": permission denied");

        Path debianKernel = DebianPackages.inDefaultCache().debianKernel();
        CliResult initrd = HakoProcess.run(HakoProcess.command(asUserWithoutOverride(),
                "run", "--kernel", debianKernel.toString(), "--initrd", secret.toString()), new byte[0], 60);
        initrd.refusedWith(ExitStatus.USAGE, "initrd " + secret + ": permission denied");
    }
}
