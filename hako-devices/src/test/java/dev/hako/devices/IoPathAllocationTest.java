package dev.hako.devices;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.management.ThreadMXBean;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.PioBus;
import dev.hako.core.time.TimerQueue;
import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.irqchip.IoApic;
import dev.hako.devices.irqchip.LocalApic;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.devices.legacy.AcpiPm;
import dev.hako.devices.legacy.CmosRtc;
import dev.hako.devices.legacy.Pit8254;
import dev.hako.devices.legacy.Uart16550;
import dev.hako.testkit.ManualClock;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/**
 * The architecture's promise that nothing allocates on the I/O path, measured: a guest's busiest port and
 * MMIO traffic (console output, PIT reads, interrupt delivery and EOI, LAPIC timer re-arming, PM timer and
 * RTC reads) run many times and the thread's allocation counter must not move by more than noise.
 */
class IoPathAllocationTest {
    private final ManualClock clock = new ManualClock();
    private final TimerQueue timers = new TimerQueue(clock);
    private final PioBus pio = new PioBus();
    private final MmioBus mmio = new MmioBus();
    private final UserspaceIrqChip chip = new UserspaceIrqChip(1, timers, 1_000_000_000L);

    {
        chip.registerOn(pio, mmio);
        pio.register(Uart16550.COM1_PORT, 8, new Uart16550(chip.isaIrq(4), CharBackend.NULL));
        Pit8254 pit = new Pit8254(timers, chip.isaIrq(0));
        pio.register(Pit8254.BASE_PORT, 4, pit);
        pio.register(Pit8254.PORT_B, 1, pit.portB());
        pio.register(CmosRtc.BASE_PORT, 2, new CmosRtc(timers, chip.isaIrq(8), 1_700_000_000_000L));
        AcpiPm pm = new AcpiPm(timers, chip.isaIrq(9), 5, true, true, 0, () -> {
        }, () -> {
        });
        pio.register(AcpiPm.DEFAULT_PM_TIMER_PORT, 4, pm.timerBlock());
        mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_SVR, 4, LocalApic.SVR_ENABLE | 0xFF);
        mmio.write(0, IoApic.DEFAULT_BASE, 4, IoApic.REG_REDIRECTION + 8);
        mmio.write(0, IoApic.DEFAULT_BASE + IoApic.IOWIN, 4, 0x34);
        pio.write(0, 0x21, 1, 0xFF);
        pio.write(0, 0xA1, 1, 0xFF);
        pio.write(0, 0x43, 1, 0x34);
        pio.write(0, 0x40, 1, 0x00);
        pio.write(0, 0x40, 1, 0x10);
        mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_LVT_TIMER, 4, 0xEC);
    }

    private long guestTraffic(int rounds) {
        long sum = 0;
        for (int i = 0; i < rounds; i++) {
            while ((pio.read(0, 0x3FD, 1) & 0x20) == 0) {
                // LSR_THRE is always set
            }
            pio.write(0, 0x3F8, 1, 'x');
            pio.write(0, 0x43, 1, 0x00);
            sum += pio.read(0, 0x40, 1) + pio.read(0, 0x40, 1);
            sum += pio.read(0, 0x61, 1);
            sum += pio.read(0, AcpiPm.DEFAULT_PM_TIMER_PORT, 4);
            pio.write(0, 0x70, 1, 0x00);
            sum += pio.read(0, 0x71, 1);
            chip.isaIrq(4).pulse();
            if (chip.hasPendingInterrupt(0)) {
                sum += chip.acknowledge(0);
                mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_EOI, 4, 0);
            }
            mmio.write(0, LocalApic.DEFAULT_BASE + LocalApic.REG_TIMER_INITIAL_COUNT, 4, 1000);
            clock.advance(2000);
            timers.runDue();
            if (chip.hasPendingInterrupt(0)) {
                sum += chip.acknowledge(0);
                chip.endOfInterrupt(0);
            }
            sum += mmio.read(0, LocalApic.DEFAULT_BASE + LocalApic.REG_TIMER_CURRENT_COUNT, 4);
        }
        return sum;
    }

    @Test
    void portAndMmioTrafficDoesNotAllocate() {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        guestTraffic(20_000); // warm up: class loading, first-time initialisation, JIT
        long before = threads.getCurrentThreadAllocatedBytes();
        long sum = guestTraffic(20_000);
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertThat(sum).isPositive();
        // One allocation per round would be at least 16 bytes x 20,000; allow the measurement's own noise.
        assertThat(allocated).isLessThan(16_000);
    }
}
