package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;
/** A bundle's disk: its file name inside the bundle directory and its format. */
public record BundleDisk(String file, DiskFormat format) {
}
