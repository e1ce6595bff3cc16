package dev.hako.mgmt.cli;

import java.util.Locale;

/** A size given on the command line: "512M", "4G", "65536K" or plain bytes. */
final class SizeArgument {
    private SizeArgument() {
    }

    /** The bytes {@code text} stands for; a wrong one is an IllegalArgumentException naming {@code option}. */
    static long parse(String option, String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long unit = switch (t.isEmpty() ? ' ' : t.charAt(t.length() - 1)) {
            case 'K' -> 1L << 10;
            case 'M' -> 1L << 20;
            case 'G' -> 1L << 30;
            case 'T' -> 1L << 40;
            default -> 1;
        };
        String digits = unit == 1 ? t : t.substring(0, t.length() - 1);
        try {
            long bytes = Math.multiplyExact(Long.parseLong(digits), unit);
            if (bytes > 0) {
                return bytes;
            }
        } catch (NumberFormatException | ArithmeticException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " " + text + ": not a size like 512M or 4G");
    }
}
