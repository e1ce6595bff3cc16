package dev.hako.devices.pci;

import java.util.Arrays;

/** The guest-visible bytes of a configuration space (the write masks are the function's configuration). */
public record PciConfigSpaceState(int version, byte[] bytes) {
    public static final int VERSION = 1;

    public PciConfigSpaceState {
        bytes = bytes.clone();
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    void checkVersion() {
        if (version != VERSION) {
            throw new IllegalArgumentException("PCI configuration space state version " + version);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PciConfigSpaceState s && s.version == version && Arrays.equals(s.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return 31 * version + Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "PciConfigSpaceState[version=" + version + ", " + bytes.length + " bytes]";
    }
}
