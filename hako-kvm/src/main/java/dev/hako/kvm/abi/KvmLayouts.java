package dev.hako.kvm.abi;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.paddingLayout;
import static java.lang.foreign.MemoryLayout.sequenceLayout;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.MemoryLayout.unionLayout;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;

/**
 * The structs of {@code <linux/kvm.h>} (x86-64) as {@link MemoryLayout}s, field for field, and the byte
 * offsets hako reads and writes, derived from the layouts rather than written down twice.
 */
public final class KvmLayouts {
    private KvmLayouts() {}

    /** struct kvm_regs: 18 u64 in the order rax rbx rcx rdx rsi rdi rsp rbp r8-r15 rip rflags. */
    public static final GroupLayout REGS = structLayout(
            JAVA_LONG.withName("rax"), JAVA_LONG.withName("rbx"), JAVA_LONG.withName("rcx"),
            JAVA_LONG.withName("rdx"), JAVA_LONG.withName("rsi"), JAVA_LONG.withName("rdi"),
            JAVA_LONG.withName("rsp"), JAVA_LONG.withName("rbp"), JAVA_LONG.withName("r8"),
            JAVA_LONG.withName("r9"), JAVA_LONG.withName("r10"), JAVA_LONG.withName("r11"),
            JAVA_LONG.withName("r12"), JAVA_LONG.withName("r13"), JAVA_LONG.withName("r14"),
            JAVA_LONG.withName("r15"), JAVA_LONG.withName("rip"), JAVA_LONG.withName("rflags"));

    /** kvm_regs's order of the general registers, as hako's register numbers (RAX=0, RCX=1, ...). */
    public static final int[] REGS_ORDER = {0, 3, 1, 2, 6, 7, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15};
    public static final long REGS_RIP = offset(REGS, "rip"), REGS_RFLAGS = offset(REGS, "rflags");

    /** struct kvm_segment. */
    public static final GroupLayout SEGMENT = structLayout(
            JAVA_LONG.withName("base"), JAVA_INT.withName("limit"), JAVA_SHORT.withName("selector"),
            JAVA_BYTE.withName("type"), JAVA_BYTE.withName("present"), JAVA_BYTE.withName("dpl"),
            JAVA_BYTE.withName("db"), JAVA_BYTE.withName("s"), JAVA_BYTE.withName("l"),
            JAVA_BYTE.withName("g"), JAVA_BYTE.withName("avl"), JAVA_BYTE.withName("unusable"),
            JAVA_BYTE.withName("padding"));
    public static final long SEG_BASE = offset(SEGMENT, "base"), SEG_LIMIT = offset(SEGMENT, "limit"),
            SEG_SELECTOR = offset(SEGMENT, "selector"), SEG_TYPE = offset(SEGMENT, "type"),
            SEG_PRESENT = offset(SEGMENT, "present"), SEG_DPL = offset(SEGMENT, "dpl"),
            SEG_DB = offset(SEGMENT, "db"), SEG_S = offset(SEGMENT, "s"), SEG_L = offset(SEGMENT, "l"),
            SEG_G = offset(SEGMENT, "g"), SEG_AVL = offset(SEGMENT, "avl"),
            SEG_UNUSABLE = offset(SEGMENT, "unusable");

    /** struct kvm_dtable. */
    public static final GroupLayout DTABLE = structLayout(
            JAVA_LONG.withName("base"), JAVA_SHORT.withName("limit"), sequenceLayout(3, JAVA_SHORT).withName("padding"));

    /** struct kvm_sregs. */
    public static final GroupLayout SREGS = structLayout(
            SEGMENT.withName("cs"), SEGMENT.withName("ds"), SEGMENT.withName("es"), SEGMENT.withName("fs"),
            SEGMENT.withName("gs"), SEGMENT.withName("ss"), SEGMENT.withName("tr"), SEGMENT.withName("ldt"),
            DTABLE.withName("gdt"), DTABLE.withName("idt"),
            JAVA_LONG.withName("cr0"), JAVA_LONG.withName("cr2"), JAVA_LONG.withName("cr3"),
            JAVA_LONG.withName("cr4"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("efer"),
            JAVA_LONG.withName("apic_base"), sequenceLayout(4, JAVA_LONG).withName("interrupt_bitmap"));
    public static final long SREGS_CS = offset(SREGS, "cs"), SREGS_DS = offset(SREGS, "ds"),
            SREGS_ES = offset(SREGS, "es"), SREGS_FS = offset(SREGS, "fs"), SREGS_GS = offset(SREGS, "gs"),
            SREGS_SS = offset(SREGS, "ss"), SREGS_TR = offset(SREGS, "tr"), SREGS_LDT = offset(SREGS, "ldt"),
            SREGS_GDT = offset(SREGS, "gdt"), SREGS_IDT = offset(SREGS, "idt"), SREGS_CR0 = offset(SREGS, "cr0"),
            SREGS_CR2 = offset(SREGS, "cr2"), SREGS_CR3 = offset(SREGS, "cr3"), SREGS_CR4 = offset(SREGS, "cr4"),
            SREGS_CR8 = offset(SREGS, "cr8"), SREGS_EFER = offset(SREGS, "efer"),
            SREGS_APIC_BASE = offset(SREGS, "apic_base"), SREGS_INTERRUPT_BITMAP = offset(SREGS, "interrupt_bitmap");
    public static final long DTABLE_BASE = offset(DTABLE, "base"), DTABLE_LIMIT = offset(DTABLE, "limit");
    /** The six segment registers in {@code X86CpuState} order: ES, CS, SS, DS, FS, GS. */
    public static final long[] SREGS_SEGMENTS = {SREGS_ES, SREGS_CS, SREGS_SS, SREGS_DS, SREGS_FS, SREGS_GS};

    /** struct kvm_fpu: x87 registers as 16-byte slots, the abridged tag word, XMM0-15, MXCSR. */
    public static final GroupLayout FPU = structLayout(
            sequenceLayout(8, sequenceLayout(16, JAVA_BYTE)).withName("fpr"),
            JAVA_SHORT.withName("fcw"), JAVA_SHORT.withName("fsw"), JAVA_BYTE.withName("ftwx"),
            JAVA_BYTE.withName("pad1"), JAVA_SHORT.withName("last_opcode"), JAVA_LONG.withName("last_ip"),
            JAVA_LONG.withName("last_dp"), sequenceLayout(16, sequenceLayout(16, JAVA_BYTE)).withName("xmm"),
            JAVA_INT.withName("mxcsr"), JAVA_INT.withName("pad2"));
    public static final long FPU_FPR = offset(FPU, "fpr"), FPU_FCW = offset(FPU, "fcw"), FPU_FSW = offset(FPU, "fsw"),
            FPU_FTWX = offset(FPU, "ftwx"), FPU_LAST_OPCODE = offset(FPU, "last_opcode"),
            FPU_LAST_IP = offset(FPU, "last_ip"), FPU_LAST_DP = offset(FPU, "last_dp"), FPU_XMM = offset(FPU, "xmm"),
            FPU_MXCSR = offset(FPU, "mxcsr");

    /** struct kvm_msr_entry. */
    public static final GroupLayout MSR_ENTRY = structLayout(
            JAVA_INT.withName("index"), JAVA_INT.withName("reserved"), JAVA_LONG.withName("data"));
    /** struct kvm_msrs, the header before {@code nmsrs} entries. */
    public static final GroupLayout MSRS_HEADER = structLayout(JAVA_INT.withName("nmsrs"), JAVA_INT.withName("pad"));
    public static final long MSR_ENTRY_INDEX = offset(MSR_ENTRY, "index"), MSR_ENTRY_DATA = offset(MSR_ENTRY, "data");

    /** struct kvm_cpuid_entry2. */
    public static final GroupLayout CPUID_ENTRY = structLayout(
            JAVA_INT.withName("function"), JAVA_INT.withName("index"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("eax"), JAVA_INT.withName("ebx"), JAVA_INT.withName("ecx"), JAVA_INT.withName("edx"),
            sequenceLayout(3, JAVA_INT).withName("padding"));
    /** struct kvm_cpuid2, the header before {@code nent} entries. */
    public static final GroupLayout CPUID_HEADER = structLayout(JAVA_INT.withName("nent"), JAVA_INT.withName("padding"));
    public static final long CPUID_FUNCTION = offset(CPUID_ENTRY, "function"), CPUID_INDEX = offset(CPUID_ENTRY, "index"),
            CPUID_FLAGS = offset(CPUID_ENTRY, "flags"), CPUID_EAX = offset(CPUID_ENTRY, "eax"),
            CPUID_EBX = offset(CPUID_ENTRY, "ebx"), CPUID_ECX = offset(CPUID_ENTRY, "ecx"),
            CPUID_EDX = offset(CPUID_ENTRY, "edx");

    /** struct kvm_userspace_memory_region. */
    public static final GroupLayout USERSPACE_MEMORY_REGION = structLayout(
            JAVA_INT.withName("slot"), JAVA_INT.withName("flags"), JAVA_LONG.withName("guest_phys_addr"),
            JAVA_LONG.withName("memory_size"), JAVA_LONG.withName("userspace_addr"));
    public static final long REGION_SLOT = offset(USERSPACE_MEMORY_REGION, "slot"),
            REGION_GUEST_PHYS_ADDR = offset(USERSPACE_MEMORY_REGION, "guest_phys_addr"),
            REGION_MEMORY_SIZE = offset(USERSPACE_MEMORY_REGION, "memory_size"),
            REGION_USERSPACE_ADDR = offset(USERSPACE_MEMORY_REGION, "userspace_addr");

    /** struct kvm_interrupt. */
    public static final GroupLayout INTERRUPT = structLayout(JAVA_INT.withName("irq"));

    /** struct kvm_enable_cap. */
    public static final GroupLayout ENABLE_CAP = structLayout(
            JAVA_INT.withName("cap"), JAVA_INT.withName("flags"), sequenceLayout(4, JAVA_LONG).withName("args"),
            sequenceLayout(64, JAVA_BYTE).withName("pad"));
    public static final long ENABLE_CAP_CAP = offset(ENABLE_CAP, "cap"), ENABLE_CAP_ARGS = offset(ENABLE_CAP, "args");

    /** The exit-specific part of kvm_run: a union of one struct per exit reason (those hako handles). */
    private static final GroupLayout RUN_EXIT = unionLayout(
            structLayout(JAVA_BYTE.withName("direction"), JAVA_BYTE.withName("size"), JAVA_SHORT.withName("port"),
                    JAVA_INT.withName("count"), JAVA_LONG.withName("data_offset")).withName("io"),
            structLayout(JAVA_LONG.withName("phys_addr"), sequenceLayout(8, JAVA_BYTE).withName("data"),
                    JAVA_INT.withName("len"), JAVA_BYTE.withName("is_write"), paddingLayout(3)).withName("mmio"),
            structLayout(JAVA_LONG.withName("hardware_entry_failure_reason"), JAVA_INT.withName("cpu"),
                    paddingLayout(4)).withName("fail_entry"),
            structLayout(JAVA_LONG.withName("hardware_exit_reason")).withName("hw"),
            structLayout(JAVA_INT.withName("exception"), JAVA_INT.withName("error_code")).withName("ex"),
            structLayout(JAVA_INT.withName("suberror"), JAVA_INT.withName("ndata"),
                    sequenceLayout(16, JAVA_LONG).withName("data")).withName("internal"),
            structLayout(JAVA_INT.withName("type"), JAVA_INT.withName("ndata"),
                    sequenceLayout(16, JAVA_LONG).withName("data")).withName("system_event"),
            structLayout(JAVA_BYTE.withName("error"), paddingLayout(7), JAVA_INT.withName("reason"),
                    JAVA_INT.withName("index"), JAVA_LONG.withName("data")).withName("msr"),
            sequenceLayout(256, JAVA_BYTE).withName("padding"));

    /** struct kvm_run: the page shared with the kernel, up to and including the exit union. */
    public static final GroupLayout RUN = structLayout(
            JAVA_BYTE.withName("request_interrupt_window"), JAVA_BYTE.withName("immediate_exit"),
            sequenceLayout(6, JAVA_BYTE).withName("padding1"), JAVA_INT.withName("exit_reason"),
            JAVA_BYTE.withName("ready_for_interrupt_injection"), JAVA_BYTE.withName("if_flag"),
            JAVA_SHORT.withName("flags"), JAVA_LONG.withName("cr8"), JAVA_LONG.withName("apic_base"),
            RUN_EXIT.withName("exit"));
    public static final long RUN_REQUEST_INTERRUPT_WINDOW = offset(RUN, "request_interrupt_window"),
            RUN_IMMEDIATE_EXIT = offset(RUN, "immediate_exit"), RUN_EXIT_REASON = offset(RUN, "exit_reason"),
            RUN_READY_FOR_INTERRUPT_INJECTION = offset(RUN, "ready_for_interrupt_injection"),
            RUN_IF_FLAG = offset(RUN, "if_flag"), RUN_CR8 = offset(RUN, "cr8"),
            IO_DIRECTION = exit("io", "direction"), IO_SIZE = exit("io", "size"), IO_PORT = exit("io", "port"),
            IO_COUNT = exit("io", "count"), IO_DATA_OFFSET = exit("io", "data_offset"),
            MMIO_PHYS_ADDR = exit("mmio", "phys_addr"), MMIO_DATA = exit("mmio", "data"),
            MMIO_LEN = exit("mmio", "len"), MMIO_IS_WRITE = exit("mmio", "is_write"),
            FAIL_ENTRY_REASON = exit("fail_entry", "hardware_entry_failure_reason"),
            FAIL_ENTRY_CPU = exit("fail_entry", "cpu"), HW_EXIT_REASON = exit("hw", "hardware_exit_reason"),
            EX_EXCEPTION = exit("ex", "exception"), EX_ERROR_CODE = exit("ex", "error_code"),
            INTERNAL_SUBERROR = exit("internal", "suberror"), INTERNAL_NDATA = exit("internal", "ndata"),
            INTERNAL_DATA = exit("internal", "data"), SYSTEM_EVENT_TYPE = exit("system_event", "type"),
            MSR_ERROR = exit("msr", "error"), MSR_REASON = exit("msr", "reason"), MSR_INDEX = exit("msr", "index"),
            MSR_DATA = exit("msr", "data");

    private static long offset(MemoryLayout struct, String field) {
        return struct.byteOffset(groupElement(field));
    }

    private static long exit(String member, String field) {
        return RUN.byteOffset(groupElement("exit"), groupElement(member), groupElement(field));
    }
}
