package dev.hako.vmm.debug;

import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.Watchpoint;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.x86.X86CpuState;
import dev.hako.vmm.machine.Machine;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A GDB remote stub for a machine whose accelerator supports {@link VirtualCpu#debug} (the soft CPU), all-stop:
 * one GDB thread per vCPU (thread id = vCPU index + 1), registers from {@link GdbRegisters}, memory by virtual
 * address through the selected vCPU's page tables ({@link GuestVirtualMemory}), breakpoints Z0 and Z1 kept here
 * and handed to every vCPU (no INT3 is written into the guest; the two kinds are the same to the soft CPU),
 * watchpoints Z2 (write), Z3 (read) and Z4 (access) on any number of bytes, stopping after the instruction that
 * touched them with a {@code watch}, {@code rwatch} or {@code awatch} stop reply, single-step, continue, vCont
 * (c, s, t), Ctrl-C, detach and kill. Its breakpoints and watchpoints are its own: the guest's DR6 and DR7 never
 * show them.
 *
 * <p>Threads: an accept-and-serve thread owns the connection and all debugger state and touches vCPU state only
 * while the machine is paused ({@link Machine#pause}: every vCPU at an instruction boundary); a reader thread
 * turns the socket into events (packets and the interrupt byte), and vCPU threads add an event when they stop at
 * a breakpoint or after a step. One connection at a time; the next may attach after a detach.
 */
public final class GdbStub implements AutoCloseable {
    private static final Watchpoint[] NO_WATCHPOINTS = new Watchpoint[0];
    /** What the soft CPU's data breakpoints hold besides the guest's own four. */
    private static final int MAX_WATCHPOINTS = 60;
    /** Z2, Z3 and Z4. */
    private static final Watchpoint.Kind[] WATCH_KINDS = {
        Watchpoint.Kind.WRITE, Watchpoint.Kind.READ, Watchpoint.Kind.ACCESS};

    private sealed interface Event {}

    private record Packet(String text) implements Event {}

    /** A vCPU stopped at a breakpoint, after a step, or after touching {@code watchpoint} (else null). */
    private record Trap(int vcpu, Watchpoint watchpoint) implements Event {}

    private record Closed() implements Event {}

    private final Machine machine;
    private final GuestMemory memory;
    private final List<VirtualCpu> vcpus;
    private final ServerSocket server;
    private final PrintStream log;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();
    private final Set<Long> breakpoints = new LinkedHashSet<>();
    private final Set<Watchpoint> watchpoints = new LinkedHashSet<>();
    private final Thread thread;
    private GdbPackets packets;
    private int selected;
    private int stepThread = -1;
    private boolean running;
    private volatile boolean closed;

    /** Listens on {@code address}; {@link #start} serves. The machine must not have started yet. */
    public GdbStub(Machine machine, InetSocketAddress address, PrintStream log) throws IOException {
        this.machine = machine;
        this.memory = new GuestMemory(machine.ram());
        this.vcpus = machine.vcpus();
        this.log = log;
        for (VirtualCpu v : vcpus) {
            if (!v.debug(new long[0], NO_WATCHPOINTS, false)) {
                throw new IllegalArgumentException("--gdb needs the soft CPU (--accel soft): this accelerator"
                        + " cannot stop at breakpoints yet");
            }
        }
        this.server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(address);
        machine.onDebugTrap((trap, vcpu) -> events.add(new Trap(vcpu, trap.watchpoint())));
        this.thread = Thread.ofPlatform().name("gdb-stub").daemon().unstarted(this::serve);
    }

    /** The port it listens on (for an address given with port 0). */
    public int port() {
        return server.getLocalPort();
    }

    public void start() {
        thread.start();
    }

    private void serve() {
        while (!closed && !machine.ended()) {
            try (Socket socket = server.accept()) {
                socket.setTcpNoDelay(true);
                log.println("hako: gdb attached from " + socket.getRemoteSocketAddress());
                packets = new GdbPackets(socket.getInputStream(), socket.getOutputStream());
                events.clear();
                selected = 0; // each connection starts on vCPU 0, as QEMU's
                stepThread = -1;
                Thread reader = Thread.ofPlatform().name("gdb-reader").daemon().start(this::readPackets);
                try {
                    if (!machine.paused()) {
                        machine.pause();
                    }
                    session();
                } finally {
                    // The reader's last event (Closed) must not reach the next connection's session.
                    socket.close();
                    reader.join(2000);
                }
            } catch (IOException | InterruptedException | IllegalStateException e) {
                if (!closed) {
                    log.println("hako: gdb connection ended: " + e.getMessage());
                }
            }
            detach();
        }
    }

    private void readPackets() {
        try {
            for (String p; (p = packets.read()) != null;) {
                events.add(new Packet(p));
            }
        } catch (IOException e) {
            // the connection ended
        }
        events.add(new Closed());
    }

    /** Serves one connection until it detaches, kills or closes. */
    private void session() throws IOException, InterruptedException {
        while (true) {
            Event e = events.poll(100, TimeUnit.MILLISECONDS);
            if (e == null) {
                if (running && machine.ended()) {
                    packets.write("W00");
                    return;
                }
                continue;
            }
            switch (e) {
                case Closed c -> {
                    return;
                }
                case Trap t -> {
                    if (running) {
                        stopped(t.vcpu(), 5, t.watchpoint());
                    }
                }
                case Packet p when p.text().equals(GdbPackets.INTERRUPT) -> {
                    if (running) {
                        stopped(selected, 2, null);
                    }
                }
                case Packet p -> {
                    if (running) {
                        continue; // all-stop: GDB waits for the stop reply first
                    }
                    String reply = command(p.text());
                    if (reply == null) {
                        return; // detach or kill
                    }
                    if (!running) {
                        packets.write(reply);
                    }
                    if (p.text().equals("QStartNoAckMode")) {
                        packets.stopAcknowledging();
                    }
                }
            }
        }
    }

    private void stopped(int vcpu, int signal, Watchpoint watchpoint) throws IOException, InterruptedException {
        running = false;
        if (!machine.pause()) {
            packets.write("W00"); // the guest ended meanwhile
            return;
        }
        selected = vcpu;
        for (VirtualCpu v : vcpus) {
            v.debug(new long[0], NO_WATCHPOINTS, false);
        }
        String reason = watchpoint == null ? "" : String.format("%s:%x;", switch (watchpoint.kind()) {
            case WRITE -> "watch";
            case READ -> "rwatch";
            case ACCESS -> "awatch";
        }, watchpoint.address());
        packets.write(String.format("T%02xthread:%x;%s", signal, vcpu + 1, reason));
    }

    /** The reply to one packet; null ends the session; the reply is not sent when the guest was resumed. */
    String command(String p) throws IOException, InterruptedException {
        try {
            return dispatch(p);
        } catch (RuntimeException e) {
            return "E22"; // a malformed packet: bad numbers or fields
        }
    }

    private String dispatch(String p) throws IOException, InterruptedException {
        if (p.isEmpty()) {
            return "";
        }
        char c = p.charAt(0);
        String rest = p.substring(1);
        switch (c) {
            case '?' -> {
                return String.format("T05thread:%x;", selected + 1);
            }
            case 'g' -> {
                return GdbRegisters.readAll(vcpus.get(selected).state());
            }
            case 'G' -> {
                X86CpuState s = vcpus.get(selected).state();
                if (!GdbRegisters.writeAll(s, rest)) {
                    return "E22";
                }
                vcpus.get(selected).load(s);
                return "OK";
            }
            case 'p' -> {
                String v = GdbRegisters.read(vcpus.get(selected).state(), Integer.parseInt(rest, 16));
                return v == null ? "E45" : v;
            }
            case 'P' -> {
                int eq = rest.indexOf('=');
                X86CpuState s = vcpus.get(selected).state();
                if (!GdbRegisters.write(s, Integer.parseInt(rest.substring(0, eq), 16), rest.substring(eq + 1))) {
                    return "E22";
                }
                vcpus.get(selected).load(s);
                return "OK";
            }
            case 'm' -> {
                return readMemory(rest);
            }
            case 'M' -> {
                return writeMemory(rest);
            }
            case 'H' -> {
                return selectThread(rest);
            }
            case 'T' -> {
                int t = Integer.parseInt(rest, 16);
                return t >= 1 && t <= vcpus.size() ? "OK" : "E01";
            }
            case 'c', 'C' -> {
                resume(-1);
                return "";
            }
            case 's', 'S' -> {
                resume(stepThread >= 0 ? stepThread : selected);
                return "";
            }
            case 'Z', 'z' -> {
                return breakpoint(c == 'Z', rest);
            }
            case 'D' -> {
                packets.write("OK");
                return null;
            }
            case 'k' -> {
                machine.stop("killed by gdb");
                return null;
            }
            case 'v' -> {
                return vPacket(p);
            }
            case 'q', 'Q' -> {
                return query(p);
            }
            default -> {
                return "";
            }
        }
    }

    private String selectThread(String rest) {
        if (rest.length() < 2) {
            return "E22";
        }
        String id = rest.substring(1);
        int t = id.equals("-1") ? 0 : Integer.parseInt(id, 16);
        if (t < 0 || t > vcpus.size()) {
            return "E01";
        }
        if (rest.charAt(0) == 'g') {
            selected = t == 0 ? selected : t - 1;
        } else {
            stepThread = t == 0 ? -1 : t - 1;
        }
        return "OK";
    }

    private String readMemory(String rest) {
        int comma = rest.indexOf(',');
        long address = Long.parseUnsignedLong(rest.substring(0, comma), 16);
        int length = Integer.parseInt(rest.substring(comma + 1), 16);
        if (length < 0 || length > GdbPackets.MAX_PACKET / 2) {
            return "E22";
        }
        GuestVirtualMemory virtual = new GuestVirtualMemory(memory, vcpus.get(selected).state());
        StringBuilder sb = new StringBuilder(length * 2);
        for (int i = 0; i < length; i++) {
            int b = virtual.read(address + i);
            if (b < 0) {
                break;
            }
            sb.append(Character.forDigit(b >>> 4, 16)).append(Character.forDigit(b & 15, 16));
        }
        return sb.isEmpty() && length > 0 ? "E14" : sb.toString();
    }

    private String writeMemory(String rest) {
        int comma = rest.indexOf(','), colon = rest.indexOf(':');
        long address = Long.parseUnsignedLong(rest.substring(0, comma), 16);
        int length = Integer.parseInt(rest.substring(comma + 1, colon), 16);
        String hex = rest.substring(colon + 1);
        if (hex.length() != length * 2) {
            return "E22";
        }
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) Integer.parseInt(hex.substring(2 * i, 2 * i + 2), 16);
        }
        VirtualCpu vcpu = vcpus.get(selected);
        X86CpuState s = vcpu.state();
        if (!new GuestVirtualMemory(memory, s).write(address, bytes, length)) {
            return "E14";
        }
        for (VirtualCpu v : vcpus) {
            v.load(v.state()); // drops decoded and translated code, which the write may have changed
        }
        return "OK";
    }

    /** Z and z: types 0 and 1 are breakpoints; 2, 3 and 4 watch writes, reads and both, the third field long. */
    private String breakpoint(boolean insert, String rest) {
        String[] f = rest.split(",");
        int type = Integer.parseInt(f[0]);
        long address = Long.parseUnsignedLong(f[1], 16);
        if (type <= 1) {
            if (insert) {
                breakpoints.add(address);
            } else {
                breakpoints.remove(address);
            }
            return "OK";
        }
        if (type > 4) {
            return "";
        }
        Watchpoint w = new Watchpoint(address, Long.parseLong(f[2], 16), WATCH_KINDS[type - 2]);
        if (!insert) {
            watchpoints.remove(w);
        } else if (watchpoints.size() >= MAX_WATCHPOINTS) {
            return "E28"; // ENOSPC: GDB says it could not insert the watchpoint
        } else {
            watchpoints.add(w);
        }
        return "OK";
    }

    private String vPacket(String p) throws InterruptedException {
        if (p.equals("vCont?")) {
            return "vCont;c;C;s;S;t";
        }
        if (!p.startsWith("vCont;")) {
            return "";
        }
        int step = -1;
        boolean resume = false;
        for (String action : p.substring(6).split(";")) {
            String[] a = action.split(":");
            char kind = a[0].charAt(0);
            int thread = a.length > 1 && !a[1].equals("-1") ? Integer.parseInt(a[1], 16) - 1 : -1;
            if (kind == 's' || kind == 'S') {
                if (step < 0) {
                    step = thread >= 0 ? thread : selected;
                }
                resume = true;
            } else if (kind == 'c' || kind == 'C') {
                resume = true;
            } else if (kind != 't') {
                return "E22";
            }
        }
        if (step >= vcpus.size()) {
            return "E01";
        }
        if (!resume) {
            return String.format("T00thread:%x;", selected + 1); // stop: already stopped (all-stop)
        }
        resume(step);
        return "";
    }

    private String query(String p) {
        if (p.startsWith("qSupported")) {
            return "PacketSize=" + Integer.toHexString(GdbPackets.MAX_PACKET)
                    + ";qXfer:features:read+;QStartNoAckMode+;vContSupported+";
        }
        if (p.equals("QStartNoAckMode")) {
            return "OK"; // acknowledgements stop after this reply (see session)
        }
        if (p.startsWith("qXfer:features:read:target.xml:")) {
            String[] range = p.substring("qXfer:features:read:target.xml:".length()).split(",");
            int offset = Integer.parseInt(range[0], 16), length = Integer.parseInt(range[1], 16);
            byte[] xml = GdbRegisters.targetXml().getBytes(StandardCharsets.US_ASCII);
            if (offset >= xml.length) {
                return "l";
            }
            int end = (int) Math.min(xml.length, (long) offset + length);
            return (end == xml.length ? "l" : "m") + new String(xml, offset, end - offset, StandardCharsets.ISO_8859_1);
        }
        if (p.startsWith("qXfer:")) {
            return "E00";
        }
        switch (p) {
            case "qC" -> {
                return "QC" + Integer.toHexString(selected + 1);
            }
            case "qAttached" -> {
                return "1";
            }
            case "qfThreadInfo" -> {
                List<String> ids = new ArrayList<>();
                for (int i = 0; i < vcpus.size(); i++) {
                    ids.add(Integer.toHexString(i + 1));
                }
                return "m" + String.join(",", ids);
            }
            case "qsThreadInfo" -> {
                return "l";
            }
            case "qSymbol::" -> {
                return "OK";
            }
            default -> {
                if (p.startsWith("qThreadExtraInfo,")) {
                    String name = "vCPU " + (Integer.parseInt(p.substring(17), 16) - 1);
                    return java.util.HexFormat.of().formatHex(name.getBytes(StandardCharsets.US_ASCII));
                }
                return "";
            }
        }
    }

    /**
     * Lets the machine run: every vCPU with the breakpoints and watchpoints, {@code step} (or none, -1) for one
     * instruction.
     */
    private void resume(int step) throws InterruptedException {
        long[] addresses = breakpoints.stream().mapToLong(Long::longValue).toArray();
        Watchpoint[] watches = watchpoints.toArray(NO_WATCHPOINTS);
        for (int i = 0; i < vcpus.size(); i++) {
            vcpus.get(i).debug(addresses, watches, i == step);
        }
        events.removeIf(e -> e instanceof Trap); // a vCPU held on a breakpoint stops there again
        running = true;
        machine.resume();
    }

    /** Leaves the guest running without a debugger's breakpoints. */
    private void detach() {
        breakpoints.clear();
        watchpoints.clear();
        running = false;
        if (machine.ended()) {
            return;
        }
        try {
            if (!machine.paused()) {
                machine.pause();
            }
            for (VirtualCpu v : vcpus) {
                v.debug(new long[0], NO_WATCHPOINTS, false);
            }
        } catch (InterruptedException | IllegalStateException e) {
            Thread.currentThread().interrupt();
        }
        machine.resume();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        thread.interrupt();
    }
}
