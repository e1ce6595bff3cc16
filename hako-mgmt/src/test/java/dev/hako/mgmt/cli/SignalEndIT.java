package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

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

/**
 * {@code hako run} ends in order on SIGTERM, as QEMU does ("terminating on signal 15"): a busybox guest on Debian's
 * kernel writes a new qcow2 disk, once flushed, then eight blocks with O_DIRECT and no flush (their clusters'
 * mapping is then only in hako's metadata cache), and the process gets SIGTERM. It must end with status
 * 143 (128 + 15), {@code qemu-img check} must find the image clean, and every block must be in it.
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

    @Test
    void sigtermStopsTheGuestAndFlushesAndClosesItsDisks() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        KernelModules modules = KernelModules.of(packages, KernelModules.VIRTIO_BLK);
        Path initrd = work.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), modules.initPrologue() + INIT,
                modules.files()));
        Path image = work.resolve("data.qcow2");
        assertThat(host("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), "64M")).isZero();
        ProcessBuilder builder = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--accel", "soft",
                "--kernel", packages.debianKernel().toString(), "--initrd", initrd.toString(), "--append",
                "console=ttyS0 rdinit=/init panic=-1 quiet", "--memory", "128M", "--disk", image + ",format=qcow2"));
        builder.environment().put("LC_ALL", "C.UTF-8");
        Process hako = builder.start();
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
            assertThat(host("kill", "-TERM", Long.toString(hako.pid()))).isZero();
            assertThat(hako.waitFor(60, TimeUnit.SECONDS)).as("hako ended after SIGTERM").isTrue();
            System.out.println("SignalEndIT: hako said:\n" + err);
            assertThat(hako.exitValue()).as("hako's status after SIGTERM; it said: %s", err).isEqualTo(128 + 15);
        } finally {
            hako.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
        assertThat(host("qemu-img", "check", "-q", "-f", "qcow2", image.toString())).as("qemu-img check").isZero();
        Path raw = work.resolve("data.raw");
        assertThat(host("qemu-img", "convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString()))
                .isZero();
        assertThat(block(raw, SYNCED_BLOCK, SYNCED.length())).isEqualTo(SYNCED);
        for (int i = 1; i <= UNFLUSHED_BLOCKS; i++) {
            assertThat(block(raw, i * UNFLUSHED_STRIDE, UNFLUSHED.length())).as("unflushed block %d", i)
                    .isEqualTo(UNFLUSHED);
        }
        assertThat(err.toString()).contains("hako: terminating").doesNotContain("Exception");
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
