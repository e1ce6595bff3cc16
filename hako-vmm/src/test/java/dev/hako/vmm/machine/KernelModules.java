package dev.hako.vmm.machine;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest.GuestFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Modules of Debian's cloud kernel (from its package in hako's cache) for a test initramfs: each as
 * {@code /lib/modules/NAME}, and their names in order, for an /init that loads them with insmod.
 */
public record KernelModules(List<GuestFile> files, String names) {
    /** The start of a test /init: busybox's shell, proc, sysfs and devtmpfs mounted, the modules loaded. */
    private static final String INIT_PROLOGUE = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            for m in %s; do insmod /lib/modules/$m || echo "insmod-failed $m"; done
            """;

    /** virtio-blk over virtio-pci, in dependency order (each module after those its modinfo "depends=" names). */
    public static final List<String> VIRTIO_BLK = List.of("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
            "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
            "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko");

    /** {@code modules}: paths under the kernel's {@code lib/modules/VERSION/kernel}, in load order. */
    public static KernelModules of(DebianPackages packages, List<String> modules) throws IOException {
        String first = modules.getFirst();
        Path kernelDir = packages.findFile(DebianPackages.KERNEL_PACKAGE, "lib/modules/*/kernel/" + first,
                "the cloud kernel's modules");
        for (int i = 0; i < first.split("/").length; i++) {
            kernelDir = kernelDir.getParent();
        }
        List<GuestFile> files = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (String module : modules) {
            String name = module.substring(module.lastIndexOf('/') + 1);
            files.add(new GuestFile("/lib/modules/" + name, 0644, Files.readAllBytes(kernelDir.resolve(module))));
            names.add(name);
        }
        return new KernelModules(List.copyOf(files), String.join(" ", names));
    }

    /** The first lines of an /init that loads these modules; the test's own lines follow. */
    public String initPrologue() {
        return INIT_PROLOGUE.formatted(names);
    }
}
