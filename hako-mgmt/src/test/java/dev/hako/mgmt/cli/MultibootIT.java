package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.hako.kvm.KvmProbe;
import dev.hako.vmm.image.HostTools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hako run --kernel} of a Multiboot kernel built here with gcc (test resources {@code multiboot/}): it
 * walks the information structure, prints the command line, the modules' strings and contents and the memory
 * map on isa-debugcon, and ends through isa-debug-exit with 0x10 plus its module count, so the process's status
 * tells how many modules it saw. QEMU, given the same kernel and options, is the independent check of what the
 * loader passes.
 */
class MultibootIT {
    private static final List<String> DEBUG_EXIT = List.of("--device", "isa-debug-exit,iobase=0xf4,iosize=4");
    /** The machine's E820 map for 64 MiB: PC holes, RAM from 1 MiB, the PCI ECAM window. */
    private static final List<String> MEMORY_MAP = List.of(
            "mmap 0x0 0x9fc00 type 1",
            "mmap 0x9fc00 0x400 type 2",
            "mmap 0xe0000 0x20000 type 2",
            "mmap 0x100000 0x3f00000 type 1",
            "mmap 0xe0000000 0x100000 type 2");

    @TempDir
    static Path dir;
    private static Path elf, aout, first, second;
    private static String modules;

    @BeforeAll
    static void build() throws Exception {
        elf = MultibootKernels.elf(dir);
        aout = MultibootKernels.aoutKludge(dir);
        first = Files.writeString(dir.resolve("first.txt"), "first module");
        second = Files.writeString(dir.resolve("second,one.txt"), "second, with a comma");
        modules = first + " alpha=1 beta," + second.toString().replace(",", ",,");
    }

    private static List<String> hako(String... args) {
        List<String> all = new ArrayList<>(List.of("run", "--memory", "64M", "--watchdog", "10"));
        all.addAll(List.of(args));
        return all;
    }

    private static CliResult run(List<String> args) throws Exception {
        return HakoProcess.run(HakoProcess.command(List.of(), args.toArray(String[]::new)), new byte[0], 120);
    }

    private List<String> expected(Path kernel) {
        List<String> lines = new ArrayList<>(List.of(
                "debugcon readback 0xe9",
                "flags 0x24d",
                "mem_lower 639 KiB",
                "mem_upper 64512 KiB",
                "cmdline [" + kernel + " hello multiboot]",
                "module 0 [" + first + " alpha=1 beta] 12 bytes page-aligned [first module]",
                "module 1 [" + second + "] 20 bytes page-aligned [second, with a comma]"));
        lines.addAll(MEMORY_MAP);
        lines.add("boot loader [hako]");
        return lines;
    }

    private void bootsWithItsModules(String accel) throws Exception {
        Path log = dir.resolve("debugcon-" + accel + ".txt");
        List<String> args = hako("--accel", accel, "--kernel", elf.toString(), "--initrd", modules,
                "--append", "hello multiboot", "--device", "isa-debugcon,chardev=" + log);
        args.addAll(DEBUG_EXIT);
        CliResult r = run(args);
        assertThat(r.status()).as(r.err()).isEqualTo(((0x10 + 2) << 1) | 1);
        assertThat(Files.readAllLines(log)).containsExactlyElementsOf(expected(elf));
        assertThat(r.err()).contains("hako: the guest wrote 0x12 to isa-debug-exit: exit status 37")
                .doesNotContain("Exception");
    }

    @Test
    void anElfKernelSeesItsCommandLineModulesAndMemoryMapOnTheSoftCpu() throws Exception {
        bootsWithItsModules("soft");
    }

    @Test
    void anElfKernelSeesTheSameOnKvm() throws Exception {
        KvmProbe probe = KvmProbe.host();
        assumeTrue(probe.runsUnmodifiedKernels(), () -> "KVM cannot run this guest here: " + probe.reason());
        bootsWithItsModules("kvm");
    }

    @Test
    void anAoutKludgeImageWithItsDebugconOnStandardOutput() throws Exception {
        assertThat(Files.readString(aout, StandardCharsets.ISO_8859_1)).as("a flat binary")
                .doesNotStartWith("\u007fELF");
        List<String> args = hako("--accel", "soft", "--kernel", aout.toString(), "--initrd", first.toString(),
                "--append", "hello multiboot", "--device", "isa-debugcon");
        args.addAll(DEBUG_EXIT);
        CliResult r = run(args);
        assertThat(r.status()).as(r.err()).isEqualTo(((0x10 + 1) << 1) | 1);
        assertThat(r.out().lines().toList()).contains(
                "cmdline [" + aout + " hello multiboot]",
                "module 0 [" + first + "] 12 bytes page-aligned [first module]",
                "boot loader [hako]").containsAll(MEMORY_MAP);
    }

    @Test
    void qemuPassesTheSameCommandLineAndModules() throws Exception {
        assumeTrue(HostTools.ofThisProcess().find("qemu-system-x86_64").isPresent(),
                "the independent check needs qemu-system-x86_64 (apt-get install qemu-system-x86)");
        Path hakoLog = dir.resolve("debugcon-hako.txt"), qemuLog = dir.resolve("debugcon-qemu.txt");
        for (Path kernel : List.of(elf, aout)) {
            Files.deleteIfExists(hakoLog);
            Files.deleteIfExists(qemuLog);
            // The a.out kernel runs without a command line: QEMU's default, an empty one, must be hako's too.
            List<String> append = kernel == elf ? List.of("--append", "a b  c") : List.of();
            List<String> args = hako("--accel", "soft", "--kernel", kernel.toString(), "--initrd", modules,
                    "--device", "isa-debugcon,chardev=" + hakoLog);
            args.addAll(append);
            args.addAll(DEBUG_EXIT);
            CliResult ours = run(args);
            List<String> qemuCommand = new ArrayList<>(List.of("qemu-system-x86_64", "-accel", "tcg", "-m", "64",
                    "-display", "none", "-nodefaults", "-no-reboot", "-kernel", kernel.toString(), "-initrd", modules,
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-debugcon", "file:" + qemuLog));
            if (!append.isEmpty()) {
                qemuCommand.addAll(List.of("-append", append.get(1)));
            }
            Process qemu = new ProcessBuilder(qemuCommand).redirectErrorStream(true).start();
            String qemuOutput = new String(qemu.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(qemu.waitFor(60, TimeUnit.SECONDS)).as(qemuOutput).isTrue();
            assertThat(ours.status()).as(ours.err()).isEqualTo(qemu.exitValue()).isEqualTo(37);
            assertThat(passed(hakoLog)).isEqualTo(passed(qemuLog)).hasSize(5);
        }
    }

    /** What the loader passes on that QEMU and hako agree on: readback, lower memory, command line, modules. */
    private static List<String> passed(Path log) throws Exception {
        return Files.readAllLines(log).stream().filter(l -> l.startsWith("debugcon") || l.startsWith("mem_lower")
                || l.startsWith("cmdline") || l.startsWith("module")).toList();
    }
}
