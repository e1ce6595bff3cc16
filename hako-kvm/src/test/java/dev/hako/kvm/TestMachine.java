package dev.hako.kvm;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.MmioDevice;
import dev.hako.core.bus.PioBus;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.TimerQueue;
import dev.hako.core.x86.X86CpuState;
import dev.hako.devices.irqchip.UserspaceIrqChip;
import dev.hako.testkit.ManualClock;
import dev.hako.testkit.RecordingIoHandler;
import dev.hako.testkit.TinyGuest;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One vCPU on a given accelerator with 4 MiB of RAM, hako's userspace IOAPIC and local APIC, and a test
 * device; every port and MMIO access is recorded, so two accelerators' runs can be compared access for
 * access. Test device ports: 0x10 and 0x12 swallow writes, 0x11 reads a counting byte sequence, 0x13 reads
 * back what was last written to it, a write to 0x14 pulses that ISA IRQ. MMIO at 0xD0000000 is a page of
 * plain registers.
 */
final class TestMachine implements AutoCloseable {
    static final long RAM_SIZE = 4 << 20;
    static final int TEST_PORT = 0x10, TEST_PORT_COUNT = 5;
    static final long TEST_MMIO = 0xD0000000L;
    private static final long WATCHDOG_SECONDS = 10;

    private final Arena arena = Arena.ofShared();
    final MemorySegment ram = arena.allocate(RAM_SIZE, 4096);
    final TinyGuest guest = new TinyGuest(ram);
    final List<String> traffic;
    final List<String> exits = new ArrayList<>();
    final UserspaceIrqChip chip;
    private final VirtualMachine vm;
    final VirtualCpu vcpu;
    private int counter;
    private long port13;
    private final byte[] mmioRegisters = new byte[4096];

    TestMachine(Accelerator accelerator) {
        ManualClock clock = new ManualClock();
        PioBus pio = new PioBus();
        MmioBus mmio = new MmioBus();
        chip = new UserspaceIrqChip(1, new TimerQueue(clock), Accelerator.TSC_HZ);
        chip.registerOn(pio, mmio);
        pio.register(TEST_PORT, TEST_PORT_COUNT, testPorts());
        mmio.register(TEST_MMIO, mmioRegisters.length, testMmio());
        vm = accelerator.createVm(new GuestMemory(ram), clock);
        RecordingIoHandler io = new RecordingIoHandler(pio, mmio);
        traffic = io.traffic();
        vcpu = vm.createVcpu(0, io, new LocalInterrupts() {
            @Override
            public int pendingVector() {
                return chip.hasPendingInterrupt(0) ? 0 : -1;
            }

            @Override
            public int acknowledge() {
                return chip.acknowledge(0);
            }
        });
        chip.setKick(0, vcpu::interruptArrived);
    }

    /** Runs until the vCPU stops for something other than a kick from inside; records the exit. */
    VcpuExit runToExit() {
        Thread watchdog = Thread.ofPlatform().daemon().start(() -> {
            try {
                TimeUnit.SECONDS.sleep(WATCHDOG_SECONDS);
                vcpu.kick();
            } catch (InterruptedException e) {
                // the guest stopped in time
            }
        });
        try {
            VcpuExit exit = vcpu.run();
            exits.add(exit.toString());
            return exit;
        } finally {
            watchdog.interrupt();
        }
    }

    X86CpuState state() {
        return vcpu.state();
    }

    private PioDevice testPorts() {
        return new PioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                if (offset == 3) {
                    return port13 & mask(size);
                }
                if (offset != 1) {
                    return mask(size);
                }
                long v = 0;
                for (int i = 0; i < size; i++) {
                    v |= (long) (0x40 + (counter++ & 0x3F)) << (8 * i);
                }
                return v;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
                if (offset == 3) {
                    port13 = value;
                } else if (offset == 4) {
                    chip.isaIrq((int) value & 0xF).pulse();
                }
            }
        };
    }

    private MmioDevice testMmio() {
        MemorySegment registers = MemorySegment.ofArray(mmioRegisters);
        return new MmioDevice() {
            @Override
            public long read(int vcpu, long offset, int size) {
                long v = 0;
                for (int i = size - 1; i >= 0; i--) {
                    v = (v << 8) | Byte.toUnsignedLong(registers.get(ValueLayout.JAVA_BYTE, offset + i));
                }
                return v;
            }

            @Override
            public void write(int vcpu, long offset, int size, long value) {
                for (int i = 0; i < size; i++) {
                    registers.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (value >>> (8 * i)));
                }
            }
        };
    }

    private static long mask(int size) {
        return size == 8 ? -1L : (1L << (8 * size)) - 1;
    }

    @Override
    public void close() {
        vm.close();
        arena.close();
    }
}
