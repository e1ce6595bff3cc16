package dev.hako.devices.backend;

/** The guest-facing side of a character device, as seen by a {@link CharBackend} pushing host input. */
public interface CharFrontend {
    /** Offers one byte (0-255) from the host; false when the device has no room (the backend retries). */
    boolean receive(int b);

    /** How many bytes {@link #receive} would accept right now. */
    int receiveSpace();
}
