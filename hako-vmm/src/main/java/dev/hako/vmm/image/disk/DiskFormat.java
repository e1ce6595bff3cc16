package dev.hako.vmm.image.disk;

import java.io.IOException;
import java.util.Locale;

/** The disk image formats hako reads and writes, by the names QEMU gives them ({@code -f raw}, {@code -f qcow2}). */
public enum DiskFormat {
    RAW("raw"),
    QCOW2("qcow2");

    private final String qemuName;

    DiskFormat(String qemuName) {
        this.qemuName = qemuName;
    }

    public String qemuName() {
        return qemuName;
    }

    /** The format named {@code name} ("raw", "qcow2"); an unknown name is a user mistake, said in one line. */
    public static DiskFormat named(String name) throws IOException {
        for (DiskFormat format : values()) {
            if (format.qemuName.equals(name.toLowerCase(Locale.ROOT))) {
                return format;
            }
        }
        throw new IOException("unsupported disk image format \"" + name + "\" (hako reads raw and qcow2)");
    }

    @Override
    public String toString() {
        return qemuName;
    }
}
