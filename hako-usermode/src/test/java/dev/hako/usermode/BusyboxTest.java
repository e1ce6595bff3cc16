package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Debian's busybox-static applets under user mode print byte for byte what they print natively and exit
 * with the same status, over generated input files.
 */
class BusyboxTest {
    @TempDir
    static Path dir;
    static Path busybox, binary, text, numbers;

    @BeforeAll
    static void setUp() throws Exception {
        busybox = Busybox.binary();
        Random random = new Random(42);
        byte[] bytes = new byte[96 * 1024];
        random.nextBytes(bytes);
        binary = dir.resolve("random.bin");
        Files.write(binary, bytes);
        String[] words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"};
        StringBuilder sb = new StringBuilder();
        StringBuilder nums = new StringBuilder();
        for (int line = 0; line < 3000; line++) {
            sb.append(words[random.nextInt(words.length)]).append(' ').append(random.nextInt(100000)).append(' ')
                    .append(words[random.nextInt(words.length)].toUpperCase()).append('\n');
            nums.append(random.nextInt(2000) - 1000).append('\n');
        }
        text = dir.resolve("words.txt");
        Files.writeString(text, sb, StandardCharsets.US_ASCII);
        numbers = dir.resolve("numbers.txt");
        Files.writeString(numbers, nums, StandardCharsets.US_ASCII);
    }

    static Stream<Arguments> applets() {
        return Stream.of(
                Arguments.of("sha256sum", List.of("sha256sum", "$BIN")),
                Arguments.of("md5sum", List.of("md5sum", "$BIN", "$TEXT")),
                Arguments.of("gzip", List.of("gzip", "-c", "$TEXT")),
                Arguments.of("sort", List.of("sort", "$TEXT")),
                Arguments.of("sort -n -r", List.of("sort", "-n", "-r", "$NUMS")),
                Arguments.of("sort -k2n", List.of("sort", "-k2n", "$TEXT")),
                Arguments.of("sed", List.of("sed", "-e", "s/\\([a-z]*\\) \\([0-9]*\\)/\\2:\\1/", "-e", "/^9/d", "$TEXT")),
                Arguments.of("awk", List.of("awk", "{ n[$1]++; s += $2 } END { for (w in n) k++;"
                        + " printf \"%d words, sum %d, mean %.3f\\n\", k, s, s / NR }", "$TEXT")),
                Arguments.of("awk integers", List.of("awk", "$2 % 7 == 3 { c++; x = x + $2 * 3 } END { print c, x }",
                        "$TEXT")),
                Arguments.of("wc", List.of("wc", "$TEXT", "$BIN")),
                Arguments.of("od", List.of("od", "-A", "x", "-t", "x1z", "$BIN")),
                Arguments.of("base64", List.of("base64", "$BIN")),
                Arguments.of("tr", List.of("tr", "a-z0-9", "A-Z9876543210", "<$TEXT")),
                Arguments.of("uniq", List.of("uniq", "-c", "$SORTED")),
                Arguments.of("cut", List.of("cut", "-d", " ", "-f", "3,1", "$TEXT")),
                Arguments.of("grep", List.of("grep", "-c", "alpha", "$TEXT")),
                Arguments.of("grep no match", List.of("grep", "nothing-matches-this", "$TEXT")),
                Arguments.of("cmp differing", List.of("cmp", "$TEXT", "$BIN")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("applets")
    void appletMatchesNative(String name, List<String> args) throws Exception {
        Path sorted = dir.resolve("sorted.txt");
        if (!Files.exists(sorted)) {
            List<String> lines = new ArrayList<>(Files.readAllLines(text));
            lines.replaceAll(l -> l.substring(0, l.indexOf(' ')));
            lines.sort(null);
            Files.write(sorted, lines);
        }
        List<String> argv = new ArrayList<>();
        argv.add(busybox.toString());
        Path stdin = null;
        for (String a : args) {
            String v = a.replace("$BIN", binary.toString()).replace("$TEXT", text.toString())
                    .replace("$NUMS", numbers.toString()).replace("$SORTED", sorted.toString());
            if (v.startsWith("<")) {
                stdin = Path.of(v.substring(1));
            } else {
                argv.add(v);
            }
        }
        String[] command = argv.toArray(new String[0]);
        GuestRun.Result expected = GuestRun.hostRun(dir, stdin, command);
        GuestRun.Result actual = GuestRun.hako(dir, stdin, command);
        assertThat(actual.messages()).as("hako messages").isEmpty();
        assertThat(actual.stdout()).as("stdout of %s", name).isEqualTo(expected.stdout());
        assertThat(actual.status()).as("exit status of %s", name).isEqualTo(expected.status());
    }

    /** Shell command lines that fork, exec, pipe and wait: applets reached through a PATH of busybox links. */
    static Stream<Arguments> scripts() {
        return Stream.of(
                Arguments.of("pipeline", "cat $TEXT | cut -d ' ' -f 1 | sort | uniq -c | sort -rn"),
                Arguments.of("command substitution", "echo lines=$(wc -l < $TEXT) words=`cat $TEXT | wc -w`"),
                Arguments.of("xargs", "seq 1 25 | xargs -n 4 echo | tr ' ' ,"),
                Arguments.of("exit statuses", "false; echo $?; sh -c 'exit 3'; echo $?; sh -c 'kill -9 $$'; echo $?"),
                Arguments.of("early reader exit", "yes | head -n 3; seq 1 100000 | head -n 2"),
                Arguments.of("trap", "trap 'echo caught USR1' USR1; kill -USR1 $$; echo after"),
                Arguments.of("background and wait", "(sleep 0.1; echo late) & echo early; wait; echo waited $?"),
                Arguments.of("find -exec", "find $DIR -maxdepth 1 -name 'words*' -exec wc -l {} \\; -exec echo found {} +"),
                Arguments.of("#! script", "$DIR/bin/script.sh one 'two words'; echo status $?"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scripts")
    void shellScriptMatchesNative(String name, String script) throws Exception {
        Path bin = dir.resolve("bin");
        if (!Files.isDirectory(bin)) {
            Files.createDirectories(bin);
            for (String applet : List.of("sh", "cat", "cut", "sort", "uniq", "wc", "seq", "xargs", "echo", "tr",
                    "false", "yes", "head", "sleep", "find", "kill")) {
                Files.createSymbolicLink(bin.resolve(applet), busybox);
            }
            Path shebang = bin.resolve("script.sh");
            Files.writeString(shebang, "#!" + bin.resolve("sh") + " -e\necho \"script $0 got $# args: $2\"\nexit 4\n");
            shebang.toFile().setExecutable(true);
        }
        String line = "PATH=" + bin + "; " + script.replace("$TEXT", text.toString()).replace("$DIR", dir.toString());
        String[] command = {busybox.toString(), "sh", "-c", line};
        GuestRun.Result expected = GuestRun.hostRun(dir, null, command);
        GuestRun.Result actual = GuestRun.hako(dir, null, command);
        assertThat(actual.messages()).as("hako messages").isEmpty();
        assertThat(actual.out()).as("stdout of %s", name).isEqualTo(expected.out());
        assertThat(actual.stderr()).as("stderr of %s", name).isEqualTo(expected.stderr());
        assertThat(actual.status()).as("exit status of %s", name).isEqualTo(expected.status());
    }

    @Test
    void gzipRoundTripUnderHako() throws Exception {
        GuestRun.Result packed = GuestRun.hako(dir, text, busybox.toString(), "gzip", "-9", "-c");
        assertThat(packed.status()).isZero();
        Path gz = dir.resolve("words.gz");
        Files.write(gz, packed.stdout());
        GuestRun.Result unpacked = GuestRun.hako(dir, gz, busybox.toString(), "gunzip", "-c");
        assertThat(unpacked.status()).isZero();
        assertThat(unpacked.stdout()).isEqualTo(Files.readAllBytes(text));
    }

    @Test
    void rootDirectoryConfinesNames() throws Exception {
        Path root = dir.resolve("root");
        Files.createDirectories(root.resolve("bin"));
        Files.copy(busybox, root.resolve("bin/busybox"));
        Files.writeString(root.resolve("hello.txt"), "inside\n");
        GuestRun.Result cat = GuestRun.hako(dir, null, root, "/bin/busybox", "cat", "/hello.txt",
                "../../../hello.txt");
        assertThat(cat.out()).isEqualTo("inside\ninside\n");
        GuestRun.Result pwd = GuestRun.hako(dir, null, root, "/bin/busybox", "sh", "-c", "cd /bin && pwd && cd .. && ls");
        assertThat(pwd.out()).isEqualTo("/bin\nbin\nhello.txt\n");
        GuestRun.Result exe = GuestRun.hako(dir, null, root, "/bin/busybox", "readlink", "/proc/self/exe");
        assertThat(exe.out()).isEqualTo("/bin/busybox\n");
    }

    @Test
    void exitStatusAndStderrPassThrough() throws Exception {
        GuestRun.Result r = GuestRun.hako(dir, null, busybox.toString(), "sh", "-c", "echo oops >&2; exit 7");
        assertThat(r.status()).isEqualTo(7);
        assertThat(r.stderr()).isEqualTo("oops\n");
        GuestRun.Result missing = GuestRun.hako(dir, null, busybox.toString(), "cat", dir.resolve("absent").toString());
        assertThat(missing.status()).isEqualTo(1);
        assertThat(missing.stderr()).contains("No such file or directory");
    }
}
