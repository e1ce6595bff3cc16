package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

/**
 * Puts a kernel, its command line, initrd and boot structures into guest memory and says in which state the boot
 * vCPU starts. {@link KernelLoaders#forFile} picks the loader by looking at the file.
 */
public sealed interface KernelLoader permits BzImageLoader, MultibootLoader, PvhLoader {
    BootState load(GuestMemory memory, BootSpec spec) throws KernelFormatException;
}
