package dev.hako.vmm.machine;

import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.KernelModules;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's cloud kernel on the soft CPU finds hako's PCI host bridge and two virtio-blk disks (the second
 * read-only): it loads Debian's own virtio modules (the cloud kernel builds virtio_pci and virtio_blk as modules),
 * lists the PCI functions from sysfs, reads a known pattern from /dev/vda and /dev/vdb, writes to /dev/vda and
 * syncs, fails to write to /dev/vdb; after power-off the host image holds the guest's write. Once with MSI-X,
 * once with {@code pci=nomsi}, where the interrupts take the INTx route the DSDT's _PRT describes.
 */
class VirtioBlockIT {
    private static final String CMDLINE = "console=ttyS0 rdinit=/init panic=-1 quiet";
    private static final String INIT = """
            for d in /sys/bus/pci/devices/*; do
              echo "pci $(basename $d) $(cat $d/vendor) $(cat $d/device) $(cat $d/class)"
            done
            n=0; while [ ! -b /dev/vdb ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
            echo "vda-serial $(cat /sys/block/vda/serial) vdb-serial $(cat /sys/block/vdb/serial)"
            echo "vda-ro $(cat /sys/block/vda/ro) vdb-ro $(cat /sys/block/vdb/ro)"
            echo "vda-size $(cat /sys/block/vda/size) vdb-size $(cat /sys/block/vdb/size)"
            echo "vda-head $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 20)"
            echo "vdb-head $(dd if=/dev/vdb bs=512 count=1 2>/dev/null | head -c 20)"
            echo "vda-far $(dd if=/dev/vda bs=512 skip=16000 count=1 2>/dev/null | head -c 20)"
            echo -n GUEST-WROTE-THIS-SECTOR > /tmp/sector
            dd if=/tmp/sector of=/dev/vda bs=512 seek=8 conv=sync 2>/dev/null && echo vda-write-ok
            sync
            if dd if=/dev/zero of=/dev/vdb bs=512 count=1 2>/dev/null; then echo vdb-write-succeeded
            else echo vdb-write-refused; fi
            echo "fatal-lines $(dmesg | grep -c 'PCI: Fatal')"
            grep virtio /proc/interrupts
            echo HAKO-MARKER-DONE
            poweroff -f
            """;

    @TempDir
    Path work;

    private static byte[] image(long size, String pattern, long farSector, String farPattern) {
        byte[] data = new byte[(int) size];
        byte[] p = pattern.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(p, 0, data, 0, p.length);
        byte[] f = farPattern.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(f, 0, data, (int) (farSector * 512), f.length);
        return data;
    }

    @Test
    void guestUsesTwoVirtioDisksWithMsix() throws Exception {
        String out = bootWithTwoDisks("");
        assertThat(out).as("MSI-X: a config vector and one per queue").containsPattern("PCI-MSI.*virtio0-config")
                .containsPattern("PCI-MSI.*virtio0-req.0").containsPattern("PCI-MSI.*virtio1-req.0");
    }

    @Test
    void guestUsesTwoVirtioDisksWithIntx() throws Exception {
        String out = bootWithTwoDisks(" pci=nomsi");
        // Slot 1 INTA# is GSI 17, slot 2 INTA# GSI 18 (PciRoot.intxGsi), level-triggered through the I/O APIC.
        assertThat(out).containsPattern("IO-APIC +17-fasteoi +virtio0").containsPattern("IO-APIC +18-fasteoi +virtio1")
                .doesNotContain("PCI-MSI");
    }

    private String bootWithTwoDisks(String extraCmdline) throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path kernel = packages.debianKernel();
        KernelModules modules = KernelModules.of(packages, KernelModules.VIRTIO_BLK);
        byte[] initrd = DefaultGuest.initramfs(packages.busybox(), modules.initPrologue() + INIT, modules.files());
        Path initrdFile = work.resolve("initrd.cpio");
        Files.write(initrdFile, initrd);

        Path rw = work.resolve("rw.img");
        Path ro = work.resolve("ro.img");
        Files.write(rw, image(8 << 20, "HAKO-PATTERN-RW-DISK", 16000, "FAR-SECTOR-PATTERN!!"));
        Files.write(ro, image(4 << 20, "HAKO-PATTERN-RO-DISK", 0, "HAKO-PATTERN-RO-DISK"));
        byte[] roBefore = Files.readAllBytes(ro);

        RecordingConsole console = new RecordingConsole();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        List<Disk> disks = List.of(new Disk(DiskImages.open(rw, DiskFormat.RAW, false), "hako-rw-0"),
                new Disk(DiskImages.open(ro, DiskFormat.RAW, true), "hako-ro-1"));
        MachineConfig config = new MachineConfig(kernel, initrdFile, CMDLINE + extraCmdline, 512L << 20, 1, "soft",
                disks);
        int status;
        try (Machine m = Machine.create(config, console, new PrintStream(log, true))) {
            status = m.run(10, TimeUnit.MINUTES);
        }
        String out = console.output();
        assertThat(status).as("exit status; hako said: %s%nconsole:%n%s", log, out).isZero();
        assertThat(out).contains("HAKO-MARKER-DONE").doesNotContain("insmod-failed");
        assertThat(out).contains("pci 0000:00:00.0 0x1b36 0x0008 0x060000")
                .contains("pci 0000:00:01.0 0x1af4 0x1042 0x018000")
                .contains("pci 0000:00:02.0 0x1af4 0x1042 0x018000");
        assertThat(out).contains("fatal-lines 0");
        assertThat(out).contains("vda-serial hako-rw-0 vdb-serial hako-ro-1")
                .contains("vda-ro 0 vdb-ro 1")
                .contains("vda-size 16384 vdb-size 8192")
                .contains("vda-head HAKO-PATTERN-RW-DISK")
                .contains("vdb-head HAKO-PATTERN-RO-DISK")
                .contains("vda-far FAR-SECTOR-PATTERN!!")
                .contains("vda-write-ok")
                .contains("vdb-write-refused");
        byte[] after = Files.readAllBytes(rw);
        assertThat(new String(Arrays.copyOfRange(after, 8 * 512, 8 * 512 + 23), StandardCharsets.US_ASCII))
                .isEqualTo("GUEST-WROTE-THIS-SECTOR");
        assertThat(Arrays.copyOfRange(after, 8 * 512 + 23, 9 * 512)).as("conv=sync pads with zeroes").containsOnly(0);
        assertThat(Files.readAllBytes(ro)).isEqualTo(roBefore);
        return out;
    }
}
