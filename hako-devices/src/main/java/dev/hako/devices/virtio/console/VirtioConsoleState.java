package dev.hako.devices.virtio.console;

/** Host input not yet delivered to the guest (oldest first). */
public record VirtioConsoleState(int version, byte[] pendingInput) {
    public static final int VERSION = 1;

    public VirtioConsoleState {
        pendingInput = pendingInput.clone();
    }

    @Override
    public byte[] pendingInput() {
        return pendingInput.clone();
    }
}
