package dev.hako.devices.irqchip;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import dev.hako.testkit.RecordingIrqLine;
import org.junit.jupiter.api.Test;

class Pic8259Test {
    private final RecordingIrqLine intr = new RecordingIrqLine();
    private final Pic8259 pic = new Pic8259(new Object(), intr);
    private final PioBus bus = new PioBus();

    {
        bus.register(Pic8259.MASTER_PORT, 2, pic.masterPorts());
        bus.register(Pic8259.SLAVE_PORT, 2, pic.slavePorts());
        bus.register(Pic8259.ELCR_PORT, 2, pic.elcrPorts());
    }

    private void out(int port, int v) {
        bus.write(0, port, 1, v);
    }

    private int in(int port) {
        return (int) bus.read(0, port, 1);
    }

    /** arch/x86/kernel/i8259.c init_8259A(0). */
    private void linuxInit(boolean autoEoi) {
        out(0x21, 0xFF);
        out(0xA1, 0xFF);
        out(0x20, 0x11);
        out(0x21, 0x30);
        out(0x21, 0x04);
        out(0x21, autoEoi ? 0x03 : 0x01);
        out(0xA0, 0x11);
        out(0xA1, 0x38);
        out(0xA1, 0x02);
        out(0xA1, 0x01);
        out(0x21, 0x00);
        out(0xA1, 0x00);
    }

    @Test
    void linuxProbeReadsBackTheMask() {
        out(0xA1, 0xFF);
        out(0x21, 0xFB);
        assertThat(in(0x21)).isEqualTo(0xFB);
        assertThat(in(0xA1)).isEqualTo(0xFF);
    }

    @Test
    void higherPriorityPreemptsAndLowerWaitsForEoi() {
        linuxInit(false);
        pic.line(3).pulse();
        pic.line(1).pulse();
        assertThat(intr.level()).isTrue();
        assertThat(pic.acknowledge()).isEqualTo(0x31);
        assertThat(pic.hasInterrupt()).isFalse(); // IRQ3 is lower priority than IRQ1 in service
        pic.line(0).pulse();
        assertThat(pic.hasInterrupt()).isTrue();
        assertThat(pic.acknowledge()).isEqualTo(0x30);
        out(0x0B, 0); // unmapped, just noise
        out(0x20, 0x0B); // OCW3: read ISR
        assertThat(in(0x20)).isEqualTo(0x03);
        out(0x20, 0x20); // EOI for IRQ0
        out(0x20, 0x20); // EOI for IRQ1
        assertThat(pic.acknowledge()).isEqualTo(0x33);
        out(0x20, 0x0A); // OCW3: read IRR
        assertThat(in(0x20)).isZero();
    }

    @Test
    void maskedRequestsWaitInIrr() {
        linuxInit(false);
        out(0x21, 0x10);
        pic.line(4).pulse();
        assertThat(pic.hasInterrupt()).isFalse();
        out(0x20, 0x0A);
        assertThat(in(0x20)).isEqualTo(0x10);
        out(0x21, 0x00);
        assertThat(intr.level()).isTrue();
        assertThat(pic.acknowledge()).isEqualTo(0x34);
    }

    @Test
    void slaveInterruptsArriveThroughTheCascade() {
        linuxInit(false);
        pic.line(8).pulse();
        assertThat(intr.level()).isTrue();
        assertThat(pic.acknowledge()).isEqualTo(0x38);
        out(0xA0, 0x0B);
        assertThat(in(0xA0)).isEqualTo(0x01);
        out(0x20, 0x0B);
        assertThat(in(0x20)).isEqualTo(0x04);
        pic.line(12).pulse();
        assertThat(pic.hasInterrupt()).isFalse(); // IRQ8 still in service on the slave
        out(0xA0, 0x20);
        out(0x20, 0x20);
        assertThat(pic.acknowledge()).isEqualTo(0x3C);
    }

    @Test
    void edgeNeedsANewRisingEdgeButLevelRepeatsUntilDropped() {
        linuxInit(false);
        out(0x4D1, 0x04); // IRQ10 level-triggered
        assertThat(in(0x4D1)).isEqualTo(0x04);
        pic.setIrq(5, true);
        assertThat(pic.acknowledge()).isEqualTo(0x35);
        out(0x20, 0x20);
        assertThat(pic.hasInterrupt()).isFalse(); // still high, but no new edge

        pic.setIrq(10, true);
        assertThat(pic.acknowledge()).isEqualTo(0x3A);
        out(0xA0, 0x20);
        out(0x20, 0x20);
        assertThat(pic.hasInterrupt()).isTrue(); // the level is still asserted
        pic.setIrq(10, false);
        // The master latched the cascade's edge; with the slave's request gone the INTA finds nothing
        // there: a spurious IRQ15, as on real hardware.
        assertThat(pic.acknowledge()).isEqualTo(0x3F);
        assertThat(pic.hasInterrupt()).isFalse();
    }

    @Test
    void elcrCannotMakeTimerOrCascadeLevelTriggered() {
        out(0x4D0, 0xFF);
        assertThat(in(0x4D0)).isEqualTo(0xF8);
        out(0x4D1, 0xFF);
        assertThat(in(0x4D1)).isEqualTo(0xDE);
    }

    @Test
    void autoEoiLeavesNothingInService() {
        linuxInit(true);
        pic.line(1).pulse();
        assertThat(pic.acknowledge()).isEqualTo(0x31);
        out(0x20, 0x0B);
        assertThat(in(0x20)).isZero();
        pic.line(3).pulse();
        assertThat(pic.acknowledge()).isEqualTo(0x33);
    }

    @Test
    void spuriousAcknowledgeGivesIrq7() {
        linuxInit(false);
        assertThat(pic.acknowledge()).isEqualTo(0x37);
    }

    @Test
    void pollModeReturnsTheRequestAndAcknowledgesIt() {
        linuxInit(false);
        pic.line(6).pulse();
        out(0x20, 0x0C); // OCW3 poll
        assertThat(in(0x20)).isEqualTo(0x86);
        out(0x20, 0x0B);
        assertThat(in(0x20)).isEqualTo(0x40);
    }

    @Test
    void specificEoiAndRotation() {
        linuxInit(false);
        pic.line(4).pulse();
        assertThat(pic.acknowledge()).isEqualTo(0x34);
        out(0x20, 0x64); // specific EOI for IRQ4
        out(0x20, 0x0B);
        assertThat(in(0x20)).isZero();
        out(0x20, 0xC4); // set priority: IRQ4 lowest, IRQ5 highest
        pic.line(3).pulse();
        pic.line(6).pulse();
        assertThat(pic.acknowledge()).isEqualTo(0x36);
    }

    @Test
    void stateRoundTrips() {
        linuxInit(false);
        out(0x4D0, 0x20);
        pic.line(9).pulse();
        Pic8259State saved = pic.save();
        RecordingIrqLine other = new RecordingIrqLine();
        Pic8259 copy = new Pic8259(new Object(), other);
        copy.restore(saved);
        assertThat(copy.save()).isEqualTo(saved);
        assertThat(other.level()).isTrue();
        assertThat(copy.acknowledge()).isEqualTo(0x39);
        assertThat(copy.elcrPorts().read(0, 0, 1)).isEqualTo(0x20);
    }
}
