package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.testkit.CPrograms;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * C programs (hako-testkit's {@link CPrograms}) built by the host's gcc with {@code -static} at -O0 and -O2
 * print under user mode exactly what they print natively (also as static-pie), and exit with the same status.
 */
class CProgramsTest {
    @TempDir
    static Path dir;

    static Stream<Arguments> programs() {
        return Stream.concat(Stream.of("arith", "floats", "control", "strings", "smc", "mmx", "threads",
                        "processes", "signals")
                .flatMap(p -> Stream.of(Arguments.of(p, "-static -O0"), Arguments.of(p, "-static -O2"))),
                Stream.of(Arguments.of("control", "-static-pie -O2"), Arguments.of("floats", "-static-pie -O2"),
                        Arguments.of("vectorized", "-static -O3")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("programs")
    void matchesNativeRun(String program, String optimization) throws Exception {
        Path binary = CPrograms.compile(dir, program, optimization);
        GuestRun.Result expected = GuestRun.hostRun(dir, null, binary.toString());
        GuestRun.Result actual = GuestRun.hako(dir, null, binary.toString());
        assertThat(actual.messages()).as("hako messages").isEmpty();
        assertThat(actual.out()).isEqualTo(expected.out());
        assertThat(actual.status()).isEqualTo(expected.status());
    }

    @org.junit.jupiter.api.Test
    void int1EndsTheProcessWithSigtrap() throws Exception {
        Path binary = CPrograms.compile(dir, "int1", "-static -O2");
        GuestRun.Result expected = GuestRun.hostRun(dir, null, binary.toString());
        GuestRun.Result actual = GuestRun.hako(dir, null, binary.toString());
        int sigtrap = 5;
        assertThat(expected.status()).as("native status").isEqualTo(128 + sigtrap);
        assertThat(actual.status()).isEqualTo(expected.status());
        assertThat(actual.out()).isEqualTo(expected.out()).isEqualTo("before int1\n");
        assertThat(actual.messages()).contains("#DB");
    }
}
