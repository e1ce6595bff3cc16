package dev.hako.vmm.image;

import java.util.Arrays;
import java.util.Optional;

/** How a bundle's disk file is laid out, by the name bundle.json and QEMU's {@code format=} use for it. */
public enum DiskFormat {
    RAW("raw"),
    QCOW2("qcow2");

    private final String jsonName;

    DiskFormat(String jsonName) {
        this.jsonName = jsonName;
    }

    public String jsonName() {
        return jsonName;
    }

    public static Optional<DiskFormat> byName(String name) {
        return Arrays.stream(values()).filter(f -> f.jsonName.equals(name)).findFirst();
    }
}
