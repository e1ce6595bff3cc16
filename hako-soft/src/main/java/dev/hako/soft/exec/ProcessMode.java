package dev.hako.soft.exec;

import dev.hako.soft.mmu.ControlRegisters;

/**
 * The CPU state a 64-bit Linux process runs in (user-mode emulation): long mode with paging and NX, SYSCALL
 * enabled, CPL 3, CS 0x33 and SS 0x2b loaded from Linux's GDT, the other data segments null. The GDT's
 * entries are given, not read from guest memory (a process cannot read its kernel's GDT), so segment loads,
 * far returns and IRET make the descriptor checks the process's own CPU makes.
 */
public final class ProcessMode {
    public static final int LINUX_USER_DS = 0x2b, LINUX_USER_CS = 0x33;

    /**
     * Linux's x86-64 GDT (arch/x86/include/asm/segment.h and the gdt_page table of arch/x86/kernel/cpu/common.c):
     * the kernel's 32- and 64-bit code and its data, the user ones (0x23 32-bit code, 0x2b data, 0x33 code),
     * and the getcpu segment 0x7b (read-only data at DPL 3 whose limit holds the CPU and node: 0 here). The
     * TSS, LDT and TLS entries are left empty: no user segment load accepts a system descriptor, and the TLS
     * entries stay empty without set_thread_area. The entries carry the accessed bit, as Linux's do.
     */
    private static final long[] LINUX_GDT = {
        0,
        0x00CF_9B00_0000_FFFFL, // 0x08 kernel 32-bit code
        0x00AF_9B00_0000_FFFFL, // 0x10 kernel code
        0x00CF_9300_0000_FFFFL, // 0x18 kernel data
        0x00CF_FB00_0000_FFFFL, // 0x23 user 32-bit code
        0x00CF_F300_0000_FFFFL, // 0x2b user data
        0x00AF_FB00_0000_FFFFL, // 0x33 user code
        0,
        0, 0,                   // 0x40 TSS (16 bytes)
        0, 0,                   // 0x50 LDT (16 bytes)
        0, 0, 0,                // 0x60-0x70 TLS
        0x0040_F500_0000_0000L, // 0x7b getcpu: CPU 0, node 0
    };

    private ProcessMode() {}

    /** Puts {@code c} in the state Linux starts a 64-bit process in. */
    public static void enterLinux(Cpu c) {
        SystemState s = c.sys;
        s.cr.cr0 |= ControlRegisters.CR0_PE | ControlRegisters.CR0_PG;
        s.cr.efer = ControlRegisters.EFER_SCE | ControlRegisters.EFER_LME | ControlRegisters.EFER_LMA
                | ControlRegisters.EFER_NXE;
        s.gdtEntries = LINUX_GDT.clone();
        s.gdtBase = 0;
        s.gdtLimit = 8 * LINUX_GDT.length - 1;
        s.ldtSelector = 0;
        s.ldtBase = 0;
        s.ldtLimit = 0;
        c.setCpl(3);
        Descriptors.loadCode(c, LINUX_USER_CS, Descriptors.codeDescriptor(c, LINUX_USER_CS), 3);
        Descriptors.loadData(c, SystemState.SS, LINUX_USER_DS);
        for (int seg : new int[] {SystemState.DS, SystemState.ES, SystemState.FS, SystemState.GS}) {
            Descriptors.loadData(c, seg, 0);
        }
    }
}
