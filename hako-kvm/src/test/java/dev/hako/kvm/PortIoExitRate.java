package dev.hako.kvm;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VcpuExit;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.NanoTimeClock;
import dev.hako.core.x86.X86CpuState;
import dev.hako.soft.SoftAccelerator;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;

/**
 * Port-I/O round trips per second: a real-mode guest loops on {@code out %al, $0x80}, on KVM (a full exit to
 * hako and back per OUT) and on the soft CPU (a call into the IoHandler), in one run. Used by
 * bench/kvm-exits.sh. Arguments: the number of OUTs on each accelerator (default 1,000,000), rounds (3).
 */
public final class PortIoExitRate {
    private static final long CODE = 0x10000;

    private PortIoExitRate() {}

    public static void main(String[] args) {
        int outs = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        double kvm = 0, soft = 0;
        Accelerator kvmAccelerator = KvmAccelerator.open();
        for (int r = 0; r < rounds; r++) {
            kvm = Math.max(kvm, rate(kvmAccelerator, outs));
            soft = Math.max(soft, rate(new SoftAccelerator(), outs));
        }
        System.out.printf("port-I/O round trips per second (best of %d rounds of %,d OUTs)%n", rounds, outs);
        System.out.printf("  kvm:  %,12.0f /s (%.2f us each)%n", kvm, 1e6 / kvm);
        System.out.printf("  soft: %,12.0f /s (%.2f us each)%n", soft, 1e6 / soft);
        System.out.printf("  soft/kvm: %.2fx%n", soft / kvm);
    }

    private static double rate(Accelerator accelerator, int outs) {
        long[] count = {0};
        IoHandler io = new IoHandler() {
            @Override
            public long pioRead(int vcpu, int port, int size) {
                return 0xFF;
            }

            @Override
            public void pioWrite(int vcpu, int port, int size, long value) {
                count[0]++;
            }

            @Override
            public long mmioRead(int vcpu, long gpa, int size) {
                return -1;
            }

            @Override
            public void mmioWrite(int vcpu, long gpa, int size, long value) { }
        };
        try (Arena arena = Arena.ofShared()) {
            MemorySegment ram = arena.allocate(1 << 20, 4096);
            // mov $outs, %ecx; 1: out %al, $0x80; dec %ecx; jnz 1b; hlt
            String code = "66B9" + le32(outs) + "E680" + "6649" + "75FA" + "F4";
            byte[] bytes = HexFormat.of().parseHex(code);
            MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, CODE, bytes.length);
            try (VirtualMachine vm = accelerator.createVm(new GuestMemory(ram), new NanoTimeClock())) {
                VirtualCpu vcpu = vm.createVcpu(0, io, LocalInterrupts.NONE);
                X86CpuState s = X86CpuState.atReset();
                s.selector[X86CpuState.CS] = (int) (CODE >> 4);
                s.segmentBase[X86CpuState.CS] = CODE;
                s.rip = 0;
                vcpu.load(s);
                long t0 = System.nanoTime();
                VcpuExit exit = vcpu.run();
                long t1 = System.nanoTime();
                if (exit != VcpuExit.HALTED || count[0] != outs) {
                    throw new IllegalStateException(accelerator.name() + ": " + exit + " after " + count[0] + " OUTs");
                }
                return outs * 1e9 / (t1 - t0);
            }
        }
    }

    private static String le32(int v) {
        return String.format("%02X%02X%02X%02X", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >>> 24) & 0xFF);
    }
}
