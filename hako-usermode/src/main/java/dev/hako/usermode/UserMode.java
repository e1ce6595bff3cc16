package dev.hako.usermode;

import java.nio.file.Path;
import java.util.List;

/** Entry point of {@code hako user}: runs a static x86-64 Linux program on the soft CPU. */
public final class UserMode {
    private UserMode() {}

    /**
     * Runs {@code argv[0]} with {@code argv}, file paths resolved under {@code root} when it is not null;
     * returns the program's exit status (128 + signal when it dies of a fault).
     */
    public static int run(Path root, List<String> argv) {
        throw new UnsupportedOperationException("user mode is not built yet");
    }
}
