package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;
import dev.hako.vmm.image.DebianPackages;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/** Debian's cloud kernel, fetched once into the package cache, and its vmlinux, extracted once per test run. */
final class DebianKernelFixture {
    private static Path vmlinuz;
    private static byte[] bzImage;
    private static byte[] vmlinux;

    private DebianKernelFixture() {
    }

    static synchronized Path vmlinuzPath() {
        if (vmlinuz == null) {
            try {
                vmlinuz = DebianPackages.inDefaultCache().debianKernel();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return vmlinuz;
    }

    static synchronized byte[] bzImage() {
        if (bzImage == null) {
            try {
                bzImage = Files.readAllBytes(vmlinuzPath());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return bzImage;
    }

    static synchronized byte[] vmlinux() {
        if (vmlinux == null) {
            try {
                vmlinux = BzImagePayload.extractVmlinux(bzImage(), "vmlinuz");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return vmlinux;
    }

    /** Zeroed guest RAM of {@code mib} MiB that lives as long as the test's arena. */
    static GuestMemory ram(Arena arena, long mib) {
        return new GuestMemory(arena.allocate(mib << 20, 4096));
    }
}
