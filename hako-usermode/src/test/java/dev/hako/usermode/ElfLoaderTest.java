package dev.hako.usermode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The ELF loader refuses what it cannot run with a clear message, and runs tiny hand-made programs. */
class ElfLoaderTest {
    private static final String EXIT_42 = "b83c000000 bf2a000000 0f05";
    @TempDir
    Path dir;

    private Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void missingFileGives127() throws IOException {
        GuestRun.Result r = GuestRun.hako(dir, null, dir.resolve("nope").toString());
        assertThat(r.status()).isEqualTo(127);
        assertThat(r.messages()).contains("nope").contains("no such file");
    }

    @Test
    void directoryIsRefused() {
        assertThatThrownBy(() -> ElfImage.read(dir)).isInstanceOf(ElfException.class).hasMessageContaining("directory");
    }

    @Test
    void textFileIsNotElf() throws IOException {
        Path p = write("script", "#!/bin/sh\necho hi\n".getBytes());
        GuestRun.Result r = GuestRun.hako(dir, null, p.toString());
        assertThat(r.status()).isEqualTo(126);
        assertThat(r.messages()).contains("not an ELF file");
    }

    @Test
    void emptyAndTruncatedFiles() {
        assertThatThrownBy(() -> ElfImage.parse("e", new byte[0])).hasMessageContaining("not an ELF file");
        assertThatThrownBy(() -> ElfImage.parse("t", new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1}))
                .hasMessageContaining("truncated ELF header");
    }

    @Test
    void wrongClassMachineAndType() {
        byte[] code = HexFormat.of().parseHex("0f05");
        assertThatThrownBy(() -> ElfImage.parse("c", TinyElf.build(code, 1, 62, 2, 0))).hasMessageContaining("64-bit");
        assertThatThrownBy(() -> ElfImage.parse("m", TinyElf.build(code, 2, 183, 2, 0)))
                .hasMessageContaining("not an x86-64 program");
        assertThatThrownBy(() -> ElfImage.parse("r", TinyElf.build(code, 2, 62, 1, 0)))
                .hasMessageContaining("not an executable");
    }

    @Test
    void dynamicExecutablesAreRefused() throws IOException {
        assertThatThrownBy(() -> ElfImage.parse("d", TinyElf.build(new byte[2], 2, 62, 2, 3)))
                .hasMessageContaining("dynamically linked");
        GuestRun.Result r = GuestRun.hako(dir, null, "/bin/true");
        assertThat(r.status()).isEqualTo(126);
        assertThat(r.messages()).contains("dynamically linked");
    }

    @Test
    void segmentsOutsideTheFileOrAddressSpace() {
        byte[] elf = TinyElf.of(EXIT_42);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(64 + 32, 1 << 20); // p_filesz beyond the file
        assertThatThrownBy(() -> ElfImage.parse("f", elf)).hasMessageContaining("outside the file");
        byte[] far = TinyElf.of(EXIT_42);
        ByteBuffer.wrap(far).order(ByteOrder.LITTLE_ENDIAN).putLong(64 + 16, 0x7fff_0000_0000L);
        assertThatThrownBy(() -> ElfImage.parse("a", far)).hasMessageContaining("outside the 64 GiB");
        byte[] phdrs = TinyElf.of(EXIT_42);
        ByteBuffer.wrap(phdrs).order(ByteOrder.LITTLE_ENDIAN).putLong(32, 1 << 20);
        assertThatThrownBy(() -> ElfImage.parse("p", phdrs)).hasMessageContaining("program headers lie outside");
        byte[] entry = TinyElf.of(EXIT_42);
        ByteBuffer.wrap(entry).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 0x900000);
        assertThatThrownBy(() -> ElfImage.parse("e", entry)).hasMessageContaining("entry point");
    }

    @Test
    void tinyProgramExits() throws IOException {
        GuestRun.Result r = GuestRun.hako(dir, null, write("exit42", TinyElf.of(EXIT_42)).toString());
        assertThat(r.status()).isEqualTo(42);
        assertThat(r.messages()).isEmpty();
    }

    @Test
    void stackHoldsArgcAndIsAligned() throws IOException {
        // mov rdi,[rsp]; exit(rdi)
        Path argc = write("argc", TinyElf.of("488b3c24 b83c000000 0f05"));
        assertThat(GuestRun.hako(dir, null, argc.toString(), "a", "b").status()).isEqualTo(3);
        // mov rdi,rsp; and edi,15; exit(rdi)
        Path align = write("align", TinyElf.of("4889e7 83e70f b83c000000 0f05"));
        assertThat(GuestRun.hako(dir, null, align.toString()).status()).isZero();
    }

    @Test
    void badPointerGivesEfaultNotACrash() throws IOException {
        // write(1, 0x10, 10); exit(-result)
        Path p = write("efault", TinyElf.of("bf01000000 be10000000 ba0a000000 b801000000 0f05 89c7 f7df b83c000000 0f05"));
        assertThat(GuestRun.hako(dir, null, p.toString()).status()).isEqualTo(14);
        // write(1, 0x7fffffffffff0000, 10): outside the guest space entirely
        Path q = write("efault2", TinyElf.of(
                "bf01000000 48be0000ffffff7f0000 ba0a000000 b801000000 0f05 89c7 f7df b83c000000 0f05"));
        assertThat(GuestRun.hako(dir, null, q.toString()).status()).isEqualTo(14);
    }

    @Test
    void faultsEndTheProcessLikeSignals() throws IOException {
        GuestRun.Result nullRead = GuestRun.hako(dir, null, write("null", TinyElf.of("8b042500000000")).toString());
        assertThat(nullRead.status()).isEqualTo(128 + 11);
        assertThat(nullRead.messages()).contains("null: #PF at 0x0 (rip 0x400078)");
        GuestRun.Result codeWrite = GuestRun.hako(dir, null, write("smc", TinyElf.of("c60500000000 90")).toString());
        assertThat(codeWrite.status()).isEqualTo(128 + 11);
        GuestRun.Result ud2 = GuestRun.hako(dir, null, write("ud2", TinyElf.of("0f0b")).toString());
        assertThat(ud2.status()).isEqualTo(128 + 4);
        assertThat(ud2.messages()).contains("#UD at 0x400078").contains("bytes 0f 0b");
    }

    @Test
    void unsupportedSyscallIsReportedOnceAndGivesEnosys() throws IOException {
        // syscall 41 (socket) twice, exit(-result)
        Path p = write("socket", TinyElf.of("b829000000 0f05 b829000000 0f05 89c7 f7df b83c000000 0f05"));
        GuestRun.Result r = GuestRun.hako(dir, null, p.toString());
        assertThat(r.status()).isEqualTo(38);
        assertThat(r.messages()).isEqualTo("hako: unsupported syscall 41 (socket)" + System.lineSeparator());
    }
}
