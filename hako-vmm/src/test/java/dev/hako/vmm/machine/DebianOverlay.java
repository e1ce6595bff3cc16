package dev.hako.vmm.machine;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.Qcow2Image;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A qcow2 overlay for a test to boot the shared Debian bundle through, so that the cached bundle stays as it
 * is: its base is the bundle's disk when that is raw, else a raw copy that Debian's qemu-img converts.
 */
final class DebianOverlay {
    /** The overlay and its base. */
    record Disks(Path overlay, Path base) {}

    private DebianOverlay() {}

    /** Makes {@code overlay.qcow2} (and {@code base.raw} when needed) in {@code work}. */
    static Disks create(Bundle bundle, Path work) throws IOException, InterruptedException {
        Path base = bundle.diskFile();
        if (bundle.disk().format() != DiskFormat.RAW) {
            base = work.resolve("base.raw");
            List<String> command = List.of("qemu-img", "convert", "-f", bundle.disk().format().qemuName(), "-O",
                    "raw", bundle.diskFile().toString(), base.toString());
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed: " + output);
            }
        }
        Path overlay = work.resolve("overlay.qcow2");
        Qcow2Image.create(overlay, 0, 16, base.toAbsolutePath().toString(), DiskFormat.RAW).close();
        return new Disks(overlay, base);
    }
}
