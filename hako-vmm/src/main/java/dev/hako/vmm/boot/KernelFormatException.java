package dev.hako.vmm.boot;

import java.io.IOException;

/** The file given as a kernel is not one hako can boot; the message says what the file is and what was expected. */
public final class KernelFormatException extends IOException {
    public KernelFormatException(String message) {
        super(message);
    }
}
