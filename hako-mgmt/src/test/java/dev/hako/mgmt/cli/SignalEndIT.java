package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.KernelModules;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code hako run} ends in order on SIGTERM, as QEMU does ("terminating on signal 15"): a busybox guest on Debian's
 * kernel writes a new qcow2 disk, once flushed, then eight blocks with O_DIRECT and no flush (their clusters'
 * mapping is then only in hako's metadata cache), and the process gets SIGTERM (or SIGHUP). It must end with 128 +
 * the signal's number, {@code qemu-img check} must find the image clean, and every block must be in it. The same
 * for the guest as a VM of {@code hako serve} and the server's SIGTERM.
 */
class SignalEndIT {
    private static final long BOOT_SECONDS = 300;
    private static final String SYNCED = "SYNCED-BY-THE-GUEST!", UNFLUSHED = "WRITTEN-NOT-FLUSHED!";
    private static final int SYNCED_BLOCK = 100, UNFLUSHED_BLOCKS = 8, UNFLUSHED_STRIDE = 1000;

    /**
     * The guest's init: a block through the page cache, flushed by dd's fsync; then blocks with O_DIRECT and no
     * flush (their clusters' mapping is then only in hako's metadata cache); then it idles.
     */
    private static final String INIT = """
            n=0; while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
            echo -n %s > /tmp/a; dd if=/tmp/a of=/dev/vda bs=4096 seek=%d conv=sync,notrunc,fsync 2>/dev/null
            echo -n %s > /tmp/b
            for i in $(seq 1 %d); do
                dd if=/tmp/b of=/dev/vda bs=4096 seek=$((i*%d)) conv=sync,notrunc oflag=direct 2>/dev/null
            done
            echo WRITTEN-$((6*7))
            while true; do sleep 1; done
            """.formatted(SYNCED, SYNCED_BLOCK, UNFLUSHED, UNFLUSHED_BLOCKS, UNFLUSHED_STRIDE);

    @TempDir
    Path work;

    /** SIGTERM and SIGHUP (SIGINT is the same to the JVM, but a test runner may start its children ignoring it). */
    @ParameterizedTest
    @CsvSource({"TERM, 15", "HUP, 1"})
    void aTerminatingSignalToHakoRunStopsTheGuestAndFlushesAndClosesItsDisks(String signal, int number)
            throws Exception {
        Path image = newImage();
        Process hako = start(HakoProcess.command(List.of(), "run", "--accel", "soft", "--kernel",
                packages().debianKernel().toString(), "--initrd", initrd().toString(), "--append", CMDLINE,
                "--memory", "128M", "--disk", image + ",format=qcow2"));
        StringBuffer out = new StringBuffer();
        StringBuffer err = new StringBuffer();
        HakoProcess.collect(hako.getInputStream(), out);
        HakoProcess.collect(hako.getErrorStream(), err);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOOT_SECONDS);
            while (!out.toString().contains("WRITTEN-42") && hako.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(out.toString()).as("the guest's console; hako said: %s", err).contains("WRITTEN-42");
            terminate(hako, signal, number, err);
        } finally {
            hako.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        assertEveryBlockIn(image);
        assertThat(err.toString()).contains("hako: terminating").doesNotContain("Exception");
    }

    /** The same guest as a VM of {@code hako serve}: the server's SIGTERM stops every VM and closes its disks. */
    @Test
    void sigtermToHakoServeFlushesAndClosesEveryVmsDisks() throws Exception {
        Path image = newImage();
        Path socket = work.resolve("hako.sock");
        Process server = start(HakoProcess.command(List.of(), "serve", "--socket", socket.toString(), "--state",
                work.resolve("state").toString()));
        StringBuffer err = new StringBuffer();
        HakoProcess.collect(server.getInputStream(), err);
        HakoProcess.collect(server.getErrorStream(), err);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!err.toString().contains("serving") && server.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            CliResult created = vm(socket, "create", "data", "--accel", "soft", "--kernel",
                    packages().debianKernel().toString(), "--initrd", initrd().toString(), "--append", CMDLINE,
                    "--memory", "128M", "--disk", image + ",format=qcow2");
            assertThat(created.status()).as(created.err()).isZero();
            assertThat(vm(socket, "start", "data").status()).isZero();
            long written = (1 + UNFLUSHED_BLOCKS) * 4096L;
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOOT_SECONDS);
            while (diskBytesWritten(socket) < written) {
                assertThat(System.nanoTime()).as("the guest's writes; the server said: %s", err).isLessThan(deadline);
                Thread.sleep(500);
            }
            terminate(server, "TERM", 15, err);
        } finally {
            server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        assertEveryBlockIn(image);
        assertThat(err.toString()).contains("hako: VM data stopped").doesNotContain("Exception");
    }

    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";

    private static DebianPackages packages() {
        return DebianPackages.inDefaultCache();
    }

    /** The busybox initramfs with virtio-blk's modules, running {@link #INIT}. */
    private Path initrd() throws Exception {
        Path initrd = work.resolve("initrd.cpio");
        if (!Files.exists(initrd)) {
            KernelModules modules = KernelModules.of(packages(), KernelModules.VIRTIO_BLK);
            Files.write(initrd, DefaultGuest.initramfs(packages().busybox(), modules.initPrologue() + INIT,
                    modules.files()));
        }
        return initrd;
    }

    private Path newImage() throws Exception {
        Path image = work.resolve("data.qcow2");
        assertThat(host("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "64M")).isZero();
        return image;
    }

    private static Process start(List<String> command) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("LC_ALL", "C.UTF-8");
        return builder.start();
    }

    /** Sends SIG{@code signal}; hako must end with 128 + its {@code number}. */
    private static void terminate(Process hako, String signal, int number, StringBuffer err) throws Exception {
        assertThat(host("kill", "-" + signal, Long.toString(hako.pid()))).isZero();
        assertThat(hako.waitFor(60, TimeUnit.SECONDS)).as("hako ended after SIG%s", signal).isTrue();
        System.out.println("SignalEndIT: after SIG" + signal + " hako said:\n" + err);
        assertThat(hako.exitValue()).as("hako's status after SIG%s; it said: %s", signal, err)
                .isEqualTo(128 + number);
    }

    /** qemu-img finds {@code image} clean, and every block the guest wrote is in it. */
    private void assertEveryBlockIn(Path image) throws Exception {
        assertThat(host("qemu-img", "check", "-q", "-f", "qcow2", image.toString())).as("qemu-img check").isZero();
        Path raw = work.resolve("data.raw");
        assertThat(host("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString()))
                .isZero();
        assertThat(block(raw, SYNCED_BLOCK, SYNCED.length())).isEqualTo(SYNCED);
        for (int i = 1; i <= UNFLUSHED_BLOCKS; i++) {
            assertThat(block(raw, i * UNFLUSHED_STRIDE, UNFLUSHED.length())).as("unflushed block %d", i)
                    .isEqualTo(UNFLUSHED);
        }
    }

    private static long diskBytesWritten(Path socket) throws Exception {
        CliResult shown = vm(socket, "show", "data", "--json");
        assertThat(shown.status()).as(shown.err()).isZero();
        return new ObjectMapper().readTree(shown.out()).path("usage").path("disk_bytes_written").asLong();
    }

    private static CliResult vm(Path socket, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("vm"));
        all.addAll(List.of(args));
        all.addAll(List.of("--socket", socket.toString()));
        return HakoProcess.run(HakoProcess.command(List.of(), all.toArray(String[]::new)), new byte[0], 60);
    }

    private static String block(Path raw, long block, int length) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(raw.toFile(), "r")) {
            byte[] bytes = new byte[length];
            file.seek(block * 4096);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.US_ASCII);
        }
    }

    /** Runs a host command, its output on this test's; returns its status. */
    private static int host(String... command) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of(command));
        Process p = new ProcessBuilder(args).inheritIO().start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(args + " did not end");
        }
        return p.exitValue();
    }
}
