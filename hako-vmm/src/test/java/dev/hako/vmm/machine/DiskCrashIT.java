package dev.hako.vmm.machine;

import dev.hako.testkit.ChildJvm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.devices.pci.PciFunction;
import dev.hako.devices.pci.PciHeader;
import dev.hako.devices.pci.PciRoot;
import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.image.DebianImageFixture;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash consistency of a whole system: the Debian bundle ({@link DebianImageFixture}) boots in a separate JVM
 * ({@link StdioMachine}, console on its standard input and output) through a qcow2 overlay, writes hard (a large
 * file from {@code dd} and a stream of small files with syncs in between), and is killed with SIGKILL once the
 * overlay has grown by {@link #GROWTH}, while the writes go on. Debian's {@code qemu-img check} must then find
 * nothing worse than leaked clusters; a second boot (in this JVM) must come up with the root filesystem's
 * journal recovered by the guest's fsck; and after that boot's power-off, Debian's {@code e2fsck -fn} of the
 * overlay (as raw) must find no errors. The second boot also runs Debian's {@code lspci -nn}, which must list
 * every PCI function the machine built, each with its vendor and device IDs, and nothing else.
 */
class DiskCrashIT {
    private static final Duration WRITING = Duration.ofMinutes(6);
    private static final long GROWTH = 64L << 20;
    /** Writes that never stop: 200 MiB of random data, and small files with a sync after every 50th. */
    private static final List<String> WRITES = List.of(
            "dd if=/dev/urandom of=/root/big bs=1M count=200 2>/dev/null &",
            "(i=0; while :; do i=$((i+1)); d=/root/small/$((i/100)); mkdir -p $d; echo \"$i $RANDOM\" > $d/f$i;"
                    + " [ $((i%50)) -eq 0 ] && sync; done) &");
    private static final int SIGKILL_STATUS = 128 + 9;
    private static final Pattern TERMINAL_CONTROL = Pattern.compile("\u001b\\[[0-9;?]*[A-Za-z]");
    private static final Pattern LSPCI_LINE = Pattern.compile("[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7] .*");

    @TempDir
    Path work;

    @Test
    void aSystemKilledWhileWritingLeavesAnImageQemuAcceptsAndAFilesystemFsckRepairs() throws Exception {
        Bundle bundle = DebianImageFixture.image().bundle();
        Path overlay = DebianOverlay.create(bundle, work).overlay();

        killWhileWriting(bundle, overlay);
        HostResult check = host("qemu-img", "check", "-f", "qcow2", overlay.toString());
        System.out.println("DiskCrashIT: qemu-img check after SIGKILL, status " + check.status() + ":\n"
                + check.output());
        assertLeaksAtMost(check);

        SecondBoot second = bootAgain(bundle, overlay);
        String fsck = section(second.console(), "fsck-log-2", "fsck-end-4");
        System.out.println("DiskCrashIT: the root filesystem's check on the second boot:\n" + fsck);
        assertThat(fsck).as("fsck of the root filesystem after the crash").contains("recovering journal")
                .containsPattern(": clean, \\d+/\\d+ files");
        String lspci = section(second.console(), "lspci-6", "lspci-end-8");
        System.out.println("DiskCrashIT: lspci -nn in the guest:\n" + lspci);
        assertListsExactly(lspci, second.pciFunctions());

        assertLeaksAtMost(host("qemu-img", "check", "-f", "qcow2", overlay.toString()));
        Path raw = work.resolve("after.raw");
        assertThat(host("qemu-img", "convert", "-f", "qcow2", "-O", "raw", overlay.toString(), raw.toString())
                .status()).isZero();
        HostResult e2fsck = host("e2fsck", "-fn", raw.toString());
        System.out.println("DiskCrashIT: e2fsck -fn on the host, status " + e2fsck.status() + ":\n"
                + e2fsck.output());
        assertThat(e2fsck.status()).as("e2fsck -fn of the overlay as raw:%n%s", e2fsck.output()).isZero();
    }

    /** Boots the overlay in a child JVM, starts the writes, and kills it with SIGKILL once the overlay has grown. */
    private void killWhileWriting(Bundle bundle, Path overlay) throws Exception {
        Path messages = work.resolve("hako.err");
        List<String> command = new ArrayList<>(ChildJvm.command("-Xss16m", "-XX:+UseParallelGC", "-cp", classPath(),
                "-Dhako.cache=" + System.getProperty("hako.cache", ""), StdioMachine.class.getName(),
                bundle.kernelFile().toString(), bundle.initrdFile().toString(),
                bundle.cmdline() + DebianBoot.PATIENT_DEVICES,
                Long.toString(bundle.memoryBytes()), Integer.toString(bundle.cpus()), overlay.toString()));
        Process hako = new ProcessBuilder(command).redirectError(messages.toFile()).start();
        try {
            RecordingConsole console = new RecordingConsole();
            Thread.ofPlatform().daemon().name("hako-stdout").start(() -> copy(hako.getInputStream(), console));
            assertThat(console.await(DebianBoot.RUNNING, 0, DebianBoot.BOOT))
                    .as("boot to multi-user; hako said: %s%nconsole's end:%n%s", readIfExists(messages),
                            console.tail(80)).isNotNegative();
            assertThat(console.await(DebianBoot.PROMPT, 0, DebianBoot.PROMPT_WAIT))
                    .as("root prompt; console's end:%n%s", console.tail(80)).isNotNegative();
            long before = Files.size(overlay);
            OutputStream keyboard = hako.getOutputStream();
            for (String line : WRITES) {
                keyboard.write((line + "\n").getBytes(StandardCharsets.US_ASCII));
            }
            keyboard.flush();
            long start = System.nanoTime();
            long deadline = start + WRITING.toNanos();
            while (Files.size(overlay) < before + GROWTH) {
                assertThat(hako.isAlive()).as("hako while the guest writes; it said: %s%nconsole's end:%n%s",
                        readIfExists(messages), console.tail(40)).isTrue();
                assertThat(System.nanoTime()).as("the overlay grew from %d to only %d bytes; console's end:%n%s",
                        before, Files.size(overlay), console.tail(40)).isLessThan(deadline);
                Thread.sleep(200);
            }
            // The kill must land while writes are reaching the image, not after they have died down.
            long grown = Files.size(overlay);
            while (Files.size(overlay) == grown && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(Files.size(overlay)).as("the overlay still growing").isGreaterThan(grown);
            HostResult kill = host("kill", "-KILL", Long.toString(hako.pid()));
            assertThat(kill.status()).as(kill.output()).isZero();
            assertThat(hako.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(hako.exitValue()).as("hako's status: killed by SIGKILL").isEqualTo(SIGKILL_STATUS);
            System.out.printf("DiskCrashIT: SIGKILL after %.1f s of writes, the overlay grown from %d to %d bytes%n",
                    (System.nanoTime() - start) / 1e9, before, Files.size(overlay));
        } finally {
            hako.destroyForcibly();
        }
    }

    /**
     * The second boot, in this JVM, with more virtio devices than the first (an RNG and a balloon) for lspci to
     * list: prints the root filesystem's fsck log and lspci's list, and powers off.
     */
    private static SecondBoot bootAgain(Bundle bundle, Path overlay) throws Exception {
        try (DebianBoot boot = DebianBoot.start(bundle, overlay, "hako-crash-0",
                VirtioDevices.NONE.withRng(1 << 20).withBalloon(0))) {
            List<String> functions = pciFunctions(boot.machine().devices().get("pci", PciRoot.class));
            boot.awaitRunning();
            boot.awaitPrompt();
            boot.type(List.of("echo fsck-log-$((1+1)); cat /run/initramfs/fsck.log;"
                            + " journalctl -b -u systemd-fsck-root --no-pager; echo fsck-end-$((2+2))",
                    "echo lspci-$((3+3)); lspci -nn; echo lspci-end-$((4+4))",
                    "systemctl poweroff"));
            boot.awaitPowerOff();
            return new SecondBoot(boot.console().output(), functions);
        }
    }

    /**
     * The second boot's console, and what lspci must show there, from the machine's own PCI root: one
     * "slot vendor:device" for each function.
     */
    private record SecondBoot(String console, List<String> pciFunctions) {}

    /** "ss vvvv:dddd" for every function on bus 0 of {@code root}. */
    private static List<String> pciFunctions(PciRoot root) {
        List<String> functions = new ArrayList<>();
        for (int slot = 0; slot < PciRoot.SLOTS; slot++) {
            PciFunction function = root.function(slot);
            if (function != null) {
                functions.add("%02x %04x:%04x".formatted(slot, function.config().u16(PciHeader.VENDOR_ID),
                        function.config().u16(PciHeader.DEVICE_ID)));
            }
        }
        // The IDs this test is about: the host bridge (PciHostBridge's) and virtio-blk over modern virtio-pci.
        assertThat(functions).anyMatch(f -> f.endsWith(" 1b36:0008")).anyMatch(f -> f.endsWith(" 1af4:1042"));
        return functions;
    }

    /** lspci -nn lists each of {@code functions} as "00:ss.0 ... [vvvv:dddd]", and no other device. */
    private static void assertListsExactly(String lspci, List<String> functions) {
        List<String> devices = lspci.lines().map(String::strip).filter(l -> LSPCI_LINE.matcher(l).matches())
                .toList();
        for (String function : functions) {
            String slot = "00:" + function.substring(0, 2) + ".0 ";
            String ids = "[" + function.substring(3) + "]";
            assertThat(devices).as("lspci -nn lists slot %s with %s", slot, ids)
                    .anyMatch(l -> l.startsWith(slot) && l.contains(ids));
        }
        assertThat(devices).as("lspci -nn's devices").hasSameSizeAs(functions);
    }

    private static void assertLeaksAtMost(HostResult check) {
        assertThat(check.status()).as("qemu-img check (0: clean, 3: leaked clusters only):%n%s", check.output())
                .isIn(0, 3);
        assertThat(check.output()).doesNotContain("ERROR").doesNotContain("corrupt");
    }

    /** The console's text between the output lines {@code first} and {@code last} (not the typed commands). */
    private static String section(String console, String first, String last) {
        // Bash switches bracketed paste on and off around each command line, so an output line can start with
        // an escape sequence.
        String text = TERMINAL_CONTROL.matcher(console.replace("\r", "")).replaceAll("");
        int from = text.indexOf("\n" + first + "\n");
        int to = text.indexOf("\n" + last + "\n", Math.max(from, 0));
        assertThat(from).as("'%s' on the console:%n%s", first, text).isNotNegative();
        assertThat(to).as("'%s' on the console:%n%s", last, text).isGreaterThan(from);
        return text.substring(from + first.length() + 2, to);
    }

    private record HostResult(int status, String output) {}

    private static HostResult host(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("%s finishes", command[0]).isTrue();
        return new HostResult(p.exitValue(), output);
    }

    private static void copy(InputStream in, RecordingConsole console) {
        try (in) {
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    console.write(buffer[i] & 0xFF);
                }
            }
        } catch (IOException e) {
            // The child died: its output ends here.
        }
    }

    private static String readIfExists(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file) : "";
    }

    private static String classPath() {
        String surefire = System.getProperty("surefire.test.class.path");
        return surefire != null && !surefire.isBlank() ? surefire : System.getProperty("java.class.path");
    }
}
