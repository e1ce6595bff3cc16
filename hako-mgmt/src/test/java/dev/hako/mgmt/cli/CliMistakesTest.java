package dev.hako.mgmt.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.image.DebianPackages;
import dev.hako.vmm.machine.Machine;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ordinary mistakes, as a new user makes them, each answered with one line and a documented status (no stack
 * trace, no usage dump). The CLI runs in this JVM: every case here fails before a guest would start.
 */
class CliMistakesTest {
    private static final int USAGE = ExitStatus.USAGE;

    @TempDir
    Path dir;

    private static String kernel;

    @BeforeAll
    static void debianKernel() throws Exception {
        kernel = DebianPackages.inDefaultCache().debianKernel().toString();
    }

    private Path sparse(String name, long size) throws Exception {
        Path file = dir.resolve(name);
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(size); // nothing written: a read of it would take long and fill the heap
        }
        return file;
    }

    @Test
    void vsockWithAReservedCidOrAnUnusablePath() throws Exception {
        String socket = dir.resolve("v.sock").toString();
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", "2," + socket)
                .refusedWith(USAGE, "the guest CID must be a number from 3");
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", "three," + socket)
                .refusedWith(USAGE, "the guest CID must be a number from 3");
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", socket).refusedWith(USAGE, "expected CID,PATH");
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", "3,/no/such/dir/v.sock")
                .refusedWith(USAGE, "no directory /no/such/dir");
        Files.writeString(dir.resolve("taken"), "x");
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", "3," + dir.resolve("taken"))
                .refusedWith(USAGE, "exists already");
        String tooLong = dir.resolve("s".repeat(120)).toString();
        CliResult.inProcess("run", "--kernel", kernel, "--vsock", "3," + tooLong)
                .refusedWith(USAGE, "cannot listen there");
    }

    @Test
    void deterministicRunsItCannotMake() throws Exception {
        CliResult.inProcess("run", "--kernel", kernel, "--deterministic", "--accel", "kvm")
                .refusedWith(USAGE, "--deterministic needs the soft CPU");
        CliResult.inProcess("run", "--kernel", kernel, "--deterministic", "--cpus", "2")
                .refusedWith(USAGE, "--deterministic runs one vCPU");
        CliResult.inProcess("run", "--kernel", kernel, "--deterministic", "--rng")
                .refusedWith(USAGE, "--deterministic cannot have --rng");
        CliResult.inProcess("run", "--deterministic", "--restore", dir.toString())
                .refusedWith(USAGE, "--deterministic boots a guest");
    }

    @Test
    void gdbOptionsThatCannotWork() throws Exception {
        CliResult.inProcess("run", "--kernel", kernel, "--gdb", "tcp:127.0.0.1:nine")
                .refusedWith(USAGE, "--gdb wants tcp:HOST:PORT, not tcp:127.0.0.1:nine");
        CliResult.inProcess("run", "--kernel", kernel, "--gdb-wait").refusedWith(USAGE, "--gdb-wait needs --gdb");
        CliResult.inProcess("run", "--kernel", kernel, "--accel", "kvm", "--gdb", "tcp:127.0.0.1:1234")
                .refusedWith(USAGE, "--gdb needs the soft CPU");
    }

    @Test
    void initramfsIntoAMissingDirectory() {
        CliResult.inProcess("initramfs", "/no/such/dir/x.cpio").refusedWith(USAGE, "no directory /no/such/dir");
    }

    @Test
    void initramfsIntoADirectory() {
        CliResult.inProcess("initramfs", dir.toString()).refusedWith(USAGE, dir + " is a directory");
    }

    @Test
    void initThatIsMissingADirectoryOrNotAProgram() throws Exception {
        String out = dir.resolve("x.cpio").toString();
        CliResult.inProcess("initramfs", "--init", "/no/such", out).refusedWith(USAGE, "--init /no/such: no such file");
        CliResult.inProcess("initramfs", "--init", dir.toString(), out).refusedWith(USAGE, "is a directory");
        CliResult.inProcess("initramfs", "--init", "/bin/true", out)
                .refusedWith(USAGE, "/bin/true is dynamically linked");
        Path notes = Files.writeString(dir.resolve("notes"), "echo hello\n");
        CliResult.inProcess("initramfs", "--init", notes.toString(), out)
                .refusedWith(USAGE, "neither a script starting with #! nor an ELF executable");
        assertThat(Path.of(out)).doesNotExist();
    }

    @Test
    void initScriptGoesIntoTheArchiveByteForByte() throws Exception {
        byte[] script = "#!/bin/sh\necho h\u00e9llo \u732b\npoweroff -f\n".getBytes(StandardCharsets.UTF_8);
        Path init = Files.write(dir.resolve("init.sh"), script);
        Path out = dir.resolve("x.cpio");
        CliResult r = CliResult.inProcess("initramfs", "--init", init.toString(), out.toString());
        assertThat(r.status()).as(r.err()).isZero();
        byte[] archive = Files.readAllBytes(out);
        assertThat(indexOf(archive, script)).isGreaterThan(0);
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void kernelThatIsADirectoryOrADevice() {
        CliResult.inProcess("run", "--kernel", dir.toString()).refusedWith(USAGE, dir + " is a directory, not a file");
        CliResult.inProcess("run", "--kernel", "/dev/null")
                .refusedWith(USAGE, "/dev/null is a character device, not a file");
        CliResult.inProcess("run", "--kernel", dir.resolve("nope").toString()).refusedWith(USAGE, "no such file");
    }

    @Test
    void hugeKernelOrInitrdIsRefusedBeforeItIsRead() throws Exception {
        long start = System.nanoTime();
        Path threeGiB = sparse("huge", 3L << 30);
        CliResult.inProcess("run", "--kernel", threeGiB.toString())
                .refusedWith(USAGE, "is 3 GiB, more than the guest's 512 MiB of RAM");
        CliResult.inProcess("run", "--kernel", kernel, "--initrd", threeGiB.toString())
                .refusedWith(USAGE, "initrd " + threeGiB + " is 3 GiB, more than the guest's 512 MiB of RAM");
        Path oneGiB = sparse("big", 1L << 30);
        CliResult.inProcess("run", "--kernel", kernel, "--initrd", oneGiB.toString())
                .refusedWith(USAGE, "is 1 GiB, more than the guest's 512 MiB of RAM");
        CliResult.inProcess("run", "--kernel", kernel, "--initrd", threeGiB.toString(), "--memory", "3G")
                .refusedWith(USAGE, "is 3 GiB, more than the 2 GiB hako can load");
        assertThat(System.nanoTime() - start).as("refused from the size alone").isLessThan(5_000_000_000L);
    }

    @Test
    void truncatedBzImage() throws Exception {
        byte[] whole = Files.readAllBytes(Path.of(kernel));
        Path part = Files.write(dir.resolve("vmlinuz-part"), Arrays.copyOf(whole, 5 << 20));
        CliResult.inProcess("run", "--kernel", part.toString()).refusedWith(USAGE, part + " is truncated");
    }

    @Test
    void memoryIsReportedAsTheUserWroteIt() {
        CliResult.inProcess("run", "--memory", "-5").refusedWith(USAGE, "--memory -5: ");
        CliResult.inProcess("run", "--memory", "5G").refusedWith(USAGE, "--memory 5G: the guest's RAM must be");
        CliResult.inProcess("run", "--memory", "lots").refusedWith(USAGE, "--memory lots: not a size");
    }

    @Test
    void commandLineBytesTheLocaleCouldNotDecodeAreRefusedNotSubstituted() {
        CliResult.inProcess("run", "--kernel", kernel, "--append", "console=ttyS0 word=h\uFFFDllo")
                .refusedWith(USAGE, "UTF-8 locale");
    }

    @Test
    void kvmThatCannotRunTheGuestIsRefusedAtOnce() {
        org.junit.jupiter.api.Assumptions.assumeFalse(dev.hako.kvm.KvmProbe.host().runsUnmodifiedKernels(),
                "this host's KVM runs unmodified kernels: nothing to refuse");
        CliResult.inProcess("run", "--kernel", kernel, "--accel", "kvm").refusedWith(USAGE, "--accel kvm: ");
    }

    /** A flat Multiboot image loaded at 1 MiB (the header's address fields), its checksum {@code fix} off. */
    private Path multibootImage(String name, int fix) throws Exception {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(0x100).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        int magic = 0x1BADB002, flags = 1 << 16;
        b.putInt(magic).putInt(flags).putInt(-(magic + flags) + fix)
                .putInt(0x100000).putInt(0x100000).putInt(0).putInt(0).putInt(0x100020);
        return Files.write(dir.resolve(name), b.array());
    }

    @Test
    void multibootKernelsWithABadHeaderOrAMissingModule() throws Exception {
        CliResult.inProcess("run", "--kernel", multibootImage("bad.bin", 1).toString())
                .refusedWith(USAGE, "has a Multiboot header at offset 0 whose checksum");
        Files.writeString(dir.resolve("present"), "x");
        CliResult.inProcess("run", "--kernel", multibootImage("good.bin", 0).toString(), "--initrd",
                dir.resolve("present") + " arg," + dir.resolve("missing") + " arg")
                .refusedWith(USAGE, "Multiboot module " + dir.resolve("missing") + ": no such file");
    }

    @Test
    void testDevicesThatCannotBe() {
        CliResult.inProcess("run", "--kernel", kernel, "--device", "isa-debug-exit,iosize=x")
                .refusedWith(USAGE, "--device isa-debug-exit,iosize=x: iosize must be a number");
        CliResult.inProcess("run", "--kernel", kernel, "--device", "isa-serial")
                .refusedWith(USAGE, "--device isa-serial: unknown device 'isa-serial'");
        CliResult.inProcess("run", "--kernel", kernel, "--device", "isa-debugcon,chardev=/no/such/dir/log")
                .refusedWith(USAGE, "isa-debugcon chardev /no/such/dir/log: no directory /no/such/dir");
        CliResult.inProcess("run", "--kernel", kernel, "--memory", "64M", "--device", "isa-debugcon,iobase=0x3f8")
                .refusedWith(USAGE, "--device isa-debugcon,iobase=0x3f8: its ports are taken");
        CliResult.inProcess("run", "--kernel", kernel, "--memory", "64M", "--device", "isa-debug-exit",
                "--device", "isa-debug-exit,iobase=0x502").refusedWith(USAGE, "its ports are taken");
    }

    @Test
    void restoreTakesNoOptionThatDescribesAMachine() {
        String snapshot = dir.resolve("snapshot").toString();
        CliResult.inProcess("run", "--restore", snapshot, "--memory", "1G")
                .refusedWith(USAGE, "it cannot be given --memory");
        CliResult.inProcess("run", "--restore", snapshot, "--cpus", "2", "--net", "user")
                .refusedWith(USAGE, "it cannot be given --cpus");
        // Options left at their defaults describe nothing: the first one given is --device.
        CliResult.inProcess("run", "--restore", snapshot, "--accel", "auto", "--watchdog",
                dev.hako.vmm.machine.MachineConfig.DEFAULT_WATCHDOG_SECONDS, "--device", "isa-debugcon")
                .refusedWith(USAGE, "it cannot be given --device");
        CliResult.inProcess("run", "--overlay").refusedWith(USAGE, "give --restore DIR");
        CliResult.inProcess("run", "--no-overlay", "--memory", "1G").refusedWith(USAGE, "give --restore DIR");
    }

    @Test
    void incomingTakesAnAddressToListenOnAndNothingElse() throws Exception {
        CliResult.inProcess("run", "--incoming", "127.0.0.1:4444").refusedWith(USAGE, "expected tcp:HOST:PORT");
        CliResult.inProcess("run", "--incoming", "tcp:127.0.0.1:http").refusedWith(USAGE, "expected tcp:HOST:PORT");
        CliResult.inProcess("run", "--incoming", "tcp:127.0.0.1:70000").refusedWith(USAGE, "expected tcp:HOST:PORT");
        CliResult.inProcess("run", "--incoming", "tcp:127.0.0.1:0", "--memory", "1G")
                .refusedWith(USAGE, "it cannot be given --memory");
        CliResult.inProcess("run", "--incoming", "tcp:127.0.0.1:0", "--restore", dir.toString())
                .refusedWith(USAGE, "--restore and --incoming");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CliResult.inProcess("run", "--incoming", "tcp:127.0.0.1:" + taken.getLocalPort())
                    .refusedWith(ExitStatus.UNAVAILABLE, "cannot listen");
        }
    }

    @Test
    void syntaxErrorsPointAtHelp() {
        assertThat(CliResult.inProcess("run", "--frobnicate").refusedWith(USAGE, "Unknown option: '--frobnicate'")
                .err()).contains("(see 'hako run --help')");
        CliResult.inProcess().refusedWith(USAGE, "say what to do");
        CliResult.inProcess("run", "--watchdog", "-1").refusedWith(USAGE, "--watchdog -1: a number of seconds");
        CliResult.inProcess("run", "--cpus", "many").refusedWith(USAGE, "'many' is not an int");
    }

    @Test
    void helpDocumentsEveryExitStatus() {
        CliResult r = CliResult.inProcess("run", "--help");
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains("Exit status:", "--watchdog", "Ctrl-D");
        for (int status : new int[] {Machine.EXIT_POWER_OFF, Machine.EXIT_TRIPLE_FAULT, Machine.EXIT_FAILURE,
            Machine.EXIT_WATCHDOG, Machine.EXIT_GUEST_PANIC, ExitStatus.USAGE, ExitStatus.UNAVAILABLE, ExitStatus.INTERNAL_ERROR,
            ExitStatus.IO_ERROR}) {
            assertThat(r.out()).containsPattern("(?m)^ +" + status + " +\\S");
        }
    }
}
