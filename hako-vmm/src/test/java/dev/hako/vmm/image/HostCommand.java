package dev.hako.vmm.image;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A host program run to its end for a test: "STATUS:OUTPUT" (stdout and stderr), found in the sbin directories too. */
final class HostCommand {
    private static final long TIMEOUT_SECONDS = 120;

    private HostCommand() {
    }

    static String run(String... command) throws Exception {
        List<String> argv = new ArrayList<>(List.of(command));
        HostTools.ofThisProcess().find(command[0]).ifPresent(p -> argv.set(0, p.toString()));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "timeout:" + output;
        }
        return p.exitValue() + ":" + output;
    }
}
