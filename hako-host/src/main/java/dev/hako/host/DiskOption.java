package dev.hako.host;

import dev.hako.vmm.image.disk.DiskFormat;
import java.io.IOException;
import java.nio.file.Path;

/**
 * One {@code --disk PATH[,format=raw|qcow2][,readonly=on|off][,serial=TEXT]} as the user wrote it: the image, its
 * format (detected from the header when not given), whether the guest may write it, and the serial number the guest
 * reads (QEMU's {@code -drive} spelling, so the same words work in both).
 */
public record DiskOption(Path path, DiskFormat format, boolean readOnly, String serial) {
    /** Parses {@code --disk TEXT}; {@code index} numbers the default serial. */
    public static DiskOption parse(String text, int index) {
        String[] parts = text.split(",");
        if (parts[0].isEmpty()) {
            throw new IllegalArgumentException("--disk " + text + ": the image path comes first");
        }
        DiskFormat format = null;
        boolean readOnly = false;
        String serial = "hako-disk" + index;
        for (int i = 1; i < parts.length; i++) {
            String part = parts[i];
            int eq = part.indexOf('=');
            String key = eq < 0 ? part : part.substring(0, eq);
            String value = eq < 0 ? "" : part.substring(eq + 1);
            switch (key) {
                case "format" -> {
                    try {
                        format = DiskFormat.named(value);
                    } catch (IOException e) {
                        throw new IllegalArgumentException("--disk " + text + ": " + e.getMessage());
                    }
                }
                case "readonly" -> readOnly = switch (value) {
                    case "on", "true", "yes", "" -> true;
                    case "off", "false", "no" -> false;
                    default -> throw new IllegalArgumentException(
                            "--disk " + text + ": readonly takes on or off, not '" + value + "'");
                };
                case "serial" -> serial = value;
                default -> throw new IllegalArgumentException("--disk " + text + ": unknown setting '" + key
                        + "' (format=raw|qcow2, readonly=on|off, serial=TEXT)");
            }
        }
        return new DiskOption(Path.of(parts[0]), format, readOnly, serial);
    }
}
