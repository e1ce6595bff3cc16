package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.mgmt.cli.HakoProcess;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.BundleDisk;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.KernelModules;
import dev.hako.vmm.image.disk.DiskFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot with overlay, as QEMU's external snapshots take one: Debian's kernel with busybox on the soft CPU writes
 * a sector of its qcow2 disk, the server snapshots it with {@code "overlay": true}, and the guest goes on to
 * overwrite that sector and write another; a plain snapshot and a second one with overlay follow. Then: qemu-img
 * finds every file clean and shows the chain of three; the frozen image holds the snapshot point's disk (what came
 * after is only in the overlay); the VM's stored definition names the last overlay; an overlay name that exists is a
 * 400 and the VM runs on; a restore asked to write the frozen image in place is a 400; and {@code hako run --restore}
 * in a new process runs on an overlay of its own, reads the snapshot point's sector from the disk (page cache
 * dropped) and writes, leaving the frozen image as it was. A VM that writes its bundle's disk is refused an
 * overlay (its definition names the bundle, not the disk) and runs on.
 */
class SnapshotOverlayIT {
    /**
     * Writes sector 8, waits 3 s of guest time (the snapshot comes then), reads it back from the disk, writes on.
     * dd's fsync flushes the disk (sync(1) alone does not flush a raw block device's writes), as the restored
     * process is killed without closing its images.
     */
    private static final String INIT = """
            n=0; while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
            echo -n BEFORE-THE-SNAPSHOT > /tmp/a; dd if=/tmp/a of=/dev/vda bs=512 seek=8 conv=sync,fsync 2>/dev/null
            sync; echo WROTE-A
            sleep 3
            sync; echo 3 > /proc/sys/vm/drop_caches
            echo "READ $(dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 19)"
            echo -n AFTER-THE-SNAPSHOT! > /tmp/b; dd if=/tmp/b of=/dev/vda bs=512 seek=8 conv=sync,fsync 2>/dev/null
            dd if=/tmp/b of=/dev/vda bs=512 seek=16 conv=sync,fsync 2>/dev/null
            sync; echo WROTE-B
            while true; do sleep 1; done
            """;
    private static final Pattern WROTE_A = Pattern.compile("WROTE-A\\r?\\n");
    private static final Pattern WROTE_B = Pattern.compile("WROTE-B\\r?\\n");

    @TempDir
    Path state;

    @Test
    void theSnapshotPointsDiskIsFrozenAndEveryRunGoesOnWithAnOverlayOfItsOwn() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        KernelModules modules = KernelModules.of(packages, KernelModules.VIRTIO_BLK);
        Path initrd = state.resolve("initrd.cpio");
        Files.write(initrd, DefaultGuest.initramfs(packages.busybox(), modules.initPrologue() + INIT,
                modules.files()));
        Path image = state.resolve("disk.qcow2");
        Path overlay = state.resolve("disk.snap");
        Path snapshot = state.resolve("snap");
        qemuImg("create", "-q", "-f", "qcow2", image.toString(), "8M");

        try (ApiFixture api = new ApiFixture(state)) {
            String definition = """
                    {"kernel": "%s", "initrd": "%s", "cmdline": "console=ttyS0 rdinit=/init panic=-1 quiet",
                     "memory_mib": 128, "accel": "soft", "disks": [{"path": "%s", "format": "qcow2"}]}"""
                    .formatted(packages.debianKernel(), initrd, image);
            assertThat(api.unix("PUT", "/vms/frozen", definition).status()).isEqualTo(201);
            assertThat(api.unix("POST", "/vms/frozen/start", null).status()).isEqualTo(200);
            try (ConsoleViewer console = ConsoleViewer.open(api.overSocket, "frozen")) {
                int wroteA = console.await(WROTE_A, 0, 300).end();
                long begin = System.nanoTime();
                ApiFixture.Answer taken = api.unix("POST", "/vms/frozen/snapshot",
                        "{\"dir\": \"" + snapshot + "\", \"overlay\": true}");
                long overlayNanos = System.nanoTime() - begin;
                assertThat(taken.status()).as(taken.body()).isEqualTo(200);
                assertThat(taken.json().path("state").asText()).isEqualTo("running");
                assertThat(console.output().substring(wroteA)).as("the snapshot came before the guest read")
                        .doesNotContain("READ");
                console.await(WROTE_B, wroteA, 60);
                begin = System.nanoTime();
                assertThat(api.unix("POST", "/vms/frozen/snapshot", "{\"dir\": \"" + state.resolve("plain")
                        + "\"}").status()).isEqualTo(200);
                long plainNanos = System.nanoTime() - begin;
                begin = System.nanoTime();
                assertThat(api.unix("POST", "/vms/frozen/snapshot", "{\"dir\": \"" + state.resolve("snap2")
                        + "\", \"overlay\": true}").status()).isEqualTo(200);
                System.out.printf("snapshot of the 128 MiB guest through the API: %.1f ms with an overlay (the "
                        + "server's first), then %.1f ms without, %.1f ms with a second overlay%n",
                        overlayNanos / 1e6, plainNanos / 1e6, (System.nanoTime() - begin) / 1e6);
                assertThat(console.output()).contains("READ BEFORE-THE-SNAPSHOT");

                ApiFixture.Answer again = api.unix("POST", "/vms/frozen/snapshot",
                        "{\"dir\": \"" + snapshot + "\", \"overlay\": true}");
                assertThat(again.status()).as(again.body()).isEqualTo(400);
                assertThat(again.json().path("field").asText()).isEqualTo("overlay");
                assertThat(again.json().path("message").asText()).contains("overlay " + overlay + " for disk")
                        .contains("exists").doesNotContain("\n");
                assertThat(api.unix("GET", "/vms/frozen", null).json().path("state").asText()).isEqualTo("running");
            }
            assertThat(api.unix("POST", "/vms/frozen/stop", null).status()).isEqualTo(200);
            assertThat(Files.readString(state.resolve("frozen.json"))).as("the definition names the last overlay")
                    .contains(state.resolve("disk.snap2").toString()).doesNotContain(image.toString())
                    .doesNotContain(overlay + "\"");

            ApiFixture.Answer inPlace = api.unix("POST", "/vms/frozen/restore",
                    "{\"dir\": \"" + snapshot + "\", \"overlay\": false}");
            assertThat(inPlace.status()).as(inPlace.body()).isEqualTo(400);
            assertThat(inPlace.json().path("message").asText()).contains("froze its disks");
            System.out.println(api.logBytes.toString(StandardCharsets.UTF_8).lines()
                    .filter(l -> l.contains("froze")).findFirst().orElse("(no log line)"));
        }

        qemuImg("check", image.toString());
        qemuImg("check", overlay.toString());
        qemuImg("check", state.resolve("disk.snap2").toString());
        assertThat(qemuImg("info", "--backing-chain", state.resolve("disk.snap2").toString()))
                .contains("image: " + state.resolve("disk.snap2")).contains("backing file: disk.snap")
                .contains("image: " + overlay).contains("backing file: disk.qcow2")
                .contains("backing file format: qcow2").contains("image: " + image);
        assertThat(sector(image, 8)).isEqualTo("BEFORE-THE-SNAPSHOT");
        assertThat(sector(image, 16)).as("written after the snapshot point").isEqualTo("\0".repeat(19));
        assertThat(sector(overlay, 8)).isEqualTo("AFTER-THE-SNAPSHOT!");
        assertThat(sector(overlay, 16)).isEqualTo("AFTER-THE-SNAPSHOT!");

        Process hako = new ProcessBuilder(HakoProcess.command(List.of(), "run", "--restore", snapshot.toString()))
                .start();
        StringBuffer out = new StringBuffer(), err = new StringBuffer();
        HakoProcess.collect(hako.getInputStream(), out);
        HakoProcess.collect(hako.getErrorStream(), err);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!WROTE_B.matcher(out).find() && hako.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(out.toString()).as("the restored guest; hako said: %s", err).contains("READ BEFORE-THE-SNAPSHOT")
                    .containsPattern(WROTE_B);
        } finally {
            hako.destroy();
            assertThat(hako.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        Path restored = state.resolve("disk.snap-restore-1");
        assertThat(err.toString()).contains("runs on the new overlay " + restored + " over " + image);
        qemuImg("check", restored.toString());
        assertThat(sector(restored, 8)).isEqualTo("AFTER-THE-SNAPSHOT!");
        assertThat(sector(image, 8)).as("the restore left the frozen image alone").isEqualTo("BEFORE-THE-SNAPSHOT");
        qemuImg("check", image.toString());
    }

    @Test
    void aBundlesOwnDiskIsNotFrozenForTheDefinitionCannotNameItsOverlay() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path bundle = Files.createDirectory(state.resolve("bundle"));
        Files.copy(packages.debianKernel(), bundle.resolve("vmlinuz"));
        Files.copy(DefaultGuest.cachedInitramfs(packages), bundle.resolve("initrd.img"));
        Files.write(bundle.resolve("disk.raw"), new byte[1 << 20]);
        new Bundle(bundle, "vmlinuz", "initrd.img", DefaultGuest.CMDLINE, new BundleDisk("disk.raw", DiskFormat.RAW),
                128, 1, new LinkedHashMap<>()).write();
        try (ApiFixture api = new ApiFixture(state)) {
            assertThat(api.unix("PUT", "/vms/bundled", "{\"bundle\": \"" + bundle + "\", \"accel\": \"soft\"}")
                    .status()).isEqualTo(201);
            assertThat(api.unix("POST", "/vms/bundled/start", null).status()).isEqualTo(200);
            ApiFixture.Answer refused = api.unix("POST", "/vms/bundled/snapshot",
                    "{\"dir\": \"" + state.resolve("snap") + "\", \"overlay\": true}");
            assertThat(refused.status()).as(refused.body()).isEqualTo(400);
            assertThat(refused.json().path("field").asText()).isEqualTo("overlay");
            assertThat(refused.json().path("message").asText()).contains("its bundle's disk " + bundle
                    .resolve("disk.raw"));
            assertThat(api.unix("GET", "/vms/bundled", null).json().path("state").asText()).isEqualTo("running");
            assertThat(bundle.resolve("disk.snap")).doesNotExist();
            assertThat(state.resolve("snap")).doesNotExist();
            assertThat(api.unix("POST", "/vms/bundled/stop", null).status()).isEqualTo(200);
        }
    }

    /** The first 19 bytes of {@code sector} of the qcow2 image's disk, through qemu-img. */
    private String sector(Path qcow2, int sector) throws Exception {
        Path raw = state.resolve("contents.raw");
        qemuImg("convert", "-O", "raw", qcow2.toString(), raw.toString());
        byte[] all = Files.readAllBytes(raw);
        Files.delete(raw);
        return new String(Arrays.copyOfRange(all, sector * 512, sector * 512 + 19), StandardCharsets.ISO_8859_1);
    }

    private static String qemuImg(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("qemu-img"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s:%n%s", command, output).isZero();
        return output;
    }
}
