package dev.hako.vmm.debug;

import static dev.hako.vmm.machine.TinyPvhKernel.BASE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.vmm.machine.Machine;
import dev.hako.vmm.machine.MachineConfig;
import dev.hako.vmm.machine.RecordingConsole;
import dev.hako.vmm.machine.TinyPvhKernel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stub over a socket against a tiny guest on the soft CPU (32-bit code, paging off): a loop of
 * {@code inc eax; inc ebx; mov [WRITTEN],eax; mov ecx,[READ]; jmp} at 2 MiB. Breakpoints, watchpoints of each
 * kind, steps, Ctrl-C, registers, memory and bad packets; a breakpoint set after the loop was translated into a
 * trace still stops it.
 */
class GdbStubIT {
    private static final long WRITTEN = BASE + 0x1000, READ = BASE + 0x2000;
    // 1: inc eax; inc ebx; mov [WRITTEN],eax; mov ecx,[READ]; jmp 1b
    private static final String LOOP = "40 43 A300102000 8B0D00202000 EBF1";
    private static final long AFTER_STORE = BASE + 7, AFTER_LOAD = BASE + 13;
    private static final int RIP = 16, EAX = 0;

    @TempDir
    Path work;

    private GdbPackets client;
    private OutputStream raw;

    private String ask(String packet) throws IOException {
        client.write(packet);
        return client.read();
    }

    private long register(int n) throws IOException {
        String hex = ask("p" + Integer.toHexString(n));
        return Long.reverseBytes(Long.parseUnsignedLong(hex, 16)) >>> (64 - hex.length() * 4);
    }

    @Test
    void debugsATinyGuest() throws Exception {
        Path kernel = TinyPvhKernel.write(work, LOOP);
        MachineConfig config = new MachineConfig(kernel, null, "", 64L << 20, 2, "soft",
                MachineConfig.DEFAULT_WATCHDOG);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        try (Machine m = Machine.create(config, new RecordingConsole(), new PrintStream(log, true));
                GdbStub stub = new GdbStub(m, new InetSocketAddress("127.0.0.1", 0), new PrintStream(log, true))) {
            stub.start();
            m.startPaused();
            try (Socket s = new Socket("127.0.0.1", stub.port())) {
                raw = s.getOutputStream();
                client = new GdbPackets(s.getInputStream(), raw);
                assertThat(ask("qSupported:multiprocess+;xmlRegisters=i386")).contains("PacketSize=",
                        "qXfer:features:read+");
                assertThat(ask("qXfer:features:read:target.xml:0,ffff")).startsWith("l<?xml")
                        .contains("<architecture>i386:x86-64</architecture>", "name=\"cr3\"", "name=\"xmm15\"");
                assertThat(ask("qXfer:features:read:target.xml:10,20")).startsWith("m").hasSize(0x21);
                assertThat(ask("?")).isEqualTo("T05thread:1;");
                assertThat(ask("qfThreadInfo")).isEqualTo("m1,2");
                assertThat(ask("qsThreadInfo")).isEqualTo("l");
                assertThat(ask("qC")).isEqualTo("QC1");
                // Paused before the first instruction.
                assertThat(register(RIP)).isEqualTo(BASE);
                String all = ask("g");
                assertThat(all).hasSize(GdbRegisters.ALL.stream().mapToInt(r -> r.bits() / 4).sum());
                assertThat(ask("G" + all)).isEqualTo("OK");

                // Memory by virtual address: the loop's bytes; an address outside RAM is an error reply.
                assertThat(ask("m" + Long.toHexString(BASE) + ",4")).isEqualTo("4043a300");
                assertThat(ask("mf0000000,4")).isEqualTo("E14");
                assertThat(ask("M" + Long.toHexString(BASE + 0x800) + ",2:beef")).isEqualTo("OK");
                assertThat(ask("m" + Long.toHexString(BASE + 0x800) + ",2")).isEqualTo("beef");

                // Step: one instruction.
                assertThat(ask("P0=0500000000000000")).isEqualTo("OK");
                assertThat(ask("s")).isEqualTo("T05thread:1;");
                assertThat(register(RIP)).isEqualTo(BASE + 1);
                assertThat(register(EAX) & 0xFFFFFFFFL).isEqualTo(6);
                assertThat(ask("vCont;s:1")).isEqualTo("T05thread:1;");
                assertThat(register(RIP)).isEqualTo(BASE + 2);

                // Run free until the loop is translated, interrupt, then a breakpoint must still stop it.
                client.write("c");
                Thread.sleep(300);
                raw.write(0x03);
                raw.flush();
                assertThat(client.read()).isEqualTo("T02thread:1;");
                long eax = register(EAX) & 0xFFFFFFFFL;
                assertThat(eax).as("the loop ran").isGreaterThan(10_000);
                assertThat(ask("Z0," + Long.toHexString(BASE + 1) + ",1")).isEqualTo("OK");
                assertThat(ask("vCont;c")).isEqualTo("T05thread:1;");
                assertThat(register(RIP)).isEqualTo(BASE + 1);
                assertThat(ask("z0," + Long.toHexString(BASE + 1) + ",1")).isEqualTo("OK");
                assertThat(ask("Z1," + Long.toHexString(BASE + 2) + ",1")).isEqualTo("OK");
                assertThat(ask("c")).isEqualTo("T05thread:1;");
                assertThat(register(RIP)).isEqualTo(BASE + 2);
                assertThat(ask("z1," + Long.toHexString(BASE + 2) + ",1")).isEqualTo("OK");

                // Watchpoints stop after the instruction that touched them, with the reason gdb expects.
                String written = Long.toHexString(WRITTEN), read = Long.toHexString(READ);
                assertThat(ask("Z2," + written + ",4")).isEqualTo("OK");
                assertThat(ask("c")).isEqualTo("T05thread:1;watch:" + written + ";");
                assertThat(register(RIP)).isEqualTo(AFTER_STORE);
                assertThat(Long.reverseBytes(Long.parseUnsignedLong(ask("m" + written + ",4"), 16)) >>> 32)
                        .as("the store completed").isEqualTo(register(EAX) & 0xFFFFFFFFL);
                assertThat(ask("z2," + written + ",4")).isEqualTo("OK");
                assertThat(ask("Z3," + read + ",4")).isEqualTo("OK");
                assertThat(ask("c")).isEqualTo("T05thread:1;rwatch:" + read + ";");
                assertThat(register(RIP)).isEqualTo(AFTER_LOAD);
                assertThat(ask("z3," + read + ",4")).isEqualTo("OK");
                assertThat(ask("Z4," + Long.toHexString(WRITTEN + 3) + ",1")).isEqualTo("OK");
                assertThat(ask("c")).isEqualTo("T05thread:1;awatch:" + Long.toHexString(WRITTEN + 3) + ";");
                assertThat(register(RIP)).isEqualTo(AFTER_STORE);
                assertThat(ask("z4," + Long.toHexString(WRITTEN + 3) + ",1")).isEqualTo("OK");
                // A read watchpoint on what is only written and a write watchpoint on what is only read: no stop.
                assertThat(ask("Z3," + written + ",4")).isEqualTo("OK");
                assertThat(ask("Z2," + read + ",4")).isEqualTo("OK");
                client.write("c");
                Thread.sleep(200);
                raw.write(0x03);
                raw.flush();
                assertThat(client.read()).isEqualTo("T02thread:1;");
                assertThat(ask("z3," + written + ",4")).isEqualTo("OK");
                assertThat(ask("z2," + read + ",4")).isEqualTo("OK");

                // Threads: vCPU 1 is an AP that never got its SIPI.
                assertThat(ask("T2")).isEqualTo("OK");
                assertThat(ask("T3")).isEqualTo("E01");
                assertThat(ask("Hg2")).isEqualTo("OK");
                assertThat(ask("Hg0")).isEqualTo("OK");

                // Bad packets get error or empty replies, and the stub goes on.
                assertThat(ask("mzz,4")).isEqualTo("E22");
                assertThat(ask("m" + Long.toHexString(BASE) + ",fffffff")).isEqualTo("E22");
                assertThat(ask("Z0,nothex,1")).isEqualTo("E22");
                assertThat(ask("Z5," + Long.toHexString(BASE) + ",4")).isEmpty();
                assertThat(ask("P99=00")).isEqualTo("E22");
                assertThat(ask("pfff")).isEqualTo("E45");
                assertThat(ask("G00")).isEqualTo("E22");
                assertThat(ask("vCont;x")).isEqualTo("E22");
                assertThat(ask("qNoSuchThing")).isEmpty();
                assertThat(ask("")).isEmpty();

                // Detach: the guest runs on.
                assertThat(ask("D")).isEqualTo("OK");
            }
            long before = m.vcpus().getFirst().instructionsRetired();
            Thread.sleep(200);
            assertThat(m.vcpus().getFirst().instructionsRetired()).isGreaterThan(before);
            assertThat(m.paused()).isFalse();

            // A second connection stops the running guest; k ends it.
            try (Socket s = new Socket("127.0.0.1", stub.port())) {
                client = new GdbPackets(s.getInputStream(), s.getOutputStream());
                assertThat(ask("?")).isEqualTo("T05thread:1;");
                assertThat(m.paused()).isTrue();
                assertThat(register(RIP)).isBetween(BASE, BASE + 2);
                client.write("k");
            }
            assertThat(m.awaitExit(10, java.util.concurrent.TimeUnit.SECONDS)).isZero();
            assertThat(log.toString()).contains("killed by gdb");
        }
    }
}
