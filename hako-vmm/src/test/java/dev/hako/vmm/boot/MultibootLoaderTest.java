package dev.hako.vmm.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.core.memory.GuestMemory;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Multiboot images made here byte by byte (the boot tests build real ones with gcc): where the loader puts the
 * image, what the information structure says, the entry state, and the images it refuses.
 */
class MultibootLoaderTest {
    private static final long LOAD = 0x100000;
    private static final int KLUDGE = Multiboot.HEADER_AOUT_KLUDGE;

    private Arena arena;
    private GuestMemory memory;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = new GuestMemory(arena.allocate(32L << 20, 4096));
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    /** A header at {@code at} of {@code image}: magic, flags, checksum (made to fit unless given), addresses. */
    private static void header(byte[] image, int at, int flags, Integer checksum, long... addresses) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(at, Multiboot.HEADER_MAGIC).putInt(at + 4, flags)
                .putInt(at + 8, checksum != null ? checksum : -(Multiboot.HEADER_MAGIC + flags));
        for (int i = 0; i < addresses.length; i++) {
            b.putInt(at + 12 + 4 * i, (int) addresses[i]);
        }
    }

    /** 0x200 bytes: the header at 0x40, loaded at 1 MiB up to 0x100 (the rest stays in the file), bss to 0x1000. */
    private static byte[] kludgeImage() {
        byte[] image = new byte[0x200];
        for (int i = 0; i < image.length; i++) {
            image[i] = (byte) (i | 1);
        }
        header(image, 0x40, KLUDGE | Multiboot.HEADER_PAGE_ALIGN, null, LOAD + 0x40, LOAD, LOAD + 0x100,
                LOAD + 0x1000, LOAD + 0x80);
        return image;
    }

    private static BootSpec spec(List<BootModule> modules) {
        return new BootSpec("console=none answer=42", new byte[0], 0, E820Map.forRam(32L << 20), modules);
    }

    private static MultibootLoader loader(byte[] image) throws KernelFormatException {
        return (MultibootLoader) KernelLoaders.forBytes(image, "/boot/mb.bin");
    }

    private String string(long gpa) {
        StringBuilder s = new StringBuilder();
        for (long at = gpa; memory.getU8(at) != 0; at++) {
            s.append((char) memory.getU8(at));
        }
        return s.toString();
    }

    @Test
    void theAoutKludgeLoadsWhereTheHeaderSaysAndZeroesTheBss() throws Exception {
        byte[] image = kludgeImage();
        memory.fill(LOAD, 0x2000, (byte) 0xAA);
        BootState state = loader(image).load(memory, spec(List.of()));
        byte[] loaded = new byte[0x100];
        memory.read(LOAD, loaded, 0, loaded.length);
        assertThat(loaded).containsExactly(java.util.Arrays.copyOf(image, 0x100));
        assertThat(memory.getU8(LOAD + 0x100)).isZero();
        assertThat(memory.getU8(LOAD + 0xFFF)).isZero();
        assertThat(memory.getU8(LOAD + 0x1000)).isEqualTo(0xAA);
        assertThat(state.rip()).isEqualTo(LOAD + 0x80);
    }

    @Test
    void theKernelStartsInTheMachineStateOfTheSpecification() throws Exception {
        BootState s = loader(kludgeImage()).load(memory, spec(List.of()));
        assertThat(s.mode()).isEqualTo(BootState.Mode.PROTECTED_MODE_32);
        assertThat(s.rax()).isEqualTo(0x2BADB002L);
        assertThat(s.rbx()).isEqualTo(BootLayout.MULTIBOOT_INFO);
        assertThat(s.cr0() & BootState.CR0_PE).isNotZero();
        assertThat(s.cr0() & BootState.CR0_PG).isZero();
        assertThat(s.efer()).isZero();
        assertThat(s.rflags()).isEqualTo(BootState.RFLAGS_FIXED); // IF and VM clear
        for (SegmentState seg : List.of(s.cs(), s.ds(), s.es(), s.fs(), s.gs(), s.ss())) {
            assertThat(seg.base()).isZero();
            assertThat(seg.limit()).isEqualTo(0xFFFF_FFFFL);
            assertThat(seg.attributes() & SegmentState.DB).isNotZero();
        }
        assertThat(s.cs().type() & 0x8).as("code").isNotZero();
        assertThat(s.ds().type() & 0xA).as("writable data").isEqualTo(0x2);
    }

    @Test
    void theInformationHoldsMemoryCommandLineModulesMapAndName() throws Exception {
        byte[] first = "first module".getBytes(StandardCharsets.US_ASCII);
        byte[] second = new byte[5000];
        second[4999] = 7;
        loader(kludgeImage()).load(memory, spec(List.of(new BootModule("a.txt x=1", first),
                new BootModule("b.bin", second), new BootModule("empty", new byte[0]))));
        long info = BootLayout.MULTIBOOT_INFO;
        assertThat(memory.getU32(info + Multiboot.INFO_FLAGS)).isEqualTo(0x24D);
        assertThat(memory.getU32(info + Multiboot.INFO_MEM_LOWER)).isEqualTo(639);
        assertThat(memory.getU32(info + Multiboot.INFO_MEM_UPPER)).isEqualTo(31 * 1024);
        assertThat(string(memory.getU32(info + Multiboot.INFO_CMDLINE)))
                .isEqualTo("/boot/mb.bin console=none answer=42");
        assertThat(string(memory.getU32(info + Multiboot.INFO_BOOT_LOADER_NAME))).isEqualTo("hako");

        assertThat(memory.getU32(info + Multiboot.INFO_MODS_COUNT)).isEqualTo(3);
        long mods = memory.getU32(info + Multiboot.INFO_MODS_ADDR);
        long start0 = memory.getU32(mods), end0 = memory.getU32(mods + 4);
        long start1 = memory.getU32(mods + 16), end1 = memory.getU32(mods + 20);
        long start2 = memory.getU32(mods + 32), end2 = memory.getU32(mods + 36);
        assertThat(start0).as("after the kernel's bss, page aligned").isEqualTo(LOAD + 0x1000);
        assertThat(end0 - start0).isEqualTo(first.length);
        assertThat(start1).isEqualTo(LOAD + 0x2000);
        assertThat(end1 - start1).isEqualTo(5000);
        assertThat(memory.getU8(end1 - 1)).isEqualTo(7);
        assertThat(start2).isEqualTo(LOAD + 0x4000);
        assertThat(end2).isEqualTo(start2);
        byte[] back = new byte[first.length];
        memory.read(start0, back, 0, back.length);
        assertThat(back).isEqualTo(first);
        assertThat(string(memory.getU32(mods + 8))).isEqualTo("a.txt x=1");
        assertThat(string(memory.getU32(mods + 24))).isEqualTo("b.bin");
        assertThat(string(memory.getU32(mods + 40))).isEqualTo("empty");

        E820Map map = E820Map.forRam(32L << 20);
        long mmap = memory.getU32(info + Multiboot.INFO_MMAP_ADDR);
        assertThat(memory.getU32(info + Multiboot.INFO_MMAP_LENGTH)).isEqualTo(24L * map.entries().size());
        for (E820Map.Entry e : map.entries()) {
            assertThat(memory.getU32(mmap)).as("size").isEqualTo(20);
            assertThat(memory.getU64(mmap + 4)).isEqualTo(e.address());
            assertThat(memory.getU64(mmap + 12)).isEqualTo(e.size());
            assertThat(memory.getU32(mmap + 20)).isEqualTo(e.type());
            mmap += 24;
        }
    }

    /** An i386 ELF with one PT_LOAD linked at 0xC0100000 and loaded at 1 MiB (a higher-half kernel). */
    private static byte[] higherHalfElf() {
        byte[] file = new byte[0x2000];
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7F, 'E', 'L', 'F', 1, 1, 1});
        b.putShort(16, (short) 2).putShort(18, (short) Elf32.EM_386).putInt(20, 1).putInt(24, 0xC010_0020)
                .putInt(28, 52).putShort(40, (short) 52).putShort(42, (short) 32).putShort(44, (short) 1);
        b.putInt(52, Elf64.PT_LOAD).putInt(56, 0x1000).putInt(60, 0xC010_0000).putInt(64, (int) LOAD)
                .putInt(68, 0x100).putInt(72, 0x3000).putInt(76, 7).putInt(80, 0x1000);
        header(file, 0x1000, Multiboot.HEADER_MEMORY_INFO, null);
        file[0x10FF] = 0x5A;
        return file;
    }

    @Test
    void anElfLoadsItsSegmentsAtTheirPhysicalAddressesAndEntersThere() throws Exception {
        MultibootLoader loader = loader(higherHalfElf());
        assertThat(loader.entry()).isEqualTo(LOAD + 0x20);
        memory.fill(LOAD, 0x4000, (byte) 0xAA);
        BootState s = loader.load(memory, spec(List.of(new BootModule("m", new byte[] {1}))));
        assertThat(s.rip()).isEqualTo(LOAD + 0x20);
        assertThat(memory.getU32(LOAD)).isEqualTo(Multiboot.HEADER_MAGIC);
        assertThat(memory.getU8(LOAD + 0xFF)).isEqualTo(0x5A);
        assertThat(memory.getU8(LOAD + 0x2FFF)).isZero();
        assertThat(memory.getU8(LOAD + 0x3000)).as("the module").isEqualTo(1);
        long mods = memory.getU32(BootLayout.MULTIBOOT_INFO + Multiboot.INFO_MODS_ADDR);
        assertThat(memory.getU32(mods)).isEqualTo(LOAD + 0x3000);
    }

    @Test
    void aHeaderWhoseChecksumIsWrongIsNamed() {
        byte[] image = kludgeImage();
        header(image, 0x40, KLUDGE, 0x1234, LOAD + 0x40, LOAD, 0, 0, LOAD);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "bad.bin")).isInstanceOf(KernelFormatException.class)
                .hasMessage("kernel bad.bin has a Multiboot header at offset 64 whose checksum 0x1234 does not "
                        + "complete magic and flags 0x10000 (their sum must be 0)");
    }

    @Test
    void aValidHeaderAfterABrokenOneCounts() throws Exception {
        byte[] image = kludgeImage();
        header(image, 0x20, KLUDGE, 0x1234);
        assertThat(loader(image).entry()).isEqualTo(LOAD + 0x80);
    }

    @Test
    void aHeaderBeyondTheFirst8KiBIsNotSeen() {
        byte[] image = new byte[0x3000];
        header(image, 8192, KLUDGE, null, LOAD + 8192, LOAD, 0, 0, LOAD);
        assertThatThrownBy(() -> KernelLoaders.forBytes(image, "far.bin")).hasMessageContaining("neither an ELF");
    }

    @Test
    void imagesTheLoaderCannotPlaceAreRefused() {
        byte[] before = kludgeImage();
        header(before, 0x40, KLUDGE, null, LOAD + 0x40, LOAD + 0x80, 0, 0, LOAD + 0x80);
        assertThatThrownBy(() -> loader(before)).hasMessageContaining("header_addr 0x100040 and load_addr 0x100080");
        byte[] past = kludgeImage();
        header(past, 0x40, KLUDGE, null, LOAD + 0x40, LOAD, LOAD + 0x400, 0, LOAD);
        assertThatThrownBy(() -> loader(past)).hasMessageContaining("past the end of the file");
        byte[] entry = kludgeImage();
        header(entry, 0x40, KLUDGE, null, LOAD + 0x40, LOAD, 0, 0, 0x500000);
        assertThatThrownBy(() -> loader(entry)).hasMessageContaining("entry_addr 0x500000 is outside the image");
        byte[] noAddresses = kludgeImage();
        header(noAddresses, 0x40, 0, null);
        assertThatThrownBy(() -> loader(noAddresses)).hasMessageContaining("is not an ELF");
        byte[] unknownRequirement = kludgeImage();
        header(unknownRequirement, 0x40, KLUDGE | 1 << 3, null, LOAD + 0x40, LOAD, 0, 0, LOAD);
        assertThatThrownBy(() -> loader(unknownRequirement)).hasMessageContaining("requires features 0x8");
    }

    @Test
    void a64BitElfWithAMultibootHeaderIsRefusedAsQemuDoes() {
        byte[] elf = higherHalfElf();
        elf[4] = Elf64.ELFCLASS64;
        assertThatThrownBy(() -> loader(elf)).hasMessageContaining("a 64-bit ELF with a Multiboot header");
    }

    @Test
    void anImageOverTheLowStructuresOrOutsideRamIsRefusedWhenLoaded() throws Exception {
        byte[] low = kludgeImage();
        header(low, 0x40, KLUDGE, null, 0x8040, 0x8000, 0, 0, 0x8000);
        assertThatThrownBy(() -> loader(low).load(memory, spec(List.of())))
                .hasMessageContaining("overlaps where hako puts the Multiboot information");
        byte[] high = kludgeImage();
        header(high, 0x40, KLUDGE, null, 0x4000040, 0x4000000, 0, 0, 0x4000000);
        assertThatThrownBy(() -> loader(high).load(memory, spec(List.of())))
                .hasMessageContaining("is not in guest RAM (32 MiB)");
        assertThatThrownBy(() -> loader(kludgeImage()).load(memory,
                spec(List.of(new BootModule("big", new byte[32 << 20])))))
                .hasMessageContaining("no room for Multiboot module 'big'");
    }

    @Test
    void aMultibootImageThatIsAlsoABootSectorBootsThroughMultibootAsInQemu() throws Exception {
        byte[] image = kludgeImage();
        image[0x1FE] = 0x55;
        image[0x1FF] = (byte) 0xAA;
        assertThat(KernelLoaders.forBytes(image, "floppy.img")).isInstanceOf(MultibootLoader.class);
    }

    @Test
    void modulesOfAKernelInLowMemoryGoAboveOneMiBWhenTheyDoNotFitBelow() throws Exception {
        byte[] image = kludgeImage();
        header(image, 0x40, KLUDGE, null, 0x90040, 0x90000, 0, 0x9F000, 0x90080);
        loader(image).load(memory, spec(List.of(new BootModule("small", new byte[0x800]),
                new BootModule("large", new byte[0x2000]))));
        long mods = memory.getU32(BootLayout.MULTIBOOT_INFO + Multiboot.INFO_MODS_ADDR);
        assertThat(memory.getU32(mods)).isEqualTo(0x9F000);
        assertThat(memory.getU32(mods + 16)).isEqualTo(LOAD);
    }

    @Test
    void moduleItemsAreSplitAsQemuSplitsThem() {
        assertThat(BootModule.items("a.bin x=1,b,,c.bin,d")).containsExactly("a.bin x=1", "b,c.bin", "d");
        assertThat(BootModule.file("a.bin x=1 y")).hasToString("a.bin");
        assertThat(BootModule.items("single")).containsExactly("single");
    }
}
