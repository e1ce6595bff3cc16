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
record KernelModules(List<GuestFile> files, String names) {
    /** {@code modules}: paths under the kernel's {@code lib/modules/VERSION/kernel}, in load order. */
    static KernelModules of(DebianPackages packages, List<String> modules) throws IOException {
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
}
