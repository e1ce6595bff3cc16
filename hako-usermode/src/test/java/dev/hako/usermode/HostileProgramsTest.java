package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.testkit.CPrograms;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Programs that try to exhaust or wedge hako user (hako-testkit's {@code hostile.c}) end in bounded time with a
 * clear answer: a fork bomb meets EAGAIN at the process bound, a thread left spinning does not keep hako user
 * running past the initial process, and a forged rt_sigreturn frame kills the process with SIGSEGV as Linux does.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostileProgramsTest {
    @TempDir
    static Path dir;
    static Path binary;

    @BeforeAll
    static void build() throws Exception {
        binary = CPrograms.compile(dir, "hostile", "-static -O2");
    }

    @Test
    void forkBombMeetsEagain() throws Exception {
        GuestRun.Result r = GuestRun.hako(dir, null, binary.toString(), "forkbomb");
        assertThat(r.out()).isEqualTo("fork failed: EAGAIN\n");
        assertThat(r.status()).isZero();
        assertThat(r.messages()).isEmpty();
    }

    @Test
    void spinningThreadDoesNotOutliveTheProcess() throws Exception {
        GuestRun.Result r = GuestRun.hako(dir, null, binary.toString(), "spin");
        assertThat(r.out()).isEqualTo("main returns with a thread spinning\n");
        assertThat(r.status()).isEqualTo(5);
    }

    @Test
    void badSigreturnFrameIsSigsegvAsNatively() throws Exception {
        GuestRun.Result expected = GuestRun.hostRun(dir, null, binary.toString(), "badframe");
        GuestRun.Result actual = GuestRun.hako(dir, null, binary.toString(), "badframe");
        assertThat(expected.status()).isEqualTo(128 + 11);
        assertThat(actual.status()).isEqualTo(expected.status());
        assertThat(actual.out()).isEqualTo(expected.out());
        assertThat(actual.messages()).contains("rt_sigreturn with a bad frame");
    }
}
