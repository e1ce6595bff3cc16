package dev.hako.vmm.image;

import dev.hako.vmm.image.DefaultGuest.GuestFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Modules of Debian's cloud kernel (from its package in hako's cache) for an initramfs: each as
 * {@code /lib/modules/NAME}, and their names in load order, for an /init that loads them with insmod (the default
 * guest's reads the order from {@link #LOAD_ORDER}; a test's /init may start with {@link #initPrologue}).
 */
public record KernelModules(List<GuestFile> files, String names) {
    /** Where {@link #withLoadOrder} puts the names, one a line, for the default guest's /init. */
    public static final String LOAD_ORDER = "/lib/modules/load-order";

    /** The start of a test /init: busybox's shell, proc, sysfs and devtmpfs mounted, the modules loaded. */
    private static final String INIT_PROLOGUE = """
            #!/bin/busybox sh
            export PATH=/sbin:/usr/sbin:/bin:/usr/bin
            mount -t proc proc /proc
            mount -t sysfs sysfs /sys
            mount -t devtmpfs devtmpfs /dev
            for m in %s; do insmod /lib/modules/$m || echo "insmod-failed $m"; done
            """;

    /** The virtio-pci transport, in dependency order (each module after those its modinfo "depends=" names). */
    private static final List<String> VIRTIO_PCI = List.of("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
            "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
            "drivers/virtio/virtio_pci.ko");

    /** virtio-blk over virtio-pci, in dependency order. */
    public static final List<String> VIRTIO_BLK = overVirtioPci("drivers/block/virtio_blk.ko");

    /** The virtio-pci transport, then {@code drivers} (in their own dependency order). */
    public static List<String> overVirtioPci(String... drivers) {
        List<String> all = new ArrayList<>(VIRTIO_PCI);
        all.addAll(List.of(drivers));
        return List.copyOf(all);
    }

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

    /** The modules and {@link #LOAD_ORDER} naming them. */
    public List<GuestFile> withLoadOrder() {
        List<GuestFile> all = new ArrayList<>(files);
        all.add(new GuestFile(LOAD_ORDER, 0644, (names.replace(' ', '\n') + "\n").getBytes(StandardCharsets.US_ASCII)));
        return List.copyOf(all);
    }
}
