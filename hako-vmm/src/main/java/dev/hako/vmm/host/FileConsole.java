package dev.hako.vmm.host;

import dev.hako.devices.backend.CharBackend;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A console that appends the guest's output to a file (flushed at each newline) and never produces input. */
public final class FileConsole implements CharBackend, AutoCloseable {
    private final OutputStream out;
    private boolean failed;

    public FileConsole(Path file) throws IOException {
        this.out = new BufferedOutputStream(Files.newOutputStream(file, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND, StandardOpenOption.WRITE));
    }

    @Override
    public synchronized void write(int b) {
        if (failed) {
            return;
        }
        try {
            out.write(b);
            if (b == '\n') {
                out.flush();
            }
        } catch (IOException e) {
            failed = true;  // a full disk: the guest's output has nowhere to go, the guest runs on
        }
    }

    @Override
    public synchronized void close() throws IOException {
        out.close();
    }
}
