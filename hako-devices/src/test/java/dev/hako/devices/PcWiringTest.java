package dev.hako.devices;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import dev.hako.core.time.TimerQueue;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.irqchip.IoApic;
import dev.hako.devices.irqchip.LocalApic;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.legacy.CmosRtc;
import dev.hako.devices.legacy.I8042;
import dev.hako.devices.legacy.Pit8254;
import dev.hako.devices.legacy.Uart16550;
import dev.hako.testkit.ManualClock;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Every legacy device on one set of buses, wired like a PC: interrupts travel the whole path. */
class PcWiringTest {
    private final ManualClock clock = new ManualClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final UserspaceIrqChip irqChip = new UserspaceIrqChip(1, timers, 1_000_000_000L);
    private final StringBuilder console = new StringBuilder();
    private final AtomicInteger resets = new AtomicInteger();
    private final AtomicInteger powerOffs = new AtomicInteger();

    {
        irqChip.registerOn(pio, mmio);
        Uart16550 uart = new Uart16550(irqChip.isaIrq(Uart16550.COM1_IRQ), b -> console.append((char) b));
        pio.register(Uart16550.COM1_PORT, Uart16550.PORT_COUNT, uart);
        Pit8254 pit = new Pit8254(timers, irqChip.isaIrq(Pit8254.IRQ));
        pio.register(Pit8254.BASE_PORT, Pit8254.PORT_COUNT, pit);
        pio.register(Pit8254.PORT_B, 1, pit.portB());
        CmosRtc rtc = CmosRtc.fromHostClock(timers, irqChip.isaIrq(CmosRtc.IRQ));
        pio.register(CmosRtc.BASE_PORT, CmosRtc.PORT_COUNT, rtc);
        I8042 kbc = new I8042(irqChip.isaIrq(I8042.KEYBOARD_IRQ), irqChip.isaIrq(I8042.AUX_IRQ),
                resets::incrementAndGet);
        pio.register(I8042.DATA_PORT, 1, kbc.dataPort());
        pio.register(I8042.COMMAND_PORT, 1, kbc.commandPort());
        AcpiPm pm = new AcpiPm(timers, irqChip.isaIrq(9), 5, false, false, 4, powerOffs::incrementAndGet,
                resets::incrementAndGet);
        pio.register(AcpiPm.DEFAULT_PM1A_EVENT_PORT, AcpiPm.PM1_EVENT_LENGTH, pm.eventBlock());
        pio.register(AcpiPm.DEFAULT_PM1A_CONTROL_PORT, AcpiPm.PM1_CONTROL_LENGTH, pm.controlBlock());
        pio.register(AcpiPm.DEFAULT_PM_TIMER_PORT, AcpiPm.PM_TIMER_LENGTH, pm.timerBlock());
        pio.register(AcpiPm.DEFAULT_GPE0_PORT, 4, pm.gpe0Block());
        pio.register(AcpiPm.DEFAULT_SMI_COMMAND_PORT, 1, pm.smiCommand());
        pio.register(AcpiPm.RESET_PORT, 1, pm.resetRegister());
    }

    private void out(int port, int value) {
        pio.write(0, port, 1, value);
    }

    private void initPic() {
        out(0x20, 0x11);
        out(0x21, 0x30);
        out(0x21, 0x04);
        out(0x21, 0x01);
        out(0xA0, 0x11);
        out(0xA1, 0x38);
        out(0xA1, 0x02);
        out(0xA1, 0x01);
    }

    @Test
    void pitTicksReachTheCpuThroughThe8259() {
        initPic();
        out(0x21, 0xFE); // only IRQ0
        out(0xA1, 0xFF);
        out(0x43, 0x34);
        out(0x40, 0x9C);
        out(0x40, 0x2E); // 11932: 100 Hz, a tick every 10.00003 ms
        clock.advanceMillis(11);
        timers.runDue();
        assertThat(irqChip.hasPendingInterrupt(0)).isTrue();
        assertThat(irqChip.acknowledge(0)).isEqualTo(0x30);
        out(0x20, 0x20);
    }

    @Test
    void pitTicksReachTheLocalApicThroughIoApicPin2() {
        initPic();
        out(0x21, 0xFF);
        out(0xA1, 0xFF);
        mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
        mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_LVT_LINT0, 4, LocalApic.LVT_MASKED | 0x700);
        mmio.write(0, IoApic.DEFAULT_BASE, 4, IoApic.REG_REDIRECTION + 2 * 2);
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOWIN, 4, 0x30);
        out(0x43, 0x34);
        out(0x40, 0x9C);
        out(0x40, 0x2E);
        clock.advanceMillis(1);
        for (int tick = 0; tick < 3; tick++) {
            clock.advanceMillis(10);
            timers.runDue();
            assertThat(irqChip.acknowledge(0)).isEqualTo(0x30);
            mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_EOI, 4, 0);
        }
    }

    @Test
    void rtcInterruptArrivesThroughTheSlave8259() {
        initPic();
        out(0x21, 0xFB);
        out(0xA1, 0xFE);
        out(0x70, CmosRtc.REG_B);
        out(0x71, CmosRtc.B_24_HOUR | CmosRtc.B_PIE);
        clock.advanceMillis(1);
        timers.runDue();
        assertThat(irqChip.acknowledge(0)).isEqualTo(0x38);
    }

    @Test
    void serialOutputAndTheResetAndPowerPaths() {
        for (char c : "Linux version".toCharArray()) {
            out(0x3F8, c);
        }
        assertThat(console).hasToString("Linux version");
        out(0x64, 0xFE);
        out(0xCF9, 0x06);
        assertThat(resets.get()).isEqualTo(2);
        out(0xB2, AcpiPm.SMI_ACPI_ENABLE);
        pio.write(0, AcpiPm.DEFAULT_PM1A_CONTROL_PORT, 2, 1 | 5 << 10 | 1 << 13);
        assertThat(powerOffs.get()).isEqualTo(1);
    }

    @Test
    void unclaimedPortsFloatHigh() {
        assertThat(pio.read(0, 0x80, 1)).isEqualTo(0xFF); // POST code port: Linux's io delay
        assertThat(pio.read(0, 0x2F8, 1)).isEqualTo(0xFF); // no COM2
        assertThat(CharBackend.NULL).isNotNull();
    }
}
