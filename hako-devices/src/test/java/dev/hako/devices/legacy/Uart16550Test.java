package dev.hako.devices.legacy;

import static dev.hako.devices.legacy.Uart16550.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import dev.hako.testkit.RecordingIrqLine;
import java.io.ByteArrayOutputStream;
import org.junit.jupiter.api.Test;

class Uart16550Test {
    static final class Terminal implements CharBackend {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        CharFrontend uart;

        @Override
        public void write(int b) {
            out.write(b);
        }

        @Override
        public void attach(CharFrontend frontend) {
            uart = frontend;
        }
    }

    private final RecordingIrqLine irq = new RecordingIrqLine();
    private final Terminal terminal = new Terminal();
    private final Uart16550 uart = new Uart16550(irq, terminal);
    private final PioBus bus = new PioBus();

    {
        bus.register(COM1_PORT, PORT_COUNT, uart);
    }

    private int in(int reg) {
        return (int) bus.read(0, COM1_PORT + reg, 1);
    }

    private void out(int reg, int value) {
        bus.write(0, COM1_PORT + reg, 1, value);
    }

    /** The register dance of Linux's drivers/tty/serial/8250/8250_port.c autoconfig(). */
    @Test
    void linuxAutoconfigFindsA16550A() {
        int saved = in(IER);
        out(IER, 0);
        int scratch2 = in(IER) & 0x0F;
        out(IER, 0x0F);
        int scratch3 = in(IER) & 0x0F;
        out(IER, saved);
        assertThat(scratch2).isZero();
        assertThat(scratch3).isEqualTo(0x0F);

        int savedMcr = in(MCR);
        out(MCR, MCR_LOOP | 0x0A);
        assertThat(in(MSR) & 0xF0).isEqualTo(0x90);
        out(MCR, savedMcr);

        out(LCR, 0xBF);
        out(IIR_FCR, 0); // EFR on a 16650, FCR here
        out(LCR, 0);
        out(IIR_FCR, FCR_FIFO_ENABLE);
        assertThat(in(IIR_FCR) >> 6).isEqualTo(3); // 16550A

        // autoconfig_16550a: no EFR, not a TI16750 (IIR bit 5 stays clear with the 64-byte bit).
        out(LCR, 0x80);
        assertThat(in(IIR_FCR)).isNotZero();
        out(LCR, 0);
        out(IIR_FCR, FCR_FIFO_ENABLE | 0x20);
        assertThat(in(IIR_FCR) >> 5).isEqualTo(6);
        // The IER_UUE bit (XScale) does not stick.
        out(IER, 0x40);
        assertThat(in(IER)).isZero();
    }

    @Test
    void divisorLatchIsBehindDlab() {
        out(LCR, LCR_DLAB | 0x03);
        out(RBR_THR, 0x01);
        out(IER, 0x00); // 115200 baud
        out(LCR, 0x03);
        out(IER, IER_ERBFI);
        assertThat(in(IER)).isEqualTo(IER_ERBFI);
        out(LCR, LCR_DLAB | 0x03);
        assertThat(in(RBR_THR)).isEqualTo(1);
        assertThat(in(IER)).isZero();
        assertThat(uart.save().divisor()).isEqualTo(1);
    }

    @Test
    void transmittedBytesReachTheBackendAndThrStaysEmpty() {
        for (char c : "hello".toCharArray()) {
            assertThat(in(LSR) & LSR_THRE).isNotZero();
            out(RBR_THR, c);
        }
        assertThat(terminal.out.toString()).isEqualTo("hello");
        assertThat(in(LSR) & (LSR_THRE | LSR_TEMT)).isEqualTo(LSR_THRE | LSR_TEMT);
    }

    @Test
    void thrEmptyInterruptIsRaisedOnEnableAndClearedByReadingIir() {
        out(IER, IER_ETBEI);
        assertThat(irq.level()).isTrue();
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_THR_EMPTY);
        assertThat(irq.level()).isFalse();
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_NO_INTERRUPT);
        out(RBR_THR, 'x'); // THR empties again after the byte is sent
        assertThat(irq.level()).isTrue();
        // Linux's UART_BUG_THRE test: toggling ETBEI must re-assert THRE.
        in(IIR_FCR);
        out(IER, 0);
        out(IER, IER_ETBEI);
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_THR_EMPTY);
    }

    @Test
    void receivedDataRaisesInterruptUntilDrained() {
        out(MCR, MCR_DTR | MCR_RTS);
        out(IIR_FCR, FCR_FIFO_ENABLE | 0x80); // trigger level 8
        out(IER, IER_ERBFI);
        assertThat(irq.level()).isFalse();
        for (char c : "abc".toCharArray()) {
            assertThat(terminal.uart.receive(c)).isTrue();
        }
        assertThat(irq.level()).isTrue();
        assertThat(in(IIR_FCR)).isEqualTo(IIR_FIFOS_ENABLED | IIR_CHARACTER_TIMEOUT);
        for (char c : "defgh".toCharArray()) {
            terminal.uart.receive(c);
        }
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_RECEIVED_DATA);
        StringBuilder got = new StringBuilder();
        while ((in(LSR) & LSR_DR) != 0) {
            got.append((char) in(RBR_THR));
        }
        assertThat(got).hasToString("abcdefgh");
        assertThat(irq.level()).isFalse();
    }

    @Test
    void fifoHoldsSixteenBytesAndThenPushesBack() {
        out(MCR, MCR_DTR | MCR_RTS);
        out(IER, IER_ERBFI);
        out(IIR_FCR, FCR_FIFO_ENABLE);
        for (int i = 0; i < 16; i++) {
            assertThat(terminal.uart.receive(i)).isTrue();
        }
        assertThat(terminal.uart.receiveSpace()).isZero();
        assertThat(terminal.uart.receive(99)).isFalse();
        out(IIR_FCR, FCR_FIFO_ENABLE | FCR_CLEAR_RX);
        assertThat(in(LSR) & LSR_DR).isZero();
        out(IIR_FCR, 0); // FIFOs off: a single holding register
        assertThat(terminal.uart.receiveSpace()).isEqualTo(1);
    }

    @Test
    void loopbackFeedsTransmitterIntoReceiverAndOverrunIsReported() {
        out(MCR, MCR_LOOP);
        out(IER, IER_ELSI);
        out(RBR_THR, 0x41);
        assertThat(terminal.out.size()).isZero();
        assertThat(in(LSR) & LSR_DR).isNotZero();
        out(RBR_THR, 0x42); // FIFOs off: the second byte overruns
        assertThat(irq.level()).isTrue();
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_LINE_STATUS);
        assertThat(in(LSR) & LSR_OE).isNotZero();
        assertThat(in(LSR) & LSR_OE).isZero();
        assertThat(in(RBR_THR)).isEqualTo(0x41);
        assertThat(irq.level()).isFalse();
    }

    @Test
    void modemStatusDeltasInLoopback() {
        out(MCR, MCR_LOOP);
        in(MSR);
        out(IER, IER_EDSSI);
        out(MCR, MCR_LOOP | MCR_RTS | MCR_OUT1);
        assertThat(irq.level()).isTrue();
        assertThat(in(IIR_FCR) & 0x0F).isEqualTo(IIR_MODEM_STATUS);
        assertThat(in(MSR)).isEqualTo(MSR_CTS | MSR_RI | MSR_DCTS);
        out(MCR, MCR_LOOP | MCR_RTS);
        assertThat(in(MSR)).isEqualTo(MSR_CTS | MSR_TERI);
        assertThat(irq.level()).isFalse();
        out(MCR, 0);
        assertThat(in(MSR) & 0xF0).isEqualTo(MSR_DCD | MSR_DSR | MSR_CTS);
    }

    @Test
    void hostInputWaitsUntilTheGuestListens() {
        out(IIR_FCR, FCR_FIFO_ENABLE);
        out(IER, IER_ERBFI);
        assertThat(terminal.uart.receive('p')).as("no DTR/RTS yet: the host holds the byte").isFalse();
        assertThat(terminal.uart.receiveSpace()).isZero();
        out(MCR, MCR_DTR);
        assertThat(terminal.uart.receive('p')).as("DTR without RTS").isFalse();
        out(MCR, MCR_LOOP | MCR_DTR | MCR_RTS);
        assertThat(terminal.uart.receive('p')).as("loopback disconnects the line").isFalse();
        out(MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
        out(IER, 0);
        assertThat(terminal.uart.receive('p')).as("received-data interrupt off").isFalse();
        out(IER, IER_ERBFI);
        assertThat(terminal.uart.receiveSpace()).isEqualTo(16);
        assertThat(terminal.uart.receive('p')).isTrue();
        assertThat(in(RBR_THR)).isEqualTo('p');
    }

    /**
     * What Linux does before its 8250 driver listens, as recorded from a boot with earlyprintk: DTR and RTS
     * raised by the early console, FIFOs turned on and cleared, DTR and RTS raised again and RBR read "for luck",
     * the received-data interrupt enabled last. Bytes the host offered meanwhile were held, not lost.
     */
    @Test
    void driverStartupDoesNotEatEarlyInput() {
        StringBuilder held = new StringBuilder("echo hi");
        Runnable offer = () -> {
            if (held.length() > 0 && terminal.uart.receive(held.charAt(0))) {
                held.deleteCharAt(0);
            }
        };
        int[][] startup = {{MCR, 3}, {IIR_FCR, 0}, {MCR, 1}, {IIR_FCR, 1}, {IIR_FCR, 7}, {IIR_FCR, 0},
            {MCR, 9}, {IIR_FCR, 1}, {IIR_FCR, 0x81}, {MCR, 11}};
        for (int[] write : startup) {
            out(write[0], write[1]);
            offer.run();
            in(LSR);
            in(RBR_THR);
            offer.run();
        }
        out(IER, IER_ELSI | IER_ERBFI);
        StringBuilder got = new StringBuilder();
        while (held.length() > 0 && terminal.uart.receive(held.charAt(0))) {
            held.deleteCharAt(0);
        }
        while ((in(LSR) & LSR_DR) != 0) {
            got.append((char) in(RBR_THR));
        }
        assertThat(got).hasToString("echo hi");
    }

    @Test
    void stateRoundTripsThroughSnapshot() {
        out(MCR, MCR_DTR | MCR_RTS);
        out(IIR_FCR, FCR_FIFO_ENABLE);
        out(SCR, 0x5A);
        out(IER, IER_ERBFI);
        terminal.uart.receive('q');
        terminal.uart.receive('r');
        Uart16550State saved = uart.save();
        RecordingIrqLine otherIrq = new RecordingIrqLine();
        Uart16550 copy = new Uart16550(otherIrq, CharBackend.NULL);
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        assertThat(otherIrq.level()).isTrue();
        assertThat(copy.read(0, SCR, 1)).isEqualTo(0x5A);
        assertThat(copy.read(0, RBR_THR, 1)).isEqualTo('q');
        assertThat(copy.read(0, RBR_THR, 1)).isEqualTo('r');
    }
}
