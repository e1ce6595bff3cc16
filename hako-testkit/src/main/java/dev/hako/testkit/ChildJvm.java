package dev.hako.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The start of a command line for a test's child JVM on the class path, with the options every hako JVM needs:
 * native access for the FFM gateways, and {@code jdk.internal.misc} for the soft CPU's RAM accesses (the
 * {@code ./hako} launcher and the build pass the same).
 */
public final class ChildJvm {
    private ChildJvm() {}

    /** {@code java}, hako's options, then {@code options}. */
    public static List<String> command(String... options) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"));
        command.addAll(List.of(options));
        return command;
    }
}
