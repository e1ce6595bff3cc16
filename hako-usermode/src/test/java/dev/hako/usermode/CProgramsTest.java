package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * C programs (test resources) built by the host's gcc with {@code -static} at -O0 and -O2 print under user
 * mode exactly what they print natively, and exit with the same status.
 */
class CProgramsTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> programs() {
        return Stream.of("arith", "floats", "control", "strings", "smc")
                .flatMap(p -> Stream.of(Arguments.of(p, "-O0"), Arguments.of(p, "-O2")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("programs")
    void matchesNativeRun(String program, String optimization) throws Exception {
        Path binary = compile(program, optimization);
        GuestRun.Result expected = GuestRun.hostRun(dir, null, binary.toString());
        GuestRun.Result actual = GuestRun.hako(dir, null, binary.toString());
        assertThat(actual.messages()).as("hako messages").isEmpty();
        assertThat(actual.out()).isEqualTo(expected.out());
        assertThat(actual.status()).isEqualTo(expected.status());
    }

    private static Path compile(String program, String optimization) throws IOException, InterruptedException {
        Path source = dir.resolve(program + ".c");
        if (!Files.exists(source)) {
            try (InputStream in = CProgramsTest.class.getResourceAsStream("c/" + program + ".c")) {
                assertThat(in).as("resource c/%s.c", program).isNotNull();
                Files.copy(in, source);
            }
        }
        Path binary = dir.resolve(program + optimization);
        GuestRun.command(dir, "gcc", "-static", optimization, "-o", binary.toString(), source.toString(), "-lm");
        return binary;
    }
}
