package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.state.Snapshotable;
import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.image.DefaultGuest;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import dev.hako.vmm.image.disk.Qcow2Image;
import dev.hako.vmm.net.NetSpec;
import dev.hako.vmm.snapshot.MachineSnapshots;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link Snapshotable} contract over every component of a booted machine (two vCPUs, the legacy devices, the
 * interrupt controllers, the PCI bus, a virtio disk and a network card on passt): the machine runs Debian's kernel for a while and stops;
 * each component's save is restored into a freshly built machine of the same configuration, whose saves are then
 * equal to the first ones, component by component. Then the same through a snapshot directory: the stopped machine
 * is written with {@link MachineSnapshots#take}, a machine restored from it ({@link MachineSnapshots#restore}, RAM
 * mapped from the memory file, no kernel) saves the same records and RAM, and runs on without failing.
 */
class MachineSnapshotIT {
    @TempDir
    Path work;

    @Test
    void everyComponentOfABootedMachineRoundTrips() throws Exception {
        DebianPackages packages = DebianPackages.inDefaultCache();
        Path initrd = DefaultGuest.cachedInitramfs(packages);
        Path disk = work.resolve("disk.qcow2");
        Qcow2Image.create(disk, 64L << 20, 16).close();

        Map<String, Record> saved;
        byte[] ram;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        RecordingConsole console = new RecordingConsole();
        try (Machine m = Machine.create(config(packages.debianKernel(), initrd, disk), console,
                new PrintStream(log, true))) {
            assertThat(m.run(12, TimeUnit.SECONDS)).as("still running at the time limit; hako said: %s", log)
                    .isEqualTo(-1);
            assertThat(console.output()).as("the guest ran").contains("Linux version");
            saved = saveAll(m);
            MachineSnapshots.take(m, work.resolve("snap"));
            ram = m.ram().toArray(ValueLayout.JAVA_BYTE);
        }
        assertThat(saved).containsKeys("vcpu0", "vcpu1", "irqchip", "com1", "pit", "rtc", "pci", "virtio-blk0",
                "virtio-net0", "virtio-net0-device");

        try (Machine fresh = Machine.create(config(packages.debianKernel(), initrd, disk), new RecordingConsole(),
                new PrintStream(new ByteArrayOutputStream(), true))) {
            restoreAll(fresh, saved);
            Map<String, Record> again = saveAll(fresh);
            assertThat(again.keySet()).containsExactlyElementsOf(saved.keySet());
            for (String id : saved.keySet()) {
                assertThat(again.get(id)).as("component %s restored and saved again", id).isEqualTo(saved.get(id));
            }
        }

        ByteArrayOutputStream restoredLog = new ByteArrayOutputStream();
        try (Machine restored = MachineSnapshots.restore(work.resolve("snap"), new RecordingConsole(),
                new PrintStream(restoredLog, true), null)) {
            Map<String, Record> again = saveAll(restored);
            assertThat(again.keySet()).containsExactlyElementsOf(saved.keySet());
            for (String id : saved.keySet()) {
                assertThat(again.get(id)).as("component %s restored from the directory", id)
                        .isEqualTo(saved.get(id));
            }
            assertThat(restored.ram().toArray(ValueLayout.JAVA_BYTE)).as("RAM mapped from the memory file")
                    .isEqualTo(ram);
        }
        long begin = System.nanoTime();
        try (Machine restored = MachineSnapshots.restore(work.resolve("snap"), new RecordingConsole(),
                new PrintStream(restoredLog, true), null)) {
            long built = System.nanoTime();
            assertThat(restored.run(2, TimeUnit.SECONDS)).as("the restored guest runs on; hako said: %s",
                    restoredLog).isEqualTo(-1);
            System.out.printf("restore of 256 MiB, 2 vCPUs, in a warm JVM: %.2f ms to build and restore, %.2f ms to "
                    + "the first guest instruction%n", (built - begin) / 1e6,
                    (restored.firstGuestEntryNanos() - begin) / 1e6);
        }
    }

    private static MachineConfig config(Path kernel, Path initrd, Path disk) throws Exception {
        return new MachineConfig(kernel, initrd, DefaultGuest.CMDLINE, 256L << 20, 2, "soft",
                List.of(new Disk(DiskImages.open(disk, DiskFormat.QCOW2, false), "snapshot-0")),
                MachineConfig.DEFAULT_WATCHDOG, VirtioDevices.NONE.withNet(NetSpec.parse("user", "snapshot-it")));
    }

    private static Map<String, Record> saveAll(Machine m) {
        Map<String, Record> out = new LinkedHashMap<>();
        m.devices().snapshotables().forEach((id, component) -> out.put(id, component.save()));
        return out;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void restoreAll(Machine m, Map<String, Record> saved) {
        m.devices().snapshotables().forEach((id, component) -> ((Snapshotable) component).restore(saved.get(id)));
    }
}
