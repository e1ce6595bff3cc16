package dev.hako.vmm.image;

import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * mmdebstrap's verbose output, condensed for a person watching: its own step lines ("I: ...") and its warnings
 * and errors pass through; apt's and dpkg's hundreds of lines become one line per {@value #EVERY} packages set up,
 * counted against the total apt announced; update-initramfs says when it builds the initramfs.
 */
final class MmdebstrapProgress implements Consumer<String> {
    static final int EVERY = 25;
    private static final Pattern TOTAL = Pattern.compile("^\\d+ upgraded, (\\d+) newly installed");
    private static final Pattern HOOK = Pattern.compile("^I: running --([a-z]+)-hook ");

    private final Consumer<String> out;
    private int total;
    private int setUp;

    MmdebstrapProgress(Consumer<String> out) {
        this.out = out;
    }

    @Override
    public void accept(String line) {
        Matcher hook = HOOK.matcher(line);
        if (hook.find()) {
            out.accept("  running hako's " + hook.group(1) + " hook");
        } else if (line.startsWith("I: ") && !line.startsWith("I: /")) {
            // "I: /vmlinuz is now a symlink ..." comes from the kernel package, not from mmdebstrap's steps.
            out.accept("  " + line.substring(3));
        } else if (line.startsWith("W: ")) {
            out.accept("  warning: " + line.substring(3));
        } else if (line.startsWith("E: ")) {
            out.accept("  error: " + line.substring(3));
        } else if (line.startsWith("Setting up ")) {
            setUp++;
            if (setUp % EVERY == 0 || setUp == total) {
                out.accept("    set up " + setUp + (total > 0 ? " of " + total : "") + " packages");
            }
        } else if (line.startsWith("update-initramfs: Generating ")) {
            out.accept("    " + line);
        } else {
            Matcher matcher = TOTAL.matcher(line);
            if (matcher.find()) {
                total = Integer.parseInt(matcher.group(1));
                setUp = 0;
            }
        }
    }
}
