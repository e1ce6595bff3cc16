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

import static org.assertj.core.api.Assertions.assertThat;

/** Debian's vmlinux, extracted from its bzImage, booted through the Xen PVH entry. */
class PvhLoaderTest {
    private static final String CMDLINE = "console=ttyS0";
    private static final long RSDP = 0xE0000;

    private Arena arena;
    private GuestMemory memory;
    private final byte[] initrd = "a small initrd".repeat(1000).getBytes(StandardCharsets.US_ASCII);

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        memory = DebianKernelFixture.ram(arena, 256);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    private PvhLoader loader() throws KernelFormatException {
        return new PvhLoader(DebianKernelFixture.vmlinux(), "vmlinux");
    }

    private ByteBuffer startInfo() {
        byte[] page = new byte[4096];
        memory.read(BootLayout.PVH_START_INFO, page, 0, page.length);
        return ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void debiansKernelHasAPvhEntryInsideItsFirstSegment() throws Exception {
        PvhLoader loader = loader();
        Elf64.Segment first = loader.elf().loadSegments().getFirst();
        assertThat(first.paddr()).isEqualTo(0x1000000);
        assertThat(loader.entry()).isBetween(first.paddr(), first.paddr() + first.memSize());
    }

    @Test
    void segmentsAreLoadedAtTheirPhysicalAddresses() throws Exception {
        loader().load(memory, BootSpec.of(memory.size(), CMDLINE, initrd, RSDP));
        byte[] file = DebianKernelFixture.vmlinux();
        for (Elf64.Segment s : loader().elf().loadSegments()) {
            byte[] back = new byte[(int) s.fileSize()];
            memory.read(s.paddr(), back, 0, back.length);
            assertThat(Arrays.equals(back, 0, back.length, file, (int) s.offset(), (int) (s.offset() + s.fileSize())))
                    .as("segment at %#x", s.paddr()).isTrue();
        }
    }

    @Test
    void entryStateIsThirtyTwoBitProtectedModeWithPagingOff() throws Exception {
        BootState s = loader().load(memory, BootSpec.of(memory.size(), CMDLINE, initrd, RSDP));
        assertThat(s.mode()).isEqualTo(BootState.Mode.PROTECTED_MODE_32);
        assertThat(s.rip()).isEqualTo(loader().entry());
        assertThat(s.rbx()).isEqualTo(BootLayout.PVH_START_INFO);
        assertThat(s.cr0() & BootState.CR0_PE).isNotZero();
        assertThat(s.cr0() & BootState.CR0_PG).isZero();
        assertThat(s.efer()).isZero();
        assertThat(s.rflags() & ((1 << 9) | (1 << 8) | (1 << 17))).isZero();
        assertThat(s.cs().defaultBig()).isTrue();
        assertThat(s.cs().longMode()).isFalse();
        assertThat(s.cs().limit()).isEqualTo(0xFFFF_FFFFL);
        assertThat(s.ds().limit()).isEqualTo(0xFFFF_FFFFL);
        assertThat(s.ss().defaultBig()).isTrue();
        assertThat(s.tr().type()).as("busy 32-bit TSS").isEqualTo(0xB);
        assertThat(s.tr().limit()).isEqualTo(0x67);
    }

    @Test
    void startInfoDescribesCommandLineInitrdMemoryMapAndRsdp() throws Exception {
        loader().load(memory, BootSpec.of(memory.size(), CMDLINE, initrd, RSDP));
        ByteBuffer info = startInfo();
        assertThat(info.getInt(HvmStartInfo.MAGIC)).isEqualTo(0x336EC578);
        assertThat(info.getInt(HvmStartInfo.VERSION)).isEqualTo(1);
        assertThat(info.getLong(HvmStartInfo.RSDP_PADDR)).isEqualTo(RSDP);

        byte[] line = new byte[CMDLINE.length() + 1];
        memory.read(info.getLong(HvmStartInfo.CMDLINE_PADDR), line, 0, line.length);
        assertThat(new String(line, StandardCharsets.US_ASCII)).isEqualTo(CMDLINE + "\0");

        assertThat(info.getInt(HvmStartInfo.NR_MODULES)).isEqualTo(1);
        int module = (int) (info.getLong(HvmStartInfo.MODLIST_PADDR) - BootLayout.PVH_START_INFO);
        long initrdAt = info.getLong(module + HvmStartInfo.MODLIST_ENTRY_PADDR);
        assertThat(info.getLong(module + HvmStartInfo.MODLIST_ENTRY_SIZE)).isEqualTo(initrd.length);
        assertThat(initrdAt % 4096).isZero();
        byte[] back = new byte[initrd.length];
        memory.read(initrdAt, back, 0, back.length);
        assertThat(back).isEqualTo(initrd);
        long kernelEnd = loader().elf().loadSegments().stream().mapToLong(s -> s.paddr() + s.memSize()).max()
                .orElseThrow();
        assertThat(initrdAt).isGreaterThanOrEqualTo(kernelEnd);

        E820Map expected = E820Map.forRam(memory.size());
        assertThat(info.getInt(HvmStartInfo.MEMMAP_ENTRIES)).isEqualTo(expected.entries().size());
        int at = (int) (info.getLong(HvmStartInfo.MEMMAP_PADDR) - BootLayout.PVH_START_INFO);
        for (E820Map.Entry e : expected.entries()) {
            assertThat(new E820Map.Entry(info.getLong(at), info.getLong(at + 8), info.getInt(at + 16))).isEqualTo(e);
            at += HvmStartInfo.MEMMAP_ENTRY_BYTES;
        }
    }

    @Test
    void noInitrdMeansNoModules() throws Exception {
        loader().load(memory, BootSpec.of(memory.size(), CMDLINE, new byte[0], 0));
        assertThat(startInfo().getInt(HvmStartInfo.NR_MODULES)).isZero();
        assertThat(startInfo().getLong(HvmStartInfo.MODLIST_PADDR)).isZero();
    }
}
