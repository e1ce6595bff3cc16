package dev.hako.devices.pci;

import java.util.Map;

/** The configuration address latch and the configuration space of each populated slot. */
public record PciRootState(int version, int configAddress, Map<Integer, PciConfigSpaceState> functions) {
    public static final int VERSION = 1;

    public PciRootState {
        functions = Map.copyOf(functions);
    }
}
