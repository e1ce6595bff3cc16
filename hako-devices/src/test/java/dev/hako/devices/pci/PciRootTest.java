package dev.hako.devices.pci;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.MmioDevice;
import dev.hako.core.bus.PioBus;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.irq.MsiMessage;
import dev.hako.testkit.RecordingIrqLine;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PciRootTest {
    private static final long ECAM = 0xE000_0000L;
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final RecordingIrqLine[] gsis = new RecordingIrqLine[24];
    private final PciRoot root;
    private final List<MsiMessage> delivered = new ArrayList<>();
    private final TestFunction function = new TestFunction(delivered);

    {
        for (int i = 0; i < gsis.length; i++) {
            gsis[i] = new RecordingIrqLine();
        }
        root = new PciRoot(pio, mmio, gsi -> gsis[gsi]);
        pio.register(PciRoot.CONFIG_ADDRESS_PORT, 1, root.configAddressPort());
        pio.register(PciRoot.CONFIG_DATA_PORT, PciRoot.CONFIG_DATA_PORTS, root.configDataPort());
        mmio.register(ECAM, PciRoot.ECAM_BUS_SIZE, root.ecam());
        root.attach(3, function);
    }

    /** A function with a 64-bit memory BAR 0 (MSI-X table at 0x1000, PBA at 0x1800), 32-bit BAR 2, I/O BAR 3. */
    static final class TestFunction implements PciFunction {
        final PciConfigSpace config = new PciConfigSpace(0x1AF4, 0x1234, 0x018000, 1, 0x1AF4, 0x10, 1);
        final MsixTable msix;
        final long[] lastWrite = new long[4];
        IrqLine intx = IrqLine.NONE;
        final MmioDevice bar0 = new MmioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                if (offset >= 0x1000 && offset < 0x1800) {
                    return msix.readTable(offset - 0x1000, size);
                }
                if (offset >= 0x1800) {
                    return msix.readPba(offset - 0x1800, size);
                }
                return 0xB0_0000 + offset;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
                if (offset >= 0x1000 && offset < 0x1800) {
                    msix.writeTable(offset - 0x1000, size, value);
                } else {
                    lastWrite[0] = value;
                }
            }
        };
        final MmioDevice bar2 = new MmioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                return 0xB2_0000 + offset;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
                lastWrite[2] = value;
            }
        };
        final PioDevice bar3 = new PioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                return 0x30 + offset;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
                lastWrite[3] = value;
            }
        };
        final PciBar[] bars = {PciBar.memory64(0x4000, bar0), null, PciBar.memory32(0x1000, bar2),
                PciBar.io(0x20, bar3), null, null};

        TestFunction(List<MsiMessage> delivered) {
            config.addCapability(PciHeader.CAP_ID_VENDOR, 8);
            msix = new MsixTable(config, 3, 0, 0x1000, 0x1800, delivered::add);
        }

        @Override
        public PciConfigSpace config() {
            return config;
        }

        @Override
        public PciBar bar(int index) {
            return bars[index];
        }

        @Override
        public void configWritten(int offset, int size) {
            msix.configWritten();
        }

        @Override
        public void connectIntx(IrqLine line) {
            intx = line;
        }
    }

    private long type1Read(int slot, int offset, int size) {
        pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, 0x8000_0000L | slot << 11 | offset & 0xFC);
        return pio.read(0, PciRoot.CONFIG_DATA_PORT + (offset & 3), size);
    }

    private void type1Write(int slot, int offset, int size, long value) {
        pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, 0x8000_0000L | slot << 11 | offset & 0xFC);
        pio.write(0, PciRoot.CONFIG_DATA_PORT + (offset & 3), size, value);
    }

    private long ecamRead(int slot, int offset, int size) {
        return mmio.read(0, ECAM + ((long) slot << 15) + offset, size);
    }

    @Test
    void mechanismOneAndEcamReadTheSameBytes() {
        for (int slot : new int[] {0, 3, 7}) {
            for (int offset = 0; offset < 256; offset++) {
                for (int size : new int[] {1, 2, 4}) {
                    if ((offset & 3) + size > 4) {
                        continue;
                    }
                    assertThat(ecamRead(slot, offset, size)).as("slot %d offset %#x size %d", slot, offset, size)
                            .isEqualTo(type1Read(slot, offset, size));
                }
            }
        }
        assertThat(type1Read(0, 0, 4)).isEqualTo(0x0008_1B36L);
        assertThat(type1Read(0, 0x0A, 2)).as("host bridge class").isEqualTo(0x0600);
        assertThat(type1Read(3, 0, 4)).isEqualTo(0x1234_1AF4L);
        assertThat(type1Read(7, 0, 4)).as("empty slot").isEqualTo(0xFFFF_FFFFL);
        assertThat(ecamRead(3, 0x100, 4)).as("no extended capabilities").isZero();
    }

    @Test
    void writesThroughEitherMechanismAreSeenByTheOther() {
        type1Write(3, PciHeader.INTERRUPT_LINE, 1, 0x5A);
        assertThat(ecamRead(3, PciHeader.INTERRUPT_LINE, 1)).isEqualTo(0x5A);
        mmio.write(0, ECAM + (3 << 15) + PciHeader.INTERRUPT_LINE, 1, 0x33);
        assertThat(type1Read(3, PciHeader.INTERRUPT_LINE, 1)).isEqualTo(0x33);
        type1Write(3, PciHeader.VENDOR_ID, 4, 0);
        assertThat(type1Read(3, PciHeader.VENDOR_ID, 4)).as("IDs are read-only").isEqualTo(0x1234_1AF4L);
    }

    @Test
    void addressLatchIsDwordOnlyAndDisabledAccessesReadOnes() {
        pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, 0x8000_0000L);
        assertThat(pio.read(0, PciRoot.CONFIG_ADDRESS_PORT, 4)).isEqualTo(0x8000_0000L);
        pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, 3 << 11);
        assertThat(pio.read(0, PciRoot.CONFIG_DATA_PORT, 4)).as("enable bit clear").isEqualTo(0xFFFF_FFFFL);
        pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, 0x8001_0000L);
        assertThat(pio.read(0, PciRoot.CONFIG_DATA_PORT, 4)).as("bus 1 does not exist").isEqualTo(0xFFFF_FFFFL);
    }

    @Test
    void barSizingReadsBackTheSizeMaskAndKeepsTheTypeBits() {
        type1Write(3, PciHeader.bar(0), 4, 0xFFFF_FFFFL);
        type1Write(3, PciHeader.bar(1), 4, 0xFFFF_FFFFL);
        type1Write(3, PciHeader.bar(2), 4, 0xFFFF_FFFFL);
        type1Write(3, PciHeader.bar(3), 4, 0xFFFF_FFFFL);
        assertThat(type1Read(3, PciHeader.bar(0), 4)).isEqualTo(0xFFFF_C004L);
        assertThat(type1Read(3, PciHeader.bar(1), 4)).isEqualTo(0xFFFF_FFFFL);
        assertThat(type1Read(3, PciHeader.bar(2), 4)).isEqualTo(0xFFFF_F000L);
        assertThat(type1Read(3, PciHeader.bar(3), 4)).isEqualTo(0xFFFF_FFE1L);
        assertThat(type1Read(3, PciHeader.bar(4), 4)).as("unused BAR").isZero();
        assertThat(type1Read(3, PciHeader.ROM_ADDRESS, 4)).as("no ROM").isZero();
    }

    @Test
    void barsAreDecodedWhereFirmwarePutThemAndFollowTheGuest() {
        root.placeBar(3, 0, 0x10_0000_0000L);
        root.placeBar(3, 2, 0xC000_1000L);
        root.placeBar(3, 3, 0xC040);
        assertThat(mmio.read(0, 0x10_0000_0010L, 4)).as("not decoded before the command register allows")
                .isEqualTo(0xFFFF_FFFFL);
        root.enableDecoding(3);
        assertThat(mmio.read(0, 0x10_0000_0010L, 4)).isEqualTo(0xB0_0010);
        assertThat(mmio.read(0, 0xC000_1008L, 4)).isEqualTo(0xB2_0008);
        assertThat(pio.read(0, 0xC042, 1)).isEqualTo(0x32);

        // The guest moves BAR 2 with decoding off (as Linux does while sizing), then turns it back on.
        type1Write(3, PciHeader.COMMAND, 2, 0);
        assertThat(mmio.read(0, 0xC000_1008L, 4)).isEqualTo(0xFFFF_FFFFL);
        assertThat(pio.read(0, 0xC042, 1)).isEqualTo(0xFF);
        type1Write(3, PciHeader.bar(2), 4, 0xFFFF_FFFFL);
        type1Write(3, PciHeader.bar(2), 4, 0xD000_0000L);
        type1Write(3, PciHeader.bar(0), 4, 0x2000_0000L);
        type1Write(3, PciHeader.bar(1), 4, 0);
        type1Write(3, PciHeader.COMMAND, 2, PciHeader.COMMAND_MEMORY | PciHeader.COMMAND_IO);
        assertThat(mmio.read(0, 0xD000_0004L, 4)).isEqualTo(0xB2_0004);
        assertThat(mmio.read(0, 0x2000_0000L, 4)).isEqualTo(0xB0_0000);
        assertThat(mmio.isMapped(0xC000_1000L)).isFalse();
        assertThat(mmio.isMapped(0x10_0000_0000L)).isFalse();
        assertThat(root.mappedAddress(3, 2)).isEqualTo(0xD000_0000L);

        // Moving while decoding stays on also moves the mapping.
        type1Write(3, PciHeader.bar(3), 4, 0xE000);
        assertThat(pio.read(0, 0xE001, 1)).isEqualTo(0x31);
        assertThat(pio.read(0, 0xC041, 1)).isEqualTo(0xFF);
    }

    @Test
    void aBarOverAnotherDeviceStaysUnmapped() {
        mmio.register(0xD000_0000L, 0x1000, new MmioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                return 0x77;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
            }
        });
        root.placeBar(3, 2, 0xD000_0000L);
        root.enableDecoding(3);
        assertThat(root.mappedAddress(3, 2)).isEqualTo(-1);
        assertThat(mmio.read(0, 0xD000_0000L, 4)).isEqualTo(0x77);
        type1Write(3, PciHeader.bar(2), 4, 0xD000_1000L);
        assertThat(mmio.read(0, 0xD000_1000L, 4)).isEqualTo(0xB2_0000);
    }

    @Test
    void capabilityListIsWalkable() {
        assertThat(type1Read(3, PciHeader.STATUS, 2) & PciHeader.STATUS_CAPABILITIES).isNotZero();
        List<Integer> ids = new ArrayList<>();
        int at = (int) type1Read(3, PciHeader.CAPABILITIES_POINTER, 1);
        while (at != 0 && ids.size() < 48) {
            assertThat(at).isGreaterThanOrEqualTo(0x40);
            assertThat(at & 3).isZero();
            ids.add((int) type1Read(3, at, 1));
            at = (int) type1Read(3, at + 1, 1);
        }
        assertThat(ids).containsExactly(PciHeader.CAP_ID_VENDOR, PciHeader.CAP_ID_MSIX);
        int msix = 0x48;
        assertThat(type1Read(3, msix + PciHeader.MSIX_CONTROL, 2)).as("table size - 1").isEqualTo(2);
        assertThat(type1Read(3, msix + PciHeader.MSIX_TABLE, 4)).isEqualTo(0x1000);
        assertThat(type1Read(3, msix + PciHeader.MSIX_PBA, 4)).isEqualTo(0x1800);
    }

    @Test
    void intxPinIsRoutedByTheSlotRotation() {
        assertThat(type1Read(3, PciHeader.INTERRUPT_PIN, 1)).isEqualTo(1);
        assertThat(type1Read(3, PciHeader.INTERRUPT_LINE, 1)).isEqualTo(PciRoot.intxGsi(3, 1)).isEqualTo(19);
        function.intx.set(true);
        assertThat(gsis[19].level()).isTrue();
        assertThat(PciRoot.intxGsi(4, 1)).isEqualTo(16);
        assertThat(PciRoot.intxGsi(4, 2)).isEqualTo(17);
    }

    @Test
    void msixMaskingKeepsPendingBitsAndUnmaskingDelivers() {
        root.placeBar(3, 0, 0x10_0000_0000L);
        root.enableDecoding(3);
        long table = 0x10_0000_1000L;
        long pba = 0x10_0000_1800L;
        int control = 0x48 + PciHeader.MSIX_CONTROL;
        mmio.write(0, table + 16, 4, 0xFEE0_1000L);
        mmio.write(0, table + 16 + 4, 4, 0);
        mmio.write(0, table + 16 + 8, 4, 0x41);
        assertThat(mmio.read(0, table + 16 + 12, 4)).as("vectors start masked").isEqualTo(1);

        function.msix.signal(1);
        assertThat(delivered).isEmpty();
        assertThat(mmio.read(0, pba, 8)).isEqualTo(0b10);
        type1Write(3, control, 2, PciHeader.MSIX_CONTROL_ENABLE | PciHeader.MSIX_CONTROL_FUNCTION_MASK);
        mmio.write(0, table + 16 + 12, 4, 0);
        assertThat(delivered).as("the function mask holds it back").isEmpty();
        type1Write(3, control, 2, PciHeader.MSIX_CONTROL_ENABLE);
        assertThat(delivered).containsExactly(new MsiMessage(0xFEE0_1000L, 0x41));
        assertThat(mmio.read(0, pba, 8)).isZero();

        function.msix.signal(1);
        assertThat(delivered).hasSize(2);
        mmio.write(0, table + 16 + 12, 4, 1);
        function.msix.signal(1);
        function.msix.signal(1);
        assertThat(delivered).hasSize(2);
        assertThat(function.msix.isPending(1)).isTrue();
        mmio.write(0, table + 16 + 8, 8, 0x42L);
        assertThat(mmio.read(0, table + 16 + 12, 4)).as("qword write reached the vector control").isZero();
        assertThat(delivered).hasSize(3).last().isEqualTo(new MsiMessage(0xFEE0_1000L, 0x42));
        function.msix.signal(7);
        assertThat(delivered).as("a vector past the table signals nothing").hasSize(3);
    }

    @Test
    void randomConfigurationWritesKeepTheBusConsistent() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(42);
        root.placeBar(3, 0, 0x10_0000_0000L);
        root.placeBar(3, 2, 0xC000_0000L);
        root.placeBar(3, 3, 0xC000);
        root.enableDecoding(3);
        int[] sizes = {1, 2, 4, 8};
        for (int i = 0; i < 100_000; i++) {
            int slot = random.nextInt(5);
            int offset = random.nextInt(8) == 0 ? random.nextInt(0x1000) : random.nextInt(0x40);
            int size = sizes[random.nextInt(4)];
            long value = random.nextInt(4) == 0 ? -1L : random.nextLong();
            if (random.nextBoolean()) {
                mmio.write(0, ECAM + ((long) slot << 15) + offset, size, value);
            } else {
                pio.write(0, PciRoot.CONFIG_ADDRESS_PORT, 4, random.nextInt(16) == 0 ? random.nextInt()
                        : 0x8000_0000L | slot << 11 | offset & 0xFC);
                pio.write(0, PciRoot.CONFIG_DATA_PORT + (offset & 3), Math.min(size, 4), value);
            }
            ecamRead(slot, random.nextInt(0x1000), sizes[random.nextInt(4)]);
        }
        // Whatever the guest did, each BAR is decoded exactly where its register and the command register say.
        int command = (int) ecamRead(3, PciHeader.COMMAND, 2);
        long bar2 = ecamRead(3, PciHeader.bar(2), 4) & ~0xFL;
        boolean memoryOn = (command & PciHeader.COMMAND_MEMORY) != 0;
        assertThat(root.mappedAddress(3, 2)).isIn(memoryOn && bar2 != 0 ? bar2 : -1, -1L);
        if (root.mappedAddress(3, 2) != -1) {
            assertThat(mmio.read(0, bar2 + 8, 4)).isEqualTo(0xB2_0008);
        }
        assertThat(ecamRead(3, PciHeader.VENDOR_ID, 4)).as("identity is read-only").isEqualTo(0x1234_1AF4L);
        assertThat(ecamRead(0, PciHeader.CLASS_DEVICE, 2)).isEqualTo(0x0600);
    }

    @Test
    void saveAndRestoreBringBackConfigurationAndDecoding() {
        root.placeBar(3, 2, 0xC000_1000L);
        root.enableDecoding(3);
        type1Write(3, PciHeader.INTERRUPT_LINE, 1, 0x0B);
        PciRootState state = root.save();
        MsixTableState msix = function.msix.save();

        PioBus pio2 = new PioBus();
        MmioBus mmio2 = new MmioBus();
        PciRoot copy = new PciRoot(pio2, mmio2, gsi -> gsis[gsi]);
        TestFunction function2 = new TestFunction(delivered);
        copy.attach(3, function2);
        copy.restore(state);
        function2.msix.restore(msix);
        assertThat(copy.save()).isEqualTo(state);
        assertThat(function2.msix.save()).isEqualTo(msix);
        assertThat(mmio2.read(0, 0xC000_1008L, 4)).isEqualTo(0xB2_0008);
    }
}
