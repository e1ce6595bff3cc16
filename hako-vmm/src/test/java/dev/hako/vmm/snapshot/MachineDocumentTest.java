package dev.hako.vmm.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hako.core.accel.VcpuState;
import dev.hako.core.state.Snapshotable;
import dev.hako.core.time.ClockState;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.x86.DebugRegisters;
import dev.hako.core.x86.X86CpuState;
import dev.hako.devices.legacy.Pit8254;
import dev.hako.devices.legacy.Pit8254State;
import dev.hako.testkit.ManualClock;
import dev.hako.testkit.RecordingIrqLine;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code machine.json} written and read back: records of every kind (plain, nested arrays of records, the vCPU's
 * register file with its byte arrays) come back equal; and a document this build did not write is refused with one
 * line, never misread: a newer format, an unknown field anywhere, a missing one, a null or a string for a number,
 * a record of another type than the component saves, a component the document lacks.
 */
class MachineDocumentTest {
    private static final MachineSpec SPEC = new MachineSpec(256L << 20, 2, "soft", "console=ttyS0", 30_000,
            List.of(new MachineSpec.DiskSpec("/vm/disk.qcow2", "qcow2", false, "hako-disk0", true)), 0, -1, false, 0, null,
            List.of(new MachineSpec.NetCard(null, List.of("tcp:127.0.0.1:2222-:22"), "52:54:00:12:34:56")));

    /** A vCPU stand-in: the document only needs the component's record type. */
    static final class Cpu implements Snapshotable<VcpuState> {
        @Override
        public VcpuState save() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void restore(VcpuState state) {
        }
    }

    private final NanoTimeClock clock = new NanoTimeClock();
    private final Pit8254 pit = new Pit8254(new TimerQueue(new ManualClock()), new RecordingIrqLine());

    private Map<String, Record> states() {
        X86CpuState cpu = X86CpuState.atReset();
        cpu.gpr[3] = 0x1234_5678_9ABC_DEF0L;
        cpu.rip = 0xFFFF_FFFF_8100_0000L;
        cpu.fxsave[17] = (byte) 0xE5;
        cpu.halted = true;
        cpu.debugAddress[2] = 0x4000_1000L;
        cpu.dr7 = DebugRegisters.DR7_FIXED | DebugRegisters.arm(2, DebugRegisters.RW_WRITE, 4);
        cpu.dr6 = DebugRegisters.DR6_FIXED | DebugRegisters.DR6_BS;
        pit.write(0, 3, 1, 0x34); // channel 0, mode 2, lobyte/hibyte
        pit.write(0, 0, 1, 0x9C);
        Map<String, Record> states = new LinkedHashMap<>();
        states.put("clock", new ClockState(ClockState.VERSION, 123_456_789L));
        states.put("pit", pit.save());
        states.put("vcpu0", new VcpuState(VcpuState.VERSION, cpu));
        return states;
    }

    private MachineDocument read(String json) throws SnapshotException {
        return MachineDocument.read(json.getBytes(StandardCharsets.UTF_8), "machine.json");
    }

    private String written() {
        return new String(MachineDocument.write(SPEC, states()), StandardCharsets.UTF_8);
    }

    @Test
    void everyRecordComesBackEqual() throws Exception {
        Map<String, Record> states = states();
        MachineDocument doc = MachineDocument.read(MachineDocument.write(SPEC, states), "machine.json");
        assertThat(doc.machine()).isEqualTo(SPEC);
        assertThat(doc.ids()).containsExactly("clock", "pit", "vcpu0");
        assertThat(doc.state("clock", clock)).isEqualTo(states.get("clock"));
        assertThat(doc.state("pit", pit)).isEqualTo(states.get("pit"));
        assertThat(doc.state("vcpu0", new Cpu())).isEqualTo(states.get("vcpu0"));
        assertThat(((Pit8254State) doc.state("pit", pit)).channels()[0].mode()).isEqualTo(2);
    }

    @Test
    void aNewerFormatIsRefusedInOneLine() {
        assertThatThrownBy(() -> read(written().replaceFirst("\"format\" : 2", "\"format\" : 3")))
                .isInstanceOf(SnapshotException.class)
                .hasMessage("machine.json has snapshot format 3, newer than this hako reads (2): restore it with "
                        + "the hako that wrote it");
    }

    @Test
    void aFormat1DocumentReadsWithItsDisksByReference() throws Exception {
        String format1 = written().replaceFirst("\"format\" : 2", "\"format\" : 1")
                .replaceFirst(",\\s*\"frozen\" : true", "");
        assertThat(format1).doesNotContain("frozen");
        MachineSpec.DiskSpec disk = read(format1).machine().disks().getFirst();
        assertThat(disk.frozen()).isFalse();
        assertThat(disk.path()).isEqualTo("/vm/disk.qcow2");
        assertRefused(written().replaceFirst(",\\s*\"frozen\" : true", ""), "machine does not have the shape");
    }

    @Test
    void whatThisBuildDidNotWriteIsRefused() throws Exception {
        String good = written();
        assertRefused(good.replaceFirst("\\{", "{\"extra\" : 1, "), "unknown field 'extra'");
        assertRefused("[1]", "not a hako snapshot document");
        assertRefused("{\"format\": 2, \"machine\": ", "is not JSON");
        assertRefused(good.replaceFirst("\"memoryBytes\"", "\"memoryBits\""), "machine does not have the shape");

        MachineDocument extraField = read(good.replaceFirst("\"nanos\" :", "\"seconds\" : 3, \"nanos\" :"));
        assertThatThrownBy(() -> extraField.state("clock", clock)).hasMessageContaining("component 'clock' does not "
                + "have the shape");
        MachineDocument missing = read(good.replaceFirst(",\\s*\"portB\" : \\d+", ""));
        assertThatThrownBy(() -> missing.state("pit", pit)).hasMessageContaining("component 'pit' does not have");
        MachineDocument nullNumber = read(good.replaceFirst("\"nanos\" : 123456789", "\"nanos\" : null"));
        assertThatThrownBy(() -> nullNumber.state("clock", clock)).isInstanceOf(SnapshotException.class);
        MachineDocument stringNumber = read(good.replaceFirst("\"nanos\" : 123456789", "\"nanos\" : \"123456789\""));
        assertThatThrownBy(() -> stringNumber.state("clock", clock)).isInstanceOf(SnapshotException.class);
        MachineDocument badRegister = read(good.replaceFirst("\"rip\" :", "\"ripp\" :"));
        assertThatThrownBy(() -> badRegister.state("vcpu0", new Cpu())).isInstanceOf(SnapshotException.class);

        MachineDocument doc = read(good);
        assertThatThrownBy(() -> doc.state("pit", clock)).isInstanceOf(SnapshotException.class)
                .hasMessage("machine.json: component 'pit' holds a Pit8254State, this machine's restores a ClockState");
        assertThatThrownBy(() -> doc.state("rtc", clock)).isInstanceOf(SnapshotException.class)
                .hasMessage("machine.json has no state for component 'rtc'");
    }

    @Test
    void aVcpuStateAnOlderHakoSavedReadsWithTheDebugRegistersAtReset() throws Exception {
        ObjectNode root = (ObjectNode) new ObjectMapper().readTree(written());
        ObjectNode vcpu = (ObjectNode) root.path("components").path("vcpu0").path("state");
        vcpu.put("version", 1);
        ((ObjectNode) vcpu.get("cpu")).remove(List.of("debugAddress", "dr6", "dr7"));

        Record read = read(root.toString()).state("vcpu0", new Cpu());

        X86CpuState expected = ((VcpuState) states().get("vcpu0")).cpu();
        X86CpuState reset = X86CpuState.atReset();
        expected.dr6 = reset.dr6;
        expected.dr7 = reset.dr7;
        System.arraycopy(reset.debugAddress, 0, expected.debugAddress, 0, reset.debugAddress.length);
        assertThat(read).isEqualTo(new VcpuState(VcpuState.VERSION, expected));
        vcpu.put("version", 0);
        MachineDocument unknownVersion = read(root.toString());
        assertThatThrownBy(() -> unknownVersion.state("vcpu0", new Cpu())).as("no upgrade from a version no hako wrote")
                .isInstanceOf(SnapshotException.class);
    }

    private void assertRefused(String json, String message) {
        assertThatThrownBy(() -> read(json)).isInstanceOf(SnapshotException.class).hasMessageContaining(message)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain("\n"));
    }
}
