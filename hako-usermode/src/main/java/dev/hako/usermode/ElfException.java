package dev.hako.usermode;

/** The program file cannot be run: missing, unreadable, not a static x86-64 ELF executable, or malformed. */
public final class ElfException extends Exception {
    private final boolean missing;

    public ElfException(String message) {
        this(message, false);
    }

    public ElfException(String message, boolean missing) {
        super(message);
        this.missing = missing;
    }

    /** True when there is no such file (a shell says 127), false when it exists but cannot run (126). */
    public boolean missing() {
        return missing;
    }
}
