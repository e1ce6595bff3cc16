package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.core.accel.VirtualCpu;
import dev.hako.devices.pci.PciRoot;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.blk.VirtioBlock;
import dev.hako.vmm.host.UnusableFileException;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The builder turns a configuration into a machine whose device table holds every component the configuration
 * asks for, once, under a predictable id; it refuses a bad configuration or kernel with the reason, and builds
 * one machine only.
 */
class MachineBuilderTest {
    @TempDir
    Path work;

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private Disk rawDisk(String name) throws Exception {
        Path file = work.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(1 << 20);
        }
        return new Disk(DiskImages.open(file, DiskFormat.RAW, false), name);
    }

    @Test
    void theDeviceTableHoldsWhatTheConfigurationAsksForUnderPredictableIds() throws Exception {
        Path kernel = TinyPvhKernel.write(work, "F4 EBFD"); // 1: hlt; jmp 1b
        MachineConfig config = new MachineConfig(kernel, null, "", 64L << 20, 2, "soft",
                List.of(rawDisk("a.raw"), rawDisk("b.raw")))
                .withVirtio(VirtioDevices.NONE.withRng(1 << 20).withBalloon(0));
        try (Machine m = new MachineBuilder(config, new RecordingConsole(), new PrintStream(log, true)).build()) {
            assertThat(m.devices().all().keySet()).containsExactlyInAnyOrder(
                    "clock", "irqchip", "com1", "pit", "rtc", "i8042", "acpi-pm", "pvpanic", "pci",
                    "virtio-blk0", "virtio-blk0-device", "virtio-blk1", "virtio-blk1-device",
                    "virtio-rng", "virtio-rng-device", "virtio-balloon", "virtio-balloon-device",
                    "vcpu0", "vcpu1", "vcpu-startup");
            assertThat(m.devices().get("pci", PciRoot.class)).isNotNull();
            assertThat(m.devices().get("virtio-blk1-device", VirtioBlock.class)).isNotNull();
            assertThat(m.devices().get("virtio-blk1", VirtioPciFunction.class)).isNotNull();
            assertThat(m.devices().get("vcpu1", VirtualCpu.class)).isNotNull();
        }
    }

    @Test
    void aBuilderBuildsOneMachine() throws Exception {
        Path kernel = TinyPvhKernel.write(work, "F4 EBFD");
        MachineBuilder builder = new MachineBuilder(new MachineConfig(kernel, null, "", 64L << 20, 1, "soft"),
                new RecordingConsole(), new PrintStream(log, true));
        try (Machine m = builder.build()) {
            assertThatThrownBy(builder::build).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("one machine");
        }
    }

    @Test
    void mistakesAreRefusedWithTheirReason() throws Exception {
        Path kernel = TinyPvhKernel.write(work, "F4 EBFD");
        PrintStream out = new PrintStream(log, true);
        assertThatThrownBy(() -> new MachineBuilder(new MachineConfig(kernel, null, "", 64L << 20, 0, "soft"),
                new RecordingConsole(), out)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1..");
        assertThatThrownBy(() -> new MachineBuilder(new MachineConfig(kernel, null, "", 1L << 40, 1, "soft"),
                new RecordingConsole(), out)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outside");
        Path missing = work.resolve("no-such-kernel");
        assertThatThrownBy(() -> new MachineBuilder(new MachineConfig(missing, null, "", 64L << 20, 1, "soft"),
                new RecordingConsole(), out).build()).isInstanceOf(UnusableFileException.class)
                .hasMessage("kernel " + missing + ": no such file");
    }
}
