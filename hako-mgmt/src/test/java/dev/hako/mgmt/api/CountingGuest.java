package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The default guest counting on its serial console (C1, C2, ... every 0.2 s), and the counts in its output. */
final class CountingGuest {
    /** What to type into the guest's shell. */
    static final String LOOP = "i=0; while true; do i=$((i+1)); echo C$i; sleep 0.2; done\n";
    private static final Pattern COUNT = Pattern.compile("C(\\d+)\\r?\\n");

    /** The longest the default guest may take to boot on the soft CPU to its shell on a busy CI machine. */
    private static final long BOOT_SECONDS = 300;

    private CountingGuest() {}

    /**
     * Defines VM {@code name} (the default guest, 128 MiB, soft CPU) in {@code api}, starts it, and once its shell
     * runs makes it count until C{@code upTo}. Returns its console and where the count's output starts in it.
     */
    static Started start(ApiFixture api, String name, int upTo) throws Exception {
        assertThat(api.unix("PUT", "/vms/" + name, "{\"memory_mib\": 128, \"accel\": \"soft\"}").status())
                .isEqualTo(201);
        assertThat(api.unix("POST", "/vms/" + name + "/start", null).status()).isEqualTo(200);
        ConsoleViewer console = ConsoleViewer.open(api.overSocket, name);
        int from = console.await(Pattern.compile("built-in shell"), 0, BOOT_SECONDS).end();
        console.type(LOOP);
        console.await(Pattern.compile("C" + upTo + "\\r?\\n"), from, 60);
        return new Started(console, from);
    }

    /** A counting guest's console, and the offset in it after the shell's banner. */
    record Started(ConsoleViewer console, int from) {}

    static int lastCount(String output) {
        List<Integer> counts = counts(output);
        assertThat(counts).as("counts in %s", output).isNotEmpty();
        return counts.getLast();
    }

    static List<Integer> counts(String output) {
        List<Integer> counts = new ArrayList<>();
        Matcher m = COUNT.matcher(output);
        while (m.find()) {
            counts.add(Integer.parseInt(m.group(1)));
        }
        return counts;
    }

    /** Checks that {@code output} holds every count from 1 on exactly once, in order. */
    static void assertEveryCountOnce(String output, String what) {
        List<Integer> counts = counts(output);
        assertThat(counts).as(what).startsWith(1, 2, 3);
        for (int i = 0; i < counts.size(); i++) {
            assertThat(counts.get(i)).as("%s: count number %d of %s", what, i, counts).isEqualTo(i + 1);
        }
    }
}
