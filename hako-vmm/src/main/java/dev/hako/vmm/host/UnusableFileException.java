package dev.hako.vmm.host;

import java.io.IOException;

/**
 * A file the user named (a kernel, an initrd, an /init program, an output) cannot be used as asked: it is
 * missing, not a regular file, unreadable or too large. The message names the file and says what is wrong in
 * one line; a front end shows it as it is.
 */
public final class UnusableFileException extends IOException {
    public UnusableFileException(String message) {
        super(message);
    }
}
