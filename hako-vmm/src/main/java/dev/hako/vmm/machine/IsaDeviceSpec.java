package dev.hako.vmm.machine;

import dev.hako.devices.legacy.IsaDebugExit;
import dev.hako.devices.legacy.IsaDebugcon;
import dev.hako.core.bus.PioBus;
import dev.hako.vmm.host.HostFile;
import dev.hako.vmm.host.UnusableFileException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;

/**
 * A QEMU test device on the ISA bus as {@code --device} names it, with QEMU's property names and defaults:
 * {@code isa-debug-exit[,iobase=N][,iosize=N]} and {@code isa-debugcon[,iobase=N][,chardev=stdout|FILE]
 * [,readback=N]}. Numbers are decimal or 0x-hex, as QEMU reads them.
 */
public sealed interface IsaDeviceSpec {
    String SYNTAX = "isa-debug-exit[,iobase=0x501][,iosize=2] or isa-debugcon[,iobase=0xe9][,chardev=stdout|FILE]";

    int iobase();

    int portCount();

    /** The device's name, QEMU's. */
    String type();

    /** Ends the VM with status (V << 1) | 1 when the guest writes V. */
    record DebugExit(int iobase, int iosize) implements IsaDeviceSpec {
        @Override
        public int portCount() {
            return iosize;
        }

        @Override
        public String type() {
            return "isa-debug-exit";
        }
    }

    /** Bytes written go to {@code file} (appended; null: the machine's console, hako run's standard output). */
    record Debugcon(int iobase, Path file, int readback) implements IsaDeviceSpec {
        @Override
        public int portCount() {
            return IsaDebugcon.PORT_COUNT;
        }

        @Override
        public String type() {
            return "isa-debugcon";
        }
    }

    /** Parses {@code --device TEXT}; a mistake is an {@link IllegalArgumentException} quoting the text. */
    static IsaDeviceSpec parse(String text) {
        String[] parts = text.split(",", -1);
        boolean exit = parts[0].equals("isa-debug-exit");
        if (!exit && !parts[0].equals("isa-debugcon")) {
            throw new IllegalArgumentException("--device " + text + ": unknown device '" + parts[0] + "' (hako has "
                    + SYNTAX + ")");
        }
        int iobase = exit ? IsaDebugExit.DEFAULT_IOBASE : IsaDebugcon.DEFAULT_IOBASE;
        int iosize = IsaDebugExit.DEFAULT_IOSIZE;
        int readback = IsaDebugcon.DEFAULT_READBACK;
        Path file = null;
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            String key = eq < 0 ? parts[i] : parts[i].substring(0, eq);
            String value = eq < 0 ? "" : parts[i].substring(eq + 1);
            switch (exit ? "exit." + key : "con." + key) {
                case "exit.iobase", "con.iobase" -> iobase = number(text, key, value, 0, PioBus.PORT_COUNT - 1);
                case "exit.iosize" -> iosize = number(text, key, value, 1, PioBus.PORT_COUNT);
                case "con.readback" -> readback = number(text, key, value, 0, 0xFF);
                case "con.chardev" -> file = chardev(text, value);
                default -> throw new IllegalArgumentException("--device " + text + ": " + parts[0]
                        + " has no setting '" + key + "' (" + (exit ? "iobase, iosize" : "iobase, chardev, readback")
                        + ")");
            }
        }
        IsaDeviceSpec spec = exit ? new DebugExit(iobase, iosize) : new Debugcon(iobase, file, readback);
        if (spec.iobase() + spec.portCount() > PioBus.PORT_COUNT) {
            throw new IllegalArgumentException("--device " + text + ": its ports reach past 0xffff");
        }
        return spec;
    }

    private static int number(String text, String key, String value, int min, int max) {
        long n;
        try {
            n = value.startsWith("0x") || value.startsWith("0X") ? Long.parseLong(value.substring(2), 16)
                    : Long.parseLong(value);
        } catch (NumberFormatException e) {
            n = Long.MIN_VALUE;
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(String.format("--device %s: %s must be a number from %#x to %#x, "
                    + "decimal or 0x-hex", text, key, min, max));
        }
        return (int) n;
    }

    private static Path chardev(String text, String value) {
        if (value.equals("stdout") || value.equals("stdio")) {
            return null;
        }
        try {
            if (value.isEmpty()) {
                throw new InvalidPathException(value, "empty");
            }
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("--device " + text + ": chardev is stdout or a file to append to");
        }
    }

    /** Parses each of {@code texts}. */
    static List<IsaDeviceSpec> parseAll(List<String> texts) {
        return texts.stream().map(IsaDeviceSpec::parse).toList();
    }

    /** Refuses a debugcon file hako could not write, before anything is built. */
    static void checkFiles(List<IsaDeviceSpec> specs) throws UnusableFileException {
        for (IsaDeviceSpec spec : specs) {
            if (spec instanceof Debugcon con && con.file() != null) {
                HostFile.requireWritable(con.file(), "isa-debugcon chardev");
            }
        }
    }
}
