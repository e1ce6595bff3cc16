package dev.hako.devices.backend;

/**
 * The host side of a character device (a serial port's terminal, a file, a socket). The device calls
 * {@link #write} for each byte the guest transmits; the backend pushes host input into the
 * {@link CharFrontend} it was {@link #attach}ed to, from whatever thread reads the host side.
 */
public interface CharBackend {
    /** A backend that discards output and never produces input. */
    CharBackend NULL = b -> {
    };

    /** One byte (0-255) the guest transmitted. Called with the device's lock held: must not block for long. */
    void write(int b);

    /** Called once when the device is created; input is then delivered with {@link CharFrontend#receive}. */
    default void attach(CharFrontend frontend) {
    }
}
