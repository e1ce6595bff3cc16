package dev.hako.soft.exec;

import static dev.hako.soft.decode.OpSpec.ENDS_BLOCK;
import static dev.hako.soft.decode.OpSpec.IB_UNSIGNED;
import static dev.hako.soft.decode.OpSpec.IMM_NONE;
import static dev.hako.soft.decode.OpSpec.MEM_ONLY;
import static dev.hako.soft.decode.OpSpec.MODRM;
import static dev.hako.soft.decode.OpSpec.REG_ONLY;
import static dev.hako.soft.decode.OpcodeTable.ANY;
import static dev.hako.soft.decode.OpcodeTable.MAP_0F;
import static dev.hako.soft.decode.OpcodeTable.ONE_BYTE;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpcodeTable;
import dev.hako.soft.fault.CpuFault;
import java.lang.invoke.VarHandle;

/**
 * The user-visible system instructions: CPUID, RDTSC, SYSCALL, UD2, HLT, INT3, INT n, INT1, fences, CLFLUSH.
 * Privileged ones fault at CPL 3 as hardware does; the system CPU extends this group.
 */
final class SystemOps {
    /** The guest's TSC runs at this many ticks per second of host time. */
    public static final long TSC_HZ = dev.hako.core.accel.Accelerator.TSC_HZ;

    private SystemOps() {}

    static void register(OpcodeTable t) {
        t.op(MAP_0F, 0xA2, "cpuid", 0, IMM_NONE, 0, SystemOps::cpuid);
        t.op(MAP_0F, 0x31, "rdtsc", 0, IMM_NONE, 0, SystemOps::rdtsc);
        t.op(MAP_0F, 0x05, "syscall", ENDS_BLOCK, IMM_NONE, 0, SystemOps::syscall);
        t.op(MAP_0F, 0x0B, "ud2", ENDS_BLOCK, IMM_NONE, 0, Instructions::undefined);
        t.op(ONE_BYTE, 0xF4, "hlt", ENDS_BLOCK, IMM_NONE, 0, SystemOps::hlt);
        t.op(ONE_BYTE, 0xCC, "int3", ENDS_BLOCK, IMM_NONE, 0, SystemOps::int3);
        t.op(ONE_BYTE, 0xCD, "int", ENDS_BLOCK, IB_UNSIGNED, 0, SystemOps::intN);
        t.op(ONE_BYTE, 0xF1, "int1", ENDS_BLOCK, IMM_NONE, 0, SystemOps::int1);
        t.addForm(MAP_0F, 0xAE, ANY, 5, "lfence", MODRM | REG_ONLY, IMM_NONE, 0, SystemOps::loadFence);
        t.addForm(MAP_0F, 0xAE, ANY, 6, "mfence", MODRM | REG_ONLY, IMM_NONE, 0, SystemOps::fullFence);
        t.addForm(MAP_0F, 0xAE, ANY, 7, "sfence", MODRM | REG_ONLY, IMM_NONE, 0, SystemOps::storeFence);
        t.addForm(MAP_0F, 0xAE, ANY, 7, "clflush", MODRM | MEM_ONLY, IMM_NONE, 0, SystemOps::clflush);
    }

    static void cpuid(Cpu c, Insn i) {
        c.cpuid.execute(c);
    }

    static void rdtsc(Cpu c, Insn i) {
        if (c.cpl != 0 && (c.sys.cr.cr4 & dev.hako.soft.mmu.ControlRegisters.CR4_TSD) != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        long t = c.tsc(); // TSC_HZ is 1 GHz: one tick per nanosecond
        c.r[Cpu.RAX] = t & 0xFFFFFFFFL;
        c.r[Cpu.RDX] = t >>> 32;
    }

    /**
     * SYSCALL: with a user-mode runner's handler, RCX and R11 take RIP and RFLAGS and the handler carries the
     * call out on the host; otherwise it enters the guest kernel.
     */
    static void syscall(Cpu c, Insn i) {
        if (c.syscallHandler == null) {
            FastSystemCalls.syscall(c, i.next);
            return;
        }
        c.r[Cpu.RCX] = i.next;
        c.r[11] = c.rflags() & ~0x10000L;
        c.rip = i.next;
        c.syscallHandler.syscall(c);
    }

    /** HLT: the vCPU sleeps until an interrupt; the run loop returns to its thread. */
    static void hlt(Cpu c, Insn i) {
        if (c.cpl != 0) {
            throw c.fault(CpuFault.GP, 0);
        }
        c.sys.halted = true;
        c.attention = true; // the run loop looks at halted only then
        c.exitBlock = true;
    }

    static void int3(Cpu c, Insn i) {
        softwareInterrupt(c, i, CpuFault.BP);
    }

    static void intN(Cpu c, Insn i) {
        softwareInterrupt(c, i, (int) i.imm & 0xFF);
    }

    private static void softwareInterrupt(Cpu c, Insn i, int vector) {
        if (c.syscallHandler != null) {
            // A user-mode process has no IDT: INT3 is #BP, any other vector's gate is closed (#GP).
            throw vector == CpuFault.BP ? c.fault(CpuFault.BP) : c.fault(CpuFault.GP, vector * 8 + 2);
        }
        c.rip = i.addr;
        InterruptDelivery.software(c, vector, i.next);
    }

    /**
     * INT1 (ICEBP): a debug exception (#DB) raised as a trap, delivered as hardware delivers an exception (no
     * gate DPL check) with the next instruction as the return address. A user-mode process gets SIGTRAP.
     */
    static void int1(Cpu c, Insn i) {
        if (c.syscallHandler != null) {
            throw c.fault(CpuFault.DB);
        }
        c.rip = i.addr;
        InterruptDelivery.trap(c, CpuFault.DB, i.next);
    }

    static void loadFence(Cpu c, Insn i) {
        VarHandle.acquireFence();
    }

    static void storeFence(Cpu c, Insn i) {
        VarHandle.releaseFence();
    }

    static void fullFence(Cpu c, Insn i) {
        VarHandle.fullFence();
    }

    /** Nothing is cached between the guest and RAM; the access still faults like a byte load. */
    static void clflush(Cpu c, Insn i) {
        c.mem.read8(c.ea(i));
    }
}
