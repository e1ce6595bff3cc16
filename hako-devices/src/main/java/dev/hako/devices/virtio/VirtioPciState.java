package dev.hako.devices.virtio;

import dev.hako.devices.pci.MsixTableState;
import java.util.List;

/** The virtio PCI transport's registers, its queues and its MSI-X table (configuration space is the root's). */
public record VirtioPciState(int version, int deviceFeatureSelect, int driverFeatureSelect, long driverFeatures,
                             int configVector, int status, int configGeneration, int queueSelect, int isr,
                             List<VirtqueueState> queues, MsixTableState msix) {
    public static final int VERSION = 1;

    public VirtioPciState {
        queues = List.copyOf(queues);
    }
}
