package dev.hako.vmm.sched;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.sys.ThreadCpuClock;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The dispatcher's view of a vCPU thread's CPU time: another thread's clock read by its kernel id agrees with
 * the JVM's own ThreadMXBean, a blocked thread's clock stands still, an ended thread's cannot be read; and what a
 * read costs against ThreadMXBean (printed, as the dispatcher does one per throttle check).
 */
class ThreadCpuClockTest {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    @Test
    void anotherThreadsClockAdvancesWhileItRunsOnlyAndEndsWithIt() throws Exception {
        AtomicInteger tid = new AtomicInteger();
        CountDownLatch spun = new CountDownLatch(1), measured = new CountDownLatch(1);
        Thread worker = Thread.ofPlatform().start(() -> {
            tid.set(ThreadCpuClock.currentThreadId());
            long end = System.nanoTime() + 200_000_000;
            long x = 0;
            while (System.nanoTime() < end) {
                x += x * 31 + 7;
            }
            spun.countDown();
            try {
                measured.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (x == 42) {
                System.out.print("");
            }
        });
        spun.await();
        ThreadCpuClock clock = new ThreadCpuClock();
        long ours = clock.nanos(tid.get());
        long jvms = THREADS.getThreadCpuTime(worker.threadId());
        assertThat(ours).isBetween(100_000_000L, 400_000_000L);
        assertThat(Math.abs(ours - jvms)).isLessThan(20_000_000L);
        Thread.sleep(100);
        assertThat(clock.nanos(tid.get()) - ours).as("a blocked thread's clock").isLessThan(5_000_000L);

        int reads = 200_000;
        long start = System.nanoTime();
        for (int i = 0; i < reads; i++) {
            clock.nanos(tid.get());
        }
        long ownNanos = (System.nanoTime() - start) / reads;
        start = System.nanoTime();
        for (int i = 0; i < reads; i++) {
            THREADS.getThreadCpuTime(worker.threadId());
        }
        long mxNanos = (System.nanoTime() - start) / reads;
        System.out.printf("a read of another thread's CPU clock: clock_gettime %d ns, ThreadMXBean %d ns%n",
                ownNanos, mxNanos);

        measured.countDown();
        worker.join();
        long deadline = System.nanoTime() + 2_000_000_000L; // join returns before the kernel thread is gone
        while (clock.nanos(tid.get()) >= 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(clock.nanos(tid.get())).as("an ended thread").isEqualTo(-1);
    }
}
