package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.DefaultGuest.GuestFile;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One boot of Debian's cloud kernel on the soft CPU with the virtio devices beside the disks, each checked from
 * inside the guest with Debian's own modules: virtio-rng is /dev/hwrng (the hw_random core picks it, and what it
 * reads does not compress).
 */
class VirtioDevicesIT {
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    /** Dependency order: each module after those it needs (their modinfo "depends="). */
    private static final List<String> MODULES = List.of("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
            "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
            "drivers/virtio/virtio_pci.ko", "drivers/char/hw_random/virtio-rng.ko");
    private static final String INIT = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            for m in %s; do insmod /lib/modules/$m || echo "insmod-failed $m"; done
            echo "rng-current $(cat /sys/class/misc/hw_random/rng_current)"
            echo "rng-compressed $(head -c 65536 /dev/hwrng | gzip -c | wc -c)"
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    @TempDir
    Path work;

    @Test
    void guestUsesEachVirtioDevice() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path kernel = packages.debianKernel();
        Path modules = packages.findFile(DebianPackages.KERNEL_PACKAGE, "lib/modules/*/kernel/drivers/block/virtio_blk.ko",
                "the cloud kernel's modules").getParent().getParent().getParent();
        List<GuestFile> files = new ArrayList<>();
        StringBuilder names = new StringBuilder();
        for (String module : MODULES) {
            String name = module.substring(module.lastIndexOf('/') + 1);
            files.add(new GuestFile("/lib/modules/" + name, 0644, Files.readAllBytes(modules.resolve(module))));
            names.append(name).append(' ');
        }
        Path initrd = work.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), INIT.formatted(names.toString().trim()), files));

        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        VirtioDevices virtio = VirtioDevices.NONE.withRng(1 << 20);
        MachineConfig config = new MachineConfig(kernel, initrd, CMDLINE, 512L << 20, 1, "soft", List.of())
                .withVirtio(virtio);
        int status;
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            status = m.run(10, TimeUnit.MINUTES);
        }
        String out = console.output();
        assertThat(status).as("exit status; hako said: %s%nconsole:%n%s", log, out).isZero();
        assertThat(out).contains("HAKO-MARKER-DONE").doesNotContain("insmod-failed");
        assertThat(out).contains("rng-current virtio_rng.0");
        int compressed = Integer.parseInt(out.replaceAll("(?s).*rng-compressed (\\d+).*", "$1"));
        assertThat(compressed).as("64 KiB from /dev/hwrng, gzipped").isGreaterThan(65536);
    }
}
