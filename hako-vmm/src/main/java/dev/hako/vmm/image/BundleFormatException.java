package dev.hako.vmm.image;

import java.io.IOException;

/** A bundle directory hako cannot boot; the message is one line that names the file at fault. */
public final class BundleFormatException extends IOException {
    public BundleFormatException(String message) {
        super(message);
    }
}
