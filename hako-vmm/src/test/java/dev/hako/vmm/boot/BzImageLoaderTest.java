package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loads Debian's cloud kernel (a real bzImage) and checks what a 64-bit boot-protocol kernel will find. */
class BzImageLoaderTest {
    private static final long MIB = 1 << 20;
    private static final String CMDLINE = "console=ttyS0 root=/dev/ram0 quiet";
    private static final long RSDP = 0xE0000;

    private Arena arena;
    private GuestMemory memory;
    private byte[] initrd;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = DebianKernelFixture.ram(arena, 256);
        initrd = new byte[123_457];
        new Random(7).nextBytes(initrd);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    private BzImageLoader loader() throws KernelFormatException {
        return new BzImageLoader(DebianKernelFixture.bzImage(), "vmlinuz");
    }

    private BootState load() throws KernelFormatException {
        return loader().load(memory, BootSpec.of(memory.size(), CMDLINE, initrd, RSDP));
    }

    private BootParams zeroPage() {
        byte[] page = new byte[BootParams.SIZE];
        memory.read(BootLayout.BOOT_PARAMS, page, 0, page.length);
        return new BootParams(page);
    }

    @Test
    void debiansKernelIsARelocatable64BitBzImage() throws Exception {
        SetupHeader h = loader().header();
        assertThat(h.version()).isGreaterThanOrEqualTo(0x020C);
        assertThat(h.xloadflags() & BootParams.XLF_KERNEL_64).isNotZero();
        assertThat(h.relocatable()).isTrue();
        assertThat(h.prefAddress()).isEqualTo(0x1000000);
        assertThat(h.initSize()).isGreaterThan(h.payloadLength());
        assertThat(loader().loadAddress()).isEqualTo(h.prefAddress());
    }

    @Test
    void protectedModeKernelIsCopiedToTheLoadAddress() throws Exception {
        load();
        BzImageLoader loader = loader();
        byte[] image = DebianKernelFixture.bzImage();
        byte[] inGuest = new byte[loader.protectedModeSize()];
        memory.read(loader.loadAddress(), inGuest, 0, inGuest.length);
        int pm = loader.header().protectedModeOffset();
        assertThat(Arrays.equals(inGuest, 0, inGuest.length, image, pm, image.length)).isTrue();
    }

    @Test
    void entryStateIsTheSixtyFourBitBootProtocol() throws Exception {
        BootState s = load();
        assertThat(s.mode()).isEqualTo(BootState.Mode.LONG_MODE_64);
        assertThat(s.rip()).isEqualTo(0x1000000 + 0x200);
        byte[] entry = new byte[2];
        memory.read(s.rip(), entry, 0, 2);
        assertThat(entry).containsExactly(0xFC, 0xFA);  // startup_64: cld; cli
        assertThat(s.rsi()).isEqualTo(BootLayout.BOOT_PARAMS);
        assertThat(s.rflags() & (1 << 9)).as("IF").isZero();
        assertThat(s.cr0() & (BootState.CR0_PE | BootState.CR0_PG)).isEqualTo(BootState.CR0_PE | BootState.CR0_PG);
        assertThat(s.cr4() & BootState.CR4_PAE).isNotZero();
        assertThat(s.efer()).isEqualTo(BootState.IA32_EFER_LME | BootState.IA32_EFER_LMA);
        assertThat(s.cs().selector()).isEqualTo(0x10);
        assertThat(s.cs().longMode()).isTrue();
        assertThat(s.cs().defaultBig()).isFalse();
        assertThat(s.cs().type() & 0b1010).as("execute/read").isEqualTo(0b1010);
        for (SegmentState data : new SegmentState[] {s.ds(), s.es(), s.ss()}) {
            assertThat(data.selector()).isEqualTo(0x18);
            assertThat(data.base()).isZero();
            assertThat(data.limit()).isEqualTo(0xFFFF_FFFFL);
            assertThat(data.type() & 0b1010).as("data read/write").isEqualTo(0b0010);
            assertThat(data.present()).isTrue();
        }
    }

    @Test
    void gdtInMemoryHoldsTheDescriptorsTheSegmentsCameFrom() throws Exception {
        BootState s = load();
        assertThat(s.gdt().base()).isEqualTo(BootLayout.GDT);
        byte[] gdt = new byte[s.gdt().limit() + 1];
        memory.read(s.gdt().base(), gdt, 0, gdt.length);
        ByteBuffer b = ByteBuffer.wrap(gdt).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(SegmentState.fromDescriptor(0x10, b.getLong(0x10))).isEqualTo(s.cs());
        assertThat(SegmentState.fromDescriptor(0x18, b.getLong(0x18))).isEqualTo(s.ds());
    }

    @Test
    void pageTablesIdentityMapTheFirstFourGigabytes() throws Exception {
        BootState s = load();
        for (long gpa : new long[] {0, BootLayout.BOOT_PARAMS, BootLayout.CMDLINE, s.rip(), 0x1000000 + 0x3378000,
                memory.size() - 1, 0xFEC00000L, 0xFFFF_FFFFL}) {
            assertThat(PageWalk.translate(memory, s.cr3(), gpa)).as("%#x", gpa).isEqualTo(gpa);
        }
        assertThat(PageWalk.translate(memory, s.cr3(), 0x1_0000_0000L)).isEqualTo(-1);
    }

    @Test
    void zeroPageCarriesTheSetupHeaderAndLoaderFields() throws Exception {
        load();
        BootParams p = zeroPage();
        assertThat(p.u16(BootParams.BOOT_FLAG)).isEqualTo(0xAA55);
        assertThat(p.u32(BootParams.HEADER)).isEqualTo(BootParams.HEADER_MAGIC);
        assertThat(p.u16(BootParams.VERSION)).isEqualTo(loader().header().version());
        assertThat(p.u32(BootParams.INIT_SIZE)).isEqualTo(loader().header().initSize());
        assertThat(p.u8(BootParams.TYPE_OF_LOADER)).isEqualTo(0xFF);
        assertThat(p.u8(BootParams.LOADFLAGS)).isEqualTo(
                BootParams.LOADFLAGS_LOADED_HIGH | BootParams.LOADFLAGS_CAN_USE_HEAP);
        assertThat(p.u16(BootParams.HEAP_END_PTR)).isEqualTo(0xFE00);
        assertThat(p.u64(BootParams.ACPI_RSDP_ADDR)).isEqualTo(RSDP);
        assertThat(p.u8(BootParams.SENTINEL)).isZero();
        assertThat(p.e820()).isEqualTo(E820Map.forRam(memory.size()));
    }

    @Test
    void commandLineIsNulTerminatedAtCmdLinePtr() throws Exception {
        load();
        long ptr = zeroPage().getSplit(BootParams.CMD_LINE_PTR, BootParams.EXT_CMD_LINE_PTR);
        byte[] line = new byte[CMDLINE.length() + 1];
        memory.read(ptr, line, 0, line.length);
        assertThat(new String(line, 0, CMDLINE.length(), StandardCharsets.US_ASCII)).isEqualTo(CMDLINE);
        assertThat(line[CMDLINE.length()]).isZero();
    }

    @Test
    void nonAsciiCommandLineReachesTheGuestAsItsUtf8Bytes() throws Exception {
        String cmdline = "console=ttyS0 hako.word=h\u00e9llo-\u20ac-\u732b";
        loader().load(memory, BootSpec.of(memory.size(), cmdline, new byte[0], RSDP));
        byte[] utf8 = cmdline.getBytes(StandardCharsets.UTF_8);
        byte[] line = new byte[utf8.length + 1];
        memory.read(BootLayout.CMDLINE, line, 0, line.length);
        assertThat(Arrays.copyOf(line, utf8.length)).containsExactly(utf8);
        assertThat(line[utf8.length]).isZero();
    }

    @Test
    void initrdIsHighPageAlignedAboveTheKernelAndIntact() throws Exception {
        load();
        BootParams p = zeroPage();
        long image = p.getSplit(BootParams.RAMDISK_IMAGE, BootParams.EXT_RAMDISK_IMAGE);
        long size = p.getSplit(BootParams.RAMDISK_SIZE, BootParams.EXT_RAMDISK_SIZE);
        assertThat(size).isEqualTo(initrd.length);
        assertThat(image % 4096).isZero();
        assertThat(image + size).isLessThanOrEqualTo(memory.size()).isGreaterThan(memory.size() - 4096);
        assertThat(image).isGreaterThanOrEqualTo(0x1000000 + loader().header().initSize());
        assertThat(image + size - 1).isLessThanOrEqualTo(loader().header().initrdAddrMax());
        byte[] back = new byte[initrd.length];
        memory.read(image, back, 0, back.length);
        assertThat(back).isEqualTo(initrd);
    }

    @Test
    void noInitrdLeavesTheRamdiskFieldsZero() throws Exception {
        loader().load(memory, BootSpec.of(memory.size(), CMDLINE, new byte[0], 0));
        BootParams p = zeroPage();
        assertThat(p.u32(BootParams.RAMDISK_IMAGE)).isZero();
        assertThat(p.u32(BootParams.RAMDISK_SIZE)).isZero();
        assertThat(p.u64(BootParams.ACPI_RSDP_ADDR)).isZero();
    }

    @Test
    void tooLittleRamForTheDecompressorIsRefused() throws Exception {
        try (Arena small = Arena.ofConfined()) {
            GuestMemory tiny = DebianKernelFixture.ram(small, 48);
            assertThatThrownBy(() -> loader().load(tiny, BootSpec.of(tiny.size(), CMDLINE, new byte[0], 0)))
                    .isInstanceOf(KernelFormatException.class).hasMessageContaining("needs 0x");
        }
    }

    @Test
    void initrdThatDoesNotFitIsRefused() {
        byte[] huge = new byte[(int) (200 * MIB)];
        assertThatThrownBy(() -> loader().load(memory, BootSpec.of(memory.size(), CMDLINE, huge, 0)))
                .isInstanceOf(KernelFormatException.class).hasMessageContaining("no room for an initrd");
    }

    @Test
    void commandLineLongerThanTheKernelAcceptsIsRefused() {
        String tooLong = "x".repeat(4000);
        assertThatThrownBy(() -> loader().load(memory, BootSpec.of(memory.size(), tooLong, new byte[0], 0)))
                .isInstanceOf(KernelFormatException.class).hasMessageContaining("2047");
    }
}
