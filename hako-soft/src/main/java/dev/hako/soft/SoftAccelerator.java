package dev.hako.soft;

import dev.hako.core.accel.Accelerator;
import dev.hako.core.accel.IoHandler;
import dev.hako.core.accel.LocalInterrupts;
import dev.hako.core.accel.VirtualCpu;
import dev.hako.core.accel.VirtualMachine;
import dev.hako.core.memory.GuestMemory;
import dev.hako.core.time.VirtualClock;
import dev.hako.soft.mmu.CodePages;

/** hako's own x86-64 CPU as an accelerator: runs anywhere a JVM runs. */
public final class SoftAccelerator implements Accelerator {
    @Override
    public String name() {
        return "soft";
    }

    @Override
    public VirtualMachine createVm(GuestMemory memory, VirtualClock clock) {
        CodePages codePages = new CodePages(memory.size());
        return new VirtualMachine() {
            @Override
            public VirtualCpu createVcpu(int index, IoHandler io, LocalInterrupts interrupts) {
                return new SoftVirtualCpu(memory, clock, codePages, index, io, interrupts);
            }

            @Override
            public void close() { }
        };
    }
}
