package dev.hako.vmm.boot;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Debian's bzImage carries an LZ4-compressed vmlinux with a PVH note (Debian builds with CONFIG_PVH=y). */
class BzImagePayloadTest {
    @Test
    void debianCompressesItsKernelWithLz4() throws Exception {
        assertThat(BzImagePayload.compression(DebianKernelFixture.bzImage(), "vmlinuz")).isEqualTo(Compression.LZ4);
    }

    @Test
    void extractedVmlinuxIsAnX86_64ElfWithTheXenPhys32EntryNote() throws Exception {
        Elf64 elf = Elf64.parse(DebianKernelFixture.vmlinux(), "vmlinux");
        assertThat(elf.machine()).isEqualTo(Elf64.EM_X86_64);
        assertThat(elf.type()).isEqualTo(Elf64.ET_EXEC);
        assertThat(elf.entry()).isEqualTo(0x1000000);
        assertThat(elf.note("Xen", HvmStartInfo.XEN_ELFNOTE_PHYS32_ENTRY)).isPresent();
        assertThat(elf.note("GNU", 3)).as("build ID").isPresent();
    }

    @Test
    void programHeadersAndPvhEntryAgreeWithTheHostsReadelf(@TempDir Path dir) throws Exception {
        Path vmlinux = dir.resolve("vmlinux");
        Files.write(vmlinux, DebianKernelFixture.vmlinux());
        String segments = readelf("-lW", vmlinux);
        Elf64 elf = Elf64.parse(DebianKernelFixture.vmlinux(), "vmlinux");
        for (Elf64.Segment s : elf.loadSegments()) {
            assertThat(segments).containsPattern(String.format("LOAD +0x0*%x 0x%016x 0x%016x 0x0*%x 0x0*%x",
                    s.offset(), s.vaddr(), s.paddr(), s.fileSize(), s.memSize()));
        }
        long entry = new PvhLoader(DebianKernelFixture.vmlinux(), "vmlinux").entry();
        StringBuilder bytes = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            bytes.append(String.format("%02x ", (entry >>> (8 * i)) & 0xFF));
        }
        assertThat(readelf("-n", vmlinux)).contains("(0x00000012)\n   description data: " + bytes.toString().trim());
    }

    private static String readelf(String option, Path file) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("readelf", option, file.toString()).redirectErrorStream(true).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("readelf (binutils) is not installed: no host oracle for ELF parsing");
            return "";
        }
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        return out;
    }

    @Test
    void extractedSizeMatchesTheSizeTheBuildAppended() throws Exception {
        byte[] image = DebianKernelFixture.bzImage();
        SetupHeader h = SetupHeader.parse(image, "vmlinuz");
        int end = (int) (h.protectedModeOffset() + h.payloadOffset() + h.payloadLength());
        long appended = java.nio.ByteBuffer.wrap(image, end - 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getInt() & 0xFFFF_FFFFL;
        assertThat((long) DebianKernelFixture.vmlinux().length).isEqualTo(appended);
    }
}
