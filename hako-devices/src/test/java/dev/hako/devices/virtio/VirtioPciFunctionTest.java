package dev.hako.devices.virtio;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static dev.hako.devices.virtio.VirtioTestDriver.DESC;
import static dev.hako.devices.virtio.VirtioTestDriver.INDIRECT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.irq.MsiMessage;
import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.pci.PciHeader;
import dev.hako.testkit.RecordingIrqLine;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class VirtioPciFunctionTest {
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE,
            INDIRECT_FLAG = Virtqueue.DESC_F_INDIRECT;
    private static final int NEEDS_RESET = VirtioFeatures.STATUS_DEVICE_NEEDS_RESET;
    private static final long FEATURES = VirtioFeatures.TRANSPORT | 1L << 3;
    private final Arena arena = Arena.ofConfined();
    private final GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
    private final List<MsiMessage> interrupts = new ArrayList<>();
    private final EchoDevice device = new EchoDevice();
    private final VirtioPciFunction function = new VirtioPciFunction("echo0", memory, device, interrupts::add);
    private final VirtioTestDriver driver = new VirtioTestDriver(memory, function);
    private final RecordingIrqLine intx = new RecordingIrqLine();

    {
        function.connectIntx(intx);
    }

    @AfterEach
    void close() {
        arena.close();
    }

    private void ready(long features) {
        assertThat(driver.negotiate(features)).isTrue();
        driver.setupQueue(0, 16, 0);
        driver.enableMsix();
        driver.driverOk();
        interrupts.clear();
    }

    private boolean needsReset() {
        return (driver.status() & NEEDS_RESET) != 0;
    }

    @Test
    void identifiesAsAModernVirtioFunction() {
        assertThat(function.config().u16(PciHeader.VENDOR_ID)).isEqualTo(0x1AF4);
        assertThat(function.config().u16(PciHeader.DEVICE_ID)).isEqualTo(0x1040 + 0x2A);
        assertThat(function.config().u8(PciHeader.REVISION_ID)).isEqualTo(1);
        List<Integer> types = new ArrayList<>();
        int at = function.config().u8(PciHeader.CAPABILITIES_POINTER);
        while (at != 0) {
            if (function.config().u8(at) == PciHeader.CAP_ID_VENDOR) {
                types.add(function.config().u8(at + 3));
                assertThat(function.config().u8(at + 4)).as("BAR").isZero();
            }
            at = function.config().u8(at + 1);
        }
        assertThat(types).containsExactly(VirtioPciFunction.CAP_COMMON, VirtioPciFunction.CAP_NOTIFY,
                VirtioPciFunction.CAP_ISR, VirtioPciFunction.CAP_DEVICE, VirtioPciFunction.CAP_PCI_CFG);
        assertThat(driver.common(VirtioPciFunction.NUM_QUEUES, 2)).isEqualTo(2);
    }

    @Test
    void featuresOkNeedsVersion1AndOnlyOfferedBits() {
        assertThat(driver.deviceFeatures()).isEqualTo(FEATURES);
        assertThat(driver.negotiate(1L << 3)).as("no VERSION_1").isFalse();
        assertThat(driver.negotiate(FEATURES | 1L << 40)).as("a bit never offered").isFalse();
        assertThat(driver.negotiate(1L << VirtioFeatures.VERSION_1)).isTrue();
        driver.setupQueue(0, 16, 0);
        driver.driverOk();
        assertThat(device.activations).isEqualTo(1);
        assertThat(device.activatedWith).isEqualTo(1L << VirtioFeatures.VERSION_1);
    }

    @Test
    void driverOkWithoutFeaturesOkIsRefused() {
        driver.status(VirtioFeatures.STATUS_ACKNOWLEDGE | VirtioFeatures.STATUS_DRIVER
                | VirtioFeatures.STATUS_DRIVER_OK);
        assertThat(driver.status() & VirtioFeatures.STATUS_DRIVER_OK).isZero();
        assertThat(device.activations).isZero();
    }

    @Test
    void queueRegistersReadBackAndVectorsPastTheTableReadNoVector() {
        driver.negotiate(FEATURES);
        driver.common(VirtioPciFunction.QUEUE_SELECT, 2, 1);
        assertThat(driver.common(VirtioPciFunction.QUEUE_SIZE, 2)).isEqualTo(64);
        assertThat(driver.common(VirtioPciFunction.QUEUE_NOTIFY_OFF, 2)).isEqualTo(1);
        driver.common(VirtioPciFunction.QUEUE_DESC, 8, 0x1234_5670L);
        assertThat(driver.common(VirtioPciFunction.QUEUE_DESC, 4)).isEqualTo(0x1234_5670L);
        driver.common(VirtioPciFunction.QUEUE_MSIX_VECTOR, 2, 2);
        assertThat(driver.common(VirtioPciFunction.QUEUE_MSIX_VECTOR, 2)).isEqualTo(2);
        driver.common(VirtioPciFunction.QUEUE_MSIX_VECTOR, 2, 3);
        assertThat(driver.common(VirtioPciFunction.QUEUE_MSIX_VECTOR, 2)).isEqualTo(VirtioPciFunction.NO_VECTOR);
        driver.common(VirtioPciFunction.CONFIG_MSIX_VECTOR, 2, 9);
        assertThat(driver.common(VirtioPciFunction.CONFIG_MSIX_VECTOR, 2)).isEqualTo(VirtioPciFunction.NO_VECTOR);
        driver.common(VirtioPciFunction.QUEUE_SELECT, 2, 5);
        assertThat(driver.common(VirtioPciFunction.QUEUE_SIZE, 2)).as("no such queue").isZero();
    }

    @Test
    void directChainIsHandedOverSegmentBySegment() {
        ready(FEATURES);
        memory.setU8(DATA, 3);
        memory.setU8(DATA + 1, 4);
        driver.descriptor(0, DATA, 2, NEXT, 7);
        driver.descriptor(7, DATA + 0x100, 3, NEXT | WRITE, 2);
        driver.descriptor(2, DATA + 0x200, 2, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(driver.usedIdx()).isEqualTo(1);
        assertThat(driver.usedLength(0)).isEqualTo(5);
        assertThat(memory.getU8(DATA + 0x102)).isEqualTo(7);
        assertThat(memory.getU8(DATA + 0x201)).isEqualTo(7);
        assertThat(interrupts).containsExactly(new MsiMessage(0xFEE0_0000L, 0x30));
    }

    @Test
    void indirectTableIsFollowed() {
        ready(FEATURES);
        memory.setU8(DATA, 9);
        driver.descriptor(INDIRECT, 0, DATA, 1, NEXT, 1);
        driver.descriptor(INDIRECT, 1, DATA + 0x100, 4, WRITE, 0);
        driver.descriptor(3, INDIRECT, 32, INDIRECT_FLAG, 0);
        driver.publish(3);
        driver.kick(0);
        assertThat(driver.usedId(0)).isEqualTo(3);
        assertThat(driver.usedLength(0)).isEqualTo(4);
        assertThat(memory.getU8(DATA + 0x103)).isEqualTo(9);
        assertThat(needsReset()).isFalse();
    }

    private void assertBroken(String why) {
        driver.publish(0);
        driver.kick(0);
        assertThat(needsReset()).as(why).isTrue();
        assertThat(interrupts).as("configuration interrupt for " + why)
                .containsExactly(new MsiMessage(0xFEE0_0000L, 0x30 + 2));
        assertThat(driver.usedIdx()).isZero();
    }

    private void brokenChain(String why, Runnable build) {
        ready(FEATURES);
        driver.common(VirtioPciFunction.CONFIG_MSIX_VECTOR, 2, 2);
        build.run();
        assertBroken(why);
    }

    @Test
    void malformedChainsPutTheDeviceInNeedsReset() {
        brokenChain("loop", () -> {
            driver.descriptor(0, DATA, 1, NEXT, 1);
            driver.descriptor(1, DATA, 1, NEXT, 0);
        });
        brokenChain("buffer outside RAM", () -> driver.descriptor(0, memory.size() - 4, 8, 0, 0));
        brokenChain("buffer address wraps", () -> driver.descriptor(0, -8, 16, 0, 0));
        brokenChain("readable after writable", () -> {
            driver.descriptor(0, DATA, 1, NEXT | WRITE, 1);
            driver.descriptor(1, DATA, 1, 0, 0);
        });
        brokenChain("next past the table", () -> driver.descriptor(0, DATA, 1, NEXT, 16));
        brokenChain("nested indirect", () -> {
            driver.descriptor(INDIRECT, 0, INDIRECT, 16, INDIRECT_FLAG, 0);
            driver.descriptor(0, INDIRECT, 16, INDIRECT_FLAG, 0);
        });
        brokenChain("indirect table of odd length", () -> driver.descriptor(0, INDIRECT, 17, INDIRECT_FLAG, 0));
        brokenChain("indirect table outside RAM", () -> driver.descriptor(0, memory.size() - 16, 32,
                INDIRECT_FLAG, 0));
        brokenChain("indirect loop", () -> {
            driver.descriptor(INDIRECT, 0, DATA, 1, NEXT, 1);
            driver.descriptor(INDIRECT, 1, DATA, 1, NEXT, 0);
            driver.descriptor(0, INDIRECT, 32, INDIRECT_FLAG, 0);
        });
        brokenChain("indirect with next", () -> driver.descriptor(0, INDIRECT, 16, INDIRECT_FLAG | NEXT, 1));
        brokenChain("a 4 GiB buffer", () -> driver.descriptor(0, 0, 0xFFFF_FFFFL, WRITE, 0));
        brokenChain("more than 4 GiB in a chain", () -> {
            for (int i = 0; i < Virtqueue.MAX_INDIRECT; i++) {
                driver.descriptor(INDIRECT, i, 0, memory.size(), NEXT | WRITE, i + 1);
            }
            driver.descriptor(INDIRECT, Virtqueue.MAX_INDIRECT - 1, 0, memory.size(), WRITE, 0);
            driver.descriptor(0, INDIRECT, 16L * Virtqueue.MAX_INDIRECT, INDIRECT_FLAG, 0);
        });
    }

    @Test
    void indirectWithoutTheFeatureIsMalformed() {
        ready(FEATURES & ~(1L << VirtioFeatures.INDIRECT_DESC));
        driver.common(VirtioPciFunction.CONFIG_MSIX_VECTOR, 2, 2);
        driver.descriptor(INDIRECT, 0, DATA, 1, 0, 0);
        driver.descriptor(0, INDIRECT, 16, INDIRECT_FLAG, 0);
        assertBroken("indirect not negotiated");
    }

    @Test
    void headPastTheQueueAndAvailIndexJumpsAreMalformed() {
        ready(FEATURES);
        driver.descriptor(0, DATA, 1, 0, 0);
        memory.setU16(VirtioTestDriver.AVAIL + 4, 16);
        memory.setU16(VirtioTestDriver.AVAIL + 2, 1);
        driver.kick(0);
        assertThat(needsReset()).isTrue();

        ready(FEATURES);
        memory.setU16(VirtioTestDriver.AVAIL + 2, 17);
        driver.kick(0);
        assertThat(needsReset()).isTrue();
    }

    @Test
    void needsResetStopsProcessingUntilTheDriverResets() {
        ready(FEATURES);
        driver.descriptor(0, DATA, 1, NEXT, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(needsReset()).isTrue();
        driver.descriptor(1, DATA, 1, WRITE, 0);
        driver.publish(1);
        driver.kick(0);
        assertThat(driver.usedIdx()).isZero();
        ready(FEATURES);
        assertThat(needsReset()).isFalse();
        assertThat(device.resets).isPositive();
        driver.descriptor(1, DATA, 1, WRITE, 0);
        driver.publish(1);
        driver.kick(0);
        assertThat(driver.usedIdx()).isEqualTo(1);
    }

    @Test
    void badRingLayoutWhenEnablingIsMalformed() {
        driver.negotiate(FEATURES);
        driver.common(VirtioPciFunction.QUEUE_SELECT, 2, 0);
        driver.common(VirtioPciFunction.QUEUE_SIZE, 2, 12);
        driver.common(VirtioPciFunction.QUEUE_ENABLE, 2, 1);
        assertThat(needsReset()).as("size not a power of two").isTrue();
        driver.negotiate(FEATURES);
        driver.common(VirtioPciFunction.QUEUE_DESC, 8, DESC + 8);
        driver.common(VirtioPciFunction.QUEUE_ENABLE, 2, 1);
        assertThat(needsReset()).as("misaligned descriptor table").isTrue();
        driver.negotiate(FEATURES);
        driver.common(VirtioPciFunction.QUEUE_DESC, 8, memory.size() - 16);
        driver.common(VirtioPciFunction.QUEUE_ENABLE, 2, 1);
        assertThat(needsReset()).as("table past RAM").isTrue();
        assertThat(driver.common(VirtioPciFunction.QUEUE_ENABLE, 2)).isZero();
    }

    @Test
    void withoutMsixTheIsrAndIntxSignal() {
        assertThat(driver.negotiate(FEATURES)).isTrue();
        driver.setupQueue(0, 16, VirtioPciFunction.NO_VECTOR);
        driver.driverOk();
        driver.descriptor(0, DATA, 1, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(intx.level()).isTrue();
        assertThat(function.config().u16(PciHeader.STATUS) & PciHeader.STATUS_INTERRUPT).isNotZero();
        assertThat(driver.readIsr()).isEqualTo(VirtioPciFunction.ISR_QUEUE);
        assertThat(intx.level()).as("reading the ISR acknowledges").isFalse();
        assertThat(driver.readIsr()).isZero();
        assertThat(interrupts).isEmpty();

        function.config().write(PciHeader.COMMAND, 2, PciHeader.COMMAND_INTX_DISABLE);
        function.configWritten(PciHeader.COMMAND, 2);
        function.configChanged();
        assertThat(intx.level()).as("INTx disabled in the command register").isFalse();
        assertThat(driver.readIsr()).isEqualTo(VirtioPciFunction.ISR_CONFIG);
        assertThat(driver.common(VirtioPciFunction.CONFIG_GENERATION, 1)).isEqualTo(1);
    }

    @Test
    void pciConfigurationAccessCapabilityIsAWindowOntoTheBar() {
        int cap = 0;
        for (int at = function.config().u8(PciHeader.CAPABILITIES_POINTER); at != 0; at = function.config().u8(at + 1)) {
            if (function.config().u8(at + 3) == VirtioPciFunction.CAP_PCI_CFG) {
                cap = at;
            }
        }
        int data = cap + VirtioPciFunction.CAP_PCI_CFG_DATA;
        function.config().write(cap + VirtioPciFunction.CAP_OFFSET, 4, VirtioPciFunction.COMMON_OFFSET
                + VirtioPciFunction.NUM_QUEUES);
        function.config().write(cap + VirtioPciFunction.CAP_LENGTH, 4, 2);
        function.configReading(data, 4);
        assertThat(function.config().read(data, 2)).as("num_queues through the window").isEqualTo(2);

        function.config().write(cap + VirtioPciFunction.CAP_OFFSET, 4, VirtioPciFunction.DEVICE_OFFSET + 4);
        function.config().write(cap + VirtioPciFunction.CAP_LENGTH, 4, 4);
        function.config().write(data, 4, 0x1234_5678);
        function.configWritten(data, 4);
        assertThat(device.config[4]).isEqualTo((byte) 0x78);
        assertThat(device.config[7]).isEqualTo((byte) 0x12);

        function.config().write(cap + VirtioPciFunction.CAP_OFFSET, 4, VirtioPciFunction.DEVICE_OFFSET + 1);
        function.config().write(data, 4, 0);
        function.configWritten(data, 4);
        assertThat(device.config[4]).as("a misaligned window access does nothing").isEqualTo((byte) 0x78);
    }

    @Test
    void deviceConfigurationIsReachedThroughTheBar() {
        driver.bar().write(0, VirtioPciFunction.DEVICE_OFFSET + 2, 2, 0xBEEF);
        assertThat(device.config[2]).isEqualTo((byte) 0xEF);
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET, 4)).isEqualTo(0xBEEF_0000L);
        assertThat(driver.bar().read(0, VirtioPciFunction.DEVICE_OFFSET + 6, 4)).as("past the end").isZero();
    }

    @Test
    void saveAndRestoreCarryQueuesAndRegisters() {
        ready(FEATURES);
        driver.descriptor(0, DATA, 1, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
        VirtioPciState state = function.save();

        EchoDevice device2 = new EchoDevice();
        VirtioPciFunction copy = new VirtioPciFunction("echo0", memory, device2, interrupts::add);
        copy.config().restore(function.config().save());
        copy.restore(state);
        assertThat(copy.save()).isEqualTo(state);
        VirtioTestDriver driver2 = new VirtioTestDriver(memory, copy);
        driver2.setupQueueSizeForReading(16);
        driver.descriptor(1, DATA, 1, WRITE, 0);
        driver.publish(1);
        driver2.kick(0);
        assertThat(driver2.usedIdx()).as("the copy goes on where the original stopped").isEqualTo(2);
    }
}
