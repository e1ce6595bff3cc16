package dev.hako.vmm.machine;

import dev.hako.devices.backend.BlockBackend;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * A disk the machine shows the guest as a virtio-blk PCI function: an opened image (read-only when the backend
 * is) and the serial number the guest reads (up to 20 ASCII bytes). The machine closes the backend when it closes.
 */
public record Disk(BlockBackend backend, String serial) {
    public Disk {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(serial, "serial");
        if (serial.length() > 20 || !serial.chars().allMatch(c -> c >= 0x20 && c < 0x7F)) {
            throw new IllegalArgumentException("disk serial '" + serial + "' is not up to 20 printable ASCII bytes");
        }
    }

    /** Closes the images of {@code disks} (a machine that was never built still holds them); quietly. */
    public static void closeAll(List<Disk> disks) {
        for (Disk disk : disks) {
            try {
                disk.backend().close();
            } catch (IOException e) {
                // the first failure is what the user is told about
            }
        }
    }
}
