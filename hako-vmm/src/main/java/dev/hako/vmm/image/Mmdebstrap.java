package dev.hako.vmm.image;

import dev.hako.vmm.image.DebianCustomization.Stage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The mmdebstrap(1) command line that installs the system: the minbase variant (essential and required packages,
 * and apt) plus the spec's packages without their recommends, into a directory, in root mode. dpkg skips manual
 * pages, info pages, translations and documentation (keeping the copyright files), in the build and in the
 * installed system. mmdebstrap itself removes apt's package lists and cache at the end.
 */
final class Mmdebstrap {
    private static final List<String> DPKG_OPTIONS = List.of(
            "path-exclude=/usr/share/man/*",
            "path-exclude=/usr/share/info/*",
            "path-exclude=/usr/share/locale/*",
            "path-include=/usr/share/locale/locale.alias",
            "path-exclude=/usr/share/doc/*",
            "path-include=/usr/share/doc/*/copyright");

    private Mmdebstrap() {
    }

    /**
     * mmdebstrap at {@code executable} building {@code spec} into {@code target}, running the hooks that
     * {@link DebianCustomization#writeSetup} wrote to {@code setup}.
     */
    static List<String> command(Path executable, DebianImageSpec spec, Path target, Path setup) {
        List<String> command = new ArrayList<>(List.of(executable.toString(), "--verbose", "--mode=root",
                "--format=directory", "--variant=minbase", "--include=" + String.join(",", spec.allPackages())));
        for (String option : DPKG_OPTIONS) {
            command.add("--dpkgopt=" + option);
        }
        command.add("--essential-hook=" + hook(setup, Stage.ESSENTIAL));
        command.add("--customize-hook=" + hook(setup, Stage.CUSTOMIZE));
        command.add(DebianImageSpec.SUITE);
        command.add(target.toString());
        command.addAll(spec.sources());
        return command;
    }

    /** mmdebstrap runs a hook with {@code sh -c HOOK exec ROOT}: the script gets the root directory as $1. */
    private static String hook(Path setup, Stage stage) {
        return "sh " + shellQuote(DebianCustomization.hookScript(setup, stage).toString()) + " \"$1\"";
    }

    static String shellQuote(String text) {
        return "'" + text.replace("'", "'\\''") + "'";
    }
}
