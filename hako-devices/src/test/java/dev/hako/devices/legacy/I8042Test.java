package dev.hako.devices.legacy;

import static dev.hako.devices.legacy.I8042.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.testkit.RecordingIrqLine;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The controller driven the way drivers/input/serio/i8042.c probes it. */
class I8042Test {
    private final RecordingIrqLine irq1 = new RecordingIrqLine();
    private final RecordingIrqLine irq12 = new RecordingIrqLine();
    private final AtomicInteger resets = new AtomicInteger();
    private final I8042 kbc = new I8042(irq1, irq12, resets::incrementAndGet);
    private final PioBus bus = new PioBus();

    {
        bus.register(DATA_PORT, 1, kbc.dataPort());
        bus.register(COMMAND_PORT, 1, kbc.commandPort());
    }

    private int status() {
        return (int) bus.read(0, COMMAND_PORT, 1);
    }

    /** i8042_command(): write the command and its parameters, then collect the answers. */
    private int[] command(int cmd, int[] params, int answers) {
        assertThat(status() & STATUS_IBF).isZero();
        bus.write(0, COMMAND_PORT, 1, cmd);
        for (int p : params) {
            assertThat(status() & STATUS_IBF).isZero();
            bus.write(0, DATA_PORT, 1, p);
        }
        int[] out = new int[answers];
        for (int i = 0; i < answers; i++) {
            assertThat(status() & STATUS_OBF).as("answer %d of command %#x", i, cmd).isNotZero();
            out[i] = (int) bus.read(0, DATA_PORT, 1);
        }
        return out;
    }

    private void flush() {
        int n = 0;
        while ((status() & STATUS_OBF) != 0 && n++ < QUEUE_SIZE) {
            bus.read(0, DATA_PORT, 1);
        }
        assertThat(status() & STATUS_OBF).isZero();
    }

    @Test
    void linuxControllerProbeAndInit() {
        assertThat(status()).isNotEqualTo(0xFF); // i8042_controller_check
        flush();
        assertThat(command(CMD_SELF_TEST, new int[0], 1)).containsExactly(SELF_TEST_PASSED);
        int ctr = command(CMD_READ_CTR, new int[0], 1)[0];
        assertThat(ctr & CTR_SYS).isNotZero();
        ctr &= ~(CTR_KBD_INT | CTR_AUX_INT);
        ctr |= CTR_KBD_DISABLE;
        command(CMD_WRITE_CTR, new int[] {ctr}, 0);
        int edgesBefore = irq1.risingEdges(); // the BIOS left keyboard interrupts on until now
        assertThat(command(CMD_READ_CTR, new int[0], 1)).containsExactly(ctr);
        assertThat(command(CMD_KBD_TEST, new int[0], 1)).containsExactly(0x00);
        assertThat(irq1.risingEdges()).isEqualTo(edgesBefore);
    }

    @Test
    void auxPortIsNotFound() {
        // i8042_toggle_aux: disabling is reflected in the command byte.
        command(CMD_AUX_DISABLE, new int[0], 0);
        assertThat(command(CMD_READ_CTR, new int[0], 1)[0] & CTR_AUX_DISABLE).isNotZero();
        command(CMD_AUX_ENABLE, new int[0], 0);
        assertThat(command(CMD_READ_CTR, new int[0], 1)[0] & CTR_AUX_DISABLE).isZero();
        // i8042_check_aux: the loop echo must come back flagged as aux data for the port to count.
        bus.write(0, COMMAND_PORT, 1, CMD_WRITE_AUX_BUFFER);
        bus.write(0, DATA_PORT, 1, 0x5A);
        assertThat(status() & STATUS_OBF).isNotZero();
        assertThat(status() & STATUS_AUX_DATA).isZero();
        flush();
        int test = command(CMD_AUX_TEST, new int[0], 1)[0];
        assertThat(test).isNotIn(0x00, 0xFA, 0xFF); // "clock or data line stuck": no aux port
    }

    @Test
    void bytesForTheAbsentKeyboardTimeOutWithNak() {
        command(CMD_WRITE_CTR, new int[] {CTR_KBD_INT | CTR_SYS | CTR_XLATE}, 0);
        bus.write(0, DATA_PORT, 1, 0xF2); // ATKBD_CMD_GETID
        assertThat(irq1.level()).isTrue();
        assertThat(status() & (STATUS_OBF | STATUS_TIMEOUT)).isEqualTo(STATUS_OBF | STATUS_TIMEOUT);
        assertThat(bus.read(0, DATA_PORT, 1)).isEqualTo(NO_DEVICE_RESPONSE);
        assertThat(irq1.level()).isFalse();
        assertThat(status() & STATUS_TIMEOUT).isZero();
    }

    @Test
    void bytesForTheAbsentMouseInterruptOnIrq12() {
        command(CMD_WRITE_CTR, new int[] {CTR_KBD_INT | CTR_AUX_INT | CTR_SYS}, 0);
        bus.write(0, COMMAND_PORT, 1, CMD_WRITE_AUX);
        bus.write(0, DATA_PORT, 1, 0xFF);
        assertThat(irq12.level()).isTrue();
        assertThat(irq1.level()).isFalse();
        assertThat(status() & STATUS_AUX_DATA).isNotZero();
        bus.read(0, DATA_PORT, 1);
        assertThat(irq12.level()).isFalse();
    }

    @Test
    void commandFeResetsTheMachine() {
        bus.write(0, COMMAND_PORT, 1, CMD_PULSE_RESET);
        assertThat(resets.get()).isEqualTo(1);
        bus.write(0, COMMAND_PORT, 1, 0xFF); // pulse nothing
        assertThat(resets.get()).isEqualTo(1);
    }

    @Test
    void outputPortControlsA20AndReset() {
        assertThat(command(CMD_READ_OUTPUT_PORT, new int[0], 1)[0] & OUTPUT_PORT_A20).isNotZero();
        command(CMD_WRITE_OUTPUT_PORT, new int[] {0xDD}, 0); // A20 off
        assertThat(kbc.a20Enabled()).isFalse();
        command(CMD_WRITE_OUTPUT_PORT, new int[] {0xDF});
        assertThat(kbc.a20Enabled()).isTrue();
        assertThat(resets.get()).isZero();
        command(CMD_WRITE_OUTPUT_PORT, new int[] {0x02}, 0);
        assertThat(resets.get()).isEqualTo(1);
    }

    private void command(int cmd, int[] params) {
        command(cmd, params, 0);
    }

    @Test
    void statusTracksWhichPortWasWrittenLast() {
        bus.write(0, COMMAND_PORT, 1, CMD_KBD_ENABLE);
        assertThat(status() & STATUS_A2).isNotZero();
        bus.write(0, COMMAND_PORT, 1, CMD_WRITE_CTR);
        bus.write(0, DATA_PORT, 1, CTR_SYS);
        assertThat(status() & STATUS_A2).isZero();
    }

    @Test
    void stateRoundTrips() {
        command(CMD_WRITE_CTR, new int[] {CTR_KBD_INT | CTR_SYS}, 0);
        bus.write(0, COMMAND_PORT, 1, CMD_SELF_TEST);
        I8042State saved = kbc.save();
        RecordingIrqLine otherIrq1 = new RecordingIrqLine();
        I8042 copy = new I8042(otherIrq1, new RecordingIrqLine(), () -> {
        });
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        assertThat(otherIrq1.level()).isTrue();
        assertThat(copy.dataPort().read(0, 0, 1)).isEqualTo(SELF_TEST_PASSED);
    }
}
