package dev.hako.devices.virtio.blk;

import static dev.hako.devices.virtio.VirtioTestDriver.DATA;
import static dev.hako.devices.virtio.VirtioTestDriver.INDIRECT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.irq.MsiMessage;
import dev.hako.core.memory.GuestMemory;
import dev.hako.devices.virtio.FileBlockBackend;
import dev.hako.devices.virtio.VirtioFeatures;
import dev.hako.devices.virtio.VirtioPciFunction;
import dev.hako.devices.virtio.VirtioTestDriver;
import dev.hako.devices.virtio.Virtqueue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** virtio-blk requests from a miniature driver against a real image file. */
class VirtioBlockTest {
    private static final int NEXT = Virtqueue.DESC_F_NEXT, WRITE = Virtqueue.DESC_F_WRITE;
    private static final long HEADER = DATA, STATUS = DATA + 0x100, BUFFER = DATA + 0x1000;
    private static final long FEATURES = VirtioFeatures.TRANSPORT | 1L << VirtioBlock.F_FLUSH
            | 1L << VirtioBlock.F_DISCARD | 1L << VirtioBlock.F_WRITE_ZEROES | 1L << VirtioBlock.F_SEG_MAX;

    @TempDir
    Path dir;
    private final Arena arena = Arena.ofConfined();
    private final GuestMemory memory = new GuestMemory(arena.allocate(4 << 20, 4096));
    private final List<MsiMessage> interrupts = new ArrayList<>();
    private FileBlockBackend backend;
    private VirtioPciFunction function;
    private VirtioTestDriver driver;
    private Path image;

    @AfterEach
    void close() throws IOException {
        backend.close();
        arena.close();
    }

    private void start(boolean readOnly, long features) throws IOException {
        image = dir.resolve("disk.img");
        byte[] content = new byte[64 * 1024];
        for (int i = 0; i < content.length; i++) {
            content[i] = (byte) (i * 7 + i / 512);
        }
        Files.write(image, content);
        backend = new FileBlockBackend(image, readOnly);
        function = new VirtioPciFunction("virtio-blk0", memory, new VirtioBlock(backend, "hako-serial-1"),
                interrupts::add);
        driver = new VirtioTestDriver(memory, function);
        assertThat(driver.negotiate(features & driver.deviceFeatures())).isTrue();
        driver.setupQueue(0, 16, 1);
        driver.enableMsix();
        driver.driverOk();
    }

    private void header(int type, long sector) {
        memory.setU32(HEADER, type);
        memory.setU32(HEADER + 4, 0);
        memory.setU64(HEADER + 8, sector);
        memory.setU8(STATUS, 0xEE);
    }

    /** header, data (direction by type), status: three direct descriptors from index {@code at}. */
    private void request(int at, int type, long sector, long buffer, int length) {
        header(type, sector);
        int dataFlags = type == VirtioBlock.T_OUT ? NEXT : NEXT | WRITE;
        driver.descriptor(at, HEADER, 16, NEXT, at + 1);
        driver.descriptor(at + 1, buffer, length, dataFlags, at + 2);
        driver.descriptor(at + 2, STATUS, 1, WRITE, 0);
        driver.publish(at);
        driver.kick(0);
    }

    private byte[] guest(long gpa, int length) {
        byte[] out = new byte[length];
        memory.read(gpa, out, 0, length);
        return out;
    }

    private byte[] disk(long offset, int length) throws IOException {
        byte[] all = Files.readAllBytes(image);
        return java.util.Arrays.copyOfRange(all, (int) offset, (int) offset + length);
    }

    @Test
    void readsTheImageIntoGuestMemory() throws IOException {
        start(false, FEATURES);
        request(0, VirtioBlock.T_IN, 3, BUFFER, 1024);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(guest(BUFFER, 1024)).isEqualTo(disk(3 * 512, 1024));
        assertThat(driver.usedIdx()).isEqualTo(1);
        assertThat(driver.usedId(0)).isZero();
        assertThat(driver.usedLength(0)).as("data and status written").isEqualTo(1025);
        assertThat(interrupts).containsExactly(new MsiMessage(0xFEE0_0000L, 0x31));
    }

    @Test
    void writesReachTheFileAndFlushMakesThemDurable() throws IOException {
        start(false, FEATURES);
        byte[] pattern = "hako writes this to sector five ".repeat(32).getBytes(StandardCharsets.US_ASCII);
        memory.write(BUFFER, pattern, 0, 1024);
        request(0, VirtioBlock.T_OUT, 5, BUFFER, 1024);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(driver.usedLength(0)).as("only the status byte is written").isEqualTo(1);
        header(VirtioBlock.T_FLUSH, 0);
        driver.descriptor(3, HEADER, 16, NEXT, 4);
        driver.descriptor(4, STATUS, 1, WRITE, 0);
        driver.publish(3);
        driver.kick(0);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(backend.flushes).isEqualTo(1);
        assertThat(disk(5 * 512, 1024)).isEqualTo(java.util.Arrays.copyOf(pattern, 1024));
    }

    @Test
    void headerAndDataMaySplitAcrossDescriptorsAndShareThem() throws IOException {
        start(false, FEATURES);
        // The header in two pieces (10 + 6 bytes), then data and status sharing one writable buffer.
        header(VirtioBlock.T_IN, 1);
        memory.write(BUFFER + 0x10000, guest(HEADER + 10, 6), 0, 6);
        driver.descriptor(0, HEADER, 10, NEXT, 1);
        driver.descriptor(1, BUFFER + 0x10000, 6, NEXT, 2);
        driver.descriptor(2, BUFFER, 513, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
        assertThat(memory.getU8(BUFFER + 512)).isEqualTo(VirtioBlock.S_OK);
        assertThat(guest(BUFFER, 512)).isEqualTo(disk(512, 512));
    }

    @Test
    void indirectChainsAreServed() throws IOException {
        start(false, FEATURES);
        header(VirtioBlock.T_IN, 8);
        driver.descriptor(INDIRECT, 0, HEADER, 16, NEXT, 1);
        driver.descriptor(INDIRECT, 1, BUFFER, 512, NEXT | WRITE, 2);
        driver.descriptor(INDIRECT, 2, BUFFER + 4096, 512, NEXT | WRITE, 3);
        driver.descriptor(INDIRECT, 3, STATUS, 1, WRITE, 0);
        driver.descriptor(5, INDIRECT, 64, Virtqueue.DESC_F_INDIRECT, 0);
        driver.publish(5);
        driver.kick(0);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(driver.usedId(0)).isEqualTo(5);
        assertThat(guest(BUFFER, 512)).isEqualTo(disk(8 * 512, 512));
        assertThat(guest(BUFFER + 4096, 512)).isEqualTo(disk(9 * 512, 512));
    }

    @Test
    void eventIndexSuppressesInterruptsUntilTheDriversMark() throws IOException {
        start(false, FEATURES);
        driver.usedEvent(1); // interrupt only once the used index passes 1, i.e. after the second request
        request(0, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(interrupts).isEmpty();
        assertThat(driver.availEvent()).as("the device asks to be notified of the next entry").isEqualTo(1);
        request(3, VirtioBlock.T_IN, 1, BUFFER, 512);
        assertThat(interrupts).hasSize(1);
        request(6, VirtioBlock.T_IN, 2, BUFFER, 512);
        assertThat(interrupts).as("used_event still 1").hasSize(1);
    }

    @Test
    void withoutEventIndexTheNoInterruptFlagIsHonoured() throws IOException {
        start(false, FEATURES & ~(1L << VirtioFeatures.RING_EVENT_IDX));
        memory.setU16(VirtioTestDriver.AVAIL, Virtqueue.AVAIL_F_NO_INTERRUPT);
        request(0, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(interrupts).isEmpty();
        memory.setU16(VirtioTestDriver.AVAIL, 0);
        request(3, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(interrupts).hasSize(1);
    }

    @Test
    void getIdReturnsTheSerial() throws IOException {
        start(false, FEATURES);
        request(0, VirtioBlock.T_GET_ID, 0, BUFFER, 20);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(new String(guest(BUFFER, 13), StandardCharsets.US_ASCII)).isEqualTo("hako-serial-1");
        assertThat(memory.getU8(BUFFER + 13)).isZero();
        assertThat(driver.usedLength(0)).isEqualTo(21);
    }

    private void segmentRequest(int type, long sector, long count, int flags) {
        header(type, sector);
        memory.setU64(BUFFER, sector);
        memory.setU32(BUFFER + 8, count);
        memory.setU32(BUFFER + 12, flags);
        driver.descriptor(0, HEADER, 16, NEXT, 1);
        driver.descriptor(1, BUFFER, 16, NEXT, 2);
        driver.descriptor(2, STATUS, 1, WRITE, 0);
        driver.publish(0);
        driver.kick(0);
    }

    @Test
    void writeZeroesAndDiscardClearTheRange() throws IOException {
        start(false, FEATURES);
        segmentRequest(VirtioBlock.T_WRITE_ZEROES, 2, 3, 0);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        assertThat(disk(2 * 512, 3 * 512)).containsOnly(0);
        assertThat(disk(5 * 512, 1)).as("the sector after the range keeps its data").containsExactly(5);
        segmentRequest(VirtioBlock.T_DISCARD, 10, 1, 0);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
        segmentRequest(VirtioBlock.T_DISCARD, 10, 1, VirtioBlock.WRITE_ZEROES_UNMAP);
        assertThat(memory.getU8(STATUS)).as("unmap is not a discard flag").isEqualTo(VirtioBlock.S_UNSUPP);
        segmentRequest(VirtioBlock.T_WRITE_ZEROES, 120, 20, 0);
        assertThat(memory.getU8(STATUS)).as("past the capacity").isEqualTo(VirtioBlock.S_IOERR);
    }

    @Test
    void discardNotNegotiatedIsUnsupported() throws IOException {
        start(false, FEATURES & ~(1L << VirtioBlock.F_DISCARD));
        segmentRequest(VirtioBlock.T_DISCARD, 2, 1, 0);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_UNSUPP);
    }

    @Test
    void readOnlyDiskOffersRoAndFailsWrites() throws IOException {
        start(true, FEATURES | 1L << VirtioBlock.F_RO);
        assertThat(driver.deviceFeatures() & 1L << VirtioBlock.F_RO).isNotZero();
        assertThat(driver.deviceFeatures() & 1L << VirtioBlock.F_DISCARD).isZero();
        byte[] before = Files.readAllBytes(image);
        request(0, VirtioBlock.T_OUT, 0, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_IOERR);
        assertThat(Files.readAllBytes(image)).isEqualTo(before);
        request(3, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
    }

    @Test
    void requestsOutsideTheDiskOrOfOddLengthFail() throws IOException {
        start(false, FEATURES);
        request(0, VirtioBlock.T_IN, 127, BUFFER, 1024);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_IOERR);
        request(3, VirtioBlock.T_IN, -1, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_IOERR);
        request(6, VirtioBlock.T_OUT, 0, BUFFER, 100);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_IOERR);
        request(9, 77, 0, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_UNSUPP);
        assertThat(driver.status() & VirtioFeatures.STATUS_DEVICE_NEEDS_RESET).isZero();
    }

    @Test
    void backendErrorsCompleteWithIoError() throws IOException {
        start(false, FEATURES);
        backend.failNext = new IOException("disk on fire");
        request(0, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_IOERR);
        request(3, VirtioBlock.T_IN, 0, BUFFER, 512);
        assertThat(memory.getU8(STATUS)).isEqualTo(VirtioBlock.S_OK);
    }

    @Test
    void stateSurvivesSaveAndRestore() throws IOException {
        start(false, FEATURES);
        VirtioBlock block = (VirtioBlock) function.device();
        VirtioBlockState state = block.save();
        assertThat(state.activeFeatures()).isEqualTo(FEATURES & driver.deviceFeatures());
        VirtioBlock copy = new VirtioBlock(backend, "hako-serial-1");
        copy.restore(state);
        assertThat(copy.save()).isEqualTo(state);
    }

    @Test
    void configurationSpaceDescribesTheDisk() throws IOException {
        start(false, FEATURES);
        long base = VirtioPciFunction.DEVICE_OFFSET;
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_CAPACITY, 4)).isEqualTo(128);
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_CAPACITY + 4, 4)).isZero();
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_SEG_MAX, 4)).isEqualTo(VirtioBlock.SEG_MAX);
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_SIZE_MAX, 4)).isEqualTo(VirtioBlock.SIZE_MAX);
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_BLK_SIZE, 4)).isEqualTo(512);
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_MAX_DISCARD_SEG, 4)).isEqualTo(1);
        driver.bar().write(0, base + VirtioBlock.CFG_CAPACITY, 4, 7);
        assertThat(driver.bar().read(0, base + VirtioBlock.CFG_CAPACITY, 4)).as("read-only").isEqualTo(128);
    }
}
