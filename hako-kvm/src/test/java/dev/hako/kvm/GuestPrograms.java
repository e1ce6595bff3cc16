package dev.hako.kvm;

/**
 * Tiny guest programs for the lockstep tests, hand-assembled: each row is an instruction's bytes with its
 * AT&T source. Constants ending in _AT_100 go 0x100 bytes after the program (interrupt handlers). Programs
 * end with an instruction that defines all six arithmetic flags, so the final RFLAGS is architectural.
 */
final class GuestPrograms {
    private GuestPrograms() {}

    /** Real mode, CS=DS=SS=0x1000: port I/O of two sizes, REP OUTSB and INSB, the stack, LOOP. */
    static final String REAL_MODE = ""
            + "B83412" // mov $0x1234, %ax
            + "E710" // out %ax, $0x10
            + "E411" // in $0x11, %al
            + "88C3" // mov %al, %bl
            + "E511" // in $0x11, %ax
            + "BA1200" // mov $0x12, %dx
            + "BE3600" // mov $(msg - start), %si
            + "B90500" // mov $5, %cx
            + "FC" // cld
            + "F36E" // rep outsb
            + "BF3B00" // mov $(buf - start), %di
            + "B90300" // mov $3, %cx
            + "BA1100" // mov $0x11, %dx
            + "F36C" // rep insb
            + "68EFBE" // push $0xBEEF
            + "5D" // pop %bp
            + "B90A00" // mov $10, %cx
            + "31C0" // xor %ax, %ax
            + "01C8" // 1: add %cx, %ax
            + "E2FC" // loop 1b
            + "83E864" // sub $100, %ax
            + "A33F00" // mov %ax, (result - start)
            + "F4" // hlt
            + "68656C6C6F" // msg: .ascii "hello"
            + "00000000" // buf: .space 4
            + "0000"; // result: .word 0

    /** Real mode to 32-bit protected mode: LGDT, CR0.PE, a far jump; 32-bit port and string I/O. */
    static final String PROTECTED_MODE = ""
            + "FA" // cli
            + "660F01166000" // lgdtl (gdtptr - start)
            + "0F20C0" // mov %cr0, %eax
            + "0C01" // or $1, %al
            + "0F22C0" // mov %eax, %cr0
            + "66EA170001000800" // ljmpl $0x08, $(0x10000 + pm32 - start)
            + "66B81000" // mov $0x10, %ax
            + "8ED8" // mov %ax, %ds
            + "8EC0" // mov %ax, %es
            + "8ED0" // mov %ax, %ss
            + "BC00900100" // mov $0x19000, %esp
            + "B8BEBAFECA" // mov $0xCAFEBABE, %eax
            + "66BA1300" // mov $0x13, %dx
            + "EF" // out %eax, %dx
            + "ED" // in %dx, %eax
            + "BE66000100" // mov $(0x10000 + data - start), %esi
            + "B902000000" // mov $2, %ecx
            + "F36F" // rep outsl
            + "BF6E000100" // mov $(0x10000 + buf - start), %edi
            + "B902000000" // mov $2, %ecx
            + "66BA1100" // mov $0x11, %dx
            + "66F36D" // rep insw
            + "50" // push %eax
            + "9C" // pushf
            + "5B" // pop %ebx
            + "59" // pop %ecx
            + "6BC107" // imul $7, %ecx, %eax
            + "A372000100" // mov %eax, (0x10000 + result - start)
            + "3D78563412" // cmp $0x12345678, %eax
            + "F4" // hlt
            + "1F00" // gdtptr: .word 31
            + "00400000" // .long 0x4000
            + "4433221188776655" // data: .long 0x11223344, 0x55667788
            + "00000000" // buf: .space 4
            + "00000000"; // result: .long 0

    /** Real mode to long mode: PAE paging, EFER.LME, an alias mapping at 0x40000000, INVLPG, CR3 reload. */
    static final String LONG_MODE = ""
            + "FA" // cli
            + "660F0116B800" // lgdtl (gdtptr - start)
            + "0F20C0" // mov %cr0, %eax
            + "0C01" // or $1, %al
            + "0F22C0" // mov %eax, %cr0
            + "66EA170001000800" // ljmpl $0x08, $(0x10000 + pm32 - start)
            + "66B81000" // mov $0x10, %ax
            + "8ED8" // mov %ax, %ds
            + "8ED0" // mov %ax, %ss
            + "BC00900100" // mov $0x19000, %esp
            + "0F20E0" // mov %cr4, %eax
            + "83C820" // or $0x20, %eax
            + "0F22E0" // mov %eax, %cr4
            + "B800100000" // mov $0x1000, %eax
            + "0F22D8" // mov %eax, %cr3
            + "B9800000C0" // mov $0xC0000080, %ecx
            + "0F32" // rdmsr
            + "0D00010000" // or $0x100, %eax
            + "0F30" // wrmsr
            + "0F20C0" // mov %cr0, %eax
            + "0D00000080" // or $0x80000000, %eax
            + "0F22C0" // mov %eax, %cr0
            + "EA550001001800" // ljmp $0x18, $(0x10000 + lm64 - start)
            + "48B88877665544332211" // mov $0x1122334455667788, %rax
            + "48C7C310000040" // mov $0x40000010, %rbx
            + "488903" // mov %rax, (%rbx)
            + "488B0C2510002000" // mov 0x200010, %rcx
            + "0F013B" // invlpg (%rbx)
            + "0F20DA" // mov %cr3, %rdx
            + "0F22DA" // mov %rdx, %cr3
            + "48F7D0" // not %rax
            + "48894308" // mov %rax, 8(%rbx)
            + "488B342518002000" // mov 0x200018, %rsi
            + "66BA1300" // mov $0x13, %dx
            + "EF" // out %eax, %dx
            + "48C1E820" // shr $32, %rax
            + "EF" // out %eax, %dx
            + "4C8D0D24000000" // lea value(%rip), %r9
            + "4D8B11" // mov (%r9), %r10
            + "4152" // push %r10
            + "415B" // pop %r11
            + "B9800000C0" // mov $0xC0000080, %ecx
            + "0F32" // rdmsr
            + "4989C4" // mov %rax, %r12
            + "3D01050000" // cmp $0x501, %eax
            + "F4" // hlt
            + "0F1F8000000000" // .align 8
            + "1F00" // gdtptr: .word 31
            + "00400000" // .long 0x4000
            + "EFCDAB8967452301"; // value: .quad 0x0123456789ABCDEF

    /** 64-bit port I/O: all sizes, REP OUTSW, backwards REP INSW, REP INSB with RCX=0, OUTSB. */
    static final String PORT_IO = ""
            + "66BA1100" // mov $0x11, %dx
            + "EC" // in (%dx), %al
            + "66ED" // in (%dx), %ax
            + "89C3" // mov %eax, %ebx
            + "ED" // in (%dx), %eax
            + "66BA1200" // mov $0x12, %dx
            + "488D3538000000" // lea msg(%rip), %rsi
            + "B903000000" // mov $3, %ecx
            + "66F36F" // rep outsw
            + "FD" // std
            + "488D3D39000000" // lea buf+6(%rip), %rdi
            + "66BA1100" // mov $0x11, %dx
            + "B904000000" // mov $4, %ecx
            + "66F36D" // rep insw
            + "FC" // cld
            + "31C9" // xor %ecx, %ecx
            + "F36C" // rep insb
            + "6E" // outsb
            + "66BA1300" // mov $0x13, %dx
            + "B8A5A5A5A5" // mov $0xA5A5A5A5, %eax
            + "EF" // out %eax, %dx
            + "B010" // mov $0x10, %al
            + "E612" // out %al, $0x12
            + "4C8B050C000000" // mov buf(%rip), %r8
            + "F4" // hlt
            + "414243444546" // msg: .ascii "ABCDEF"
            + "0F1F440000" // .align 8
            + "0000000000000000"; // buf: .space 8

    /** 64-bit MMIO at 0xD0000000: stores and loads of every size, read-modify-write instructions. */
    static final String MMIO = ""
            + "BB000000D0" // mov $0xD0000000, %ebx
            + "C60311" // movb $0x11, (%rbx)
            + "66C743023322" // movw $0x2233, 2(%rbx)
            + "C7430477665544" // movl $0x44556677, 4(%rbx)
            + "48B8FFEEDDCCBBAA9988" // mov $0x8899AABBCCDDEEFF, %rax
            + "48894308" // mov %rax, 8(%rbx)
            + "488B0B" // mov (%rbx), %rcx
            + "0FB75302" // movzwl 2(%rbx), %edx
            + "8B7304" // mov 4(%rbx), %esi
            + "83430401" // addl $1, 4(%rbx)
            + "800B80" // orb $0x80, (%rbx)
            + "8B7B04" // mov 4(%rbx), %edi
            + "4C8B4308" // mov 8(%rbx), %r8
            + "4C8B0B" // mov (%rbx), %r9
            + "F4"; // hlt

    /**
     * The 8259s masked, the local APIC software-enabled (spurious vector 0xFF), IOAPIC pin 5 routed to vector
     * 0x30 edge-triggered on CPU 0; RBX left at the local APIC's base for the handlers' EOI.
     */
    private static final String ROUTE_IRQ5_TO_VECTOR_0X30 = ""
            + "B0FF" // mov $0xFF, %al
            + "E621" // out %al, $0x21
            + "E6A1" // out %al, $0xA1
            + "BB0000E0FE" // mov $0xFEE00000, %ebx
            + "C783F0000000FF010000" // movl $0x1FF, 0xF0(%rbx)
            + "BD0000C0FE" // mov $0xFEC00000, %ebp
            + "C745001A000000" // movl $0x1A, (%rbp)
            + "C7451030000000" // movl $0x30, 0x10(%rbp)
            + "C745001B000000" // movl $0x1B, (%rbp)
            + "C7451000000000"; // movl $0, 0x10(%rbp)

    /** The end of an interrupt handler: EOI to the local APIC at RBX, then IRETQ. */
    private static final String EOI_AND_IRETQ = ""
            + "C783B000000000000000" // movl $0, 0xB0(%rbx)
            + "48CF"; // iretq

    /**
     * The 8259s masked, the local APIC and IOAPIC programmed, ISA IRQ 5 raised with IF=1, a
     * wait loop (whose flags match those at the OUT, so the frame is the same wherever the interrupt lands).
     */
    static final String IOAPIC_INTERRUPT = ROUTE_IRQ5_TO_VECTOR_0X30
            + "49C7C501000000" // mov $1, %r13
            + "4D85F6" // test %r14, %r14
            + "FB" // sti
            + "B005" // mov $5, %al
            + "E614" // out %al, $0x14
            + "4D85F6" // 1: test %r14, %r14
            + "74FB" // jz 1b
            + "49C7C402000000" // mov $2, %r12
            + "FA" // cli
            + "F4"; // hlt

    /** The IOAPIC test's handler: counts in R14, EOI. */
    static final String IOAPIC_INTERRUPT_AT_100 = ""
            + "49FFC6" // inc %r14
            + EOI_AND_IRETQ;

    /** STI; HLT with nothing pending: the test raises ISA IRQ 5, the handler runs, the guest goes on. */
    static final String HLT_WAKE = ROUTE_IRQ5_TO_VECTOR_0X30
            + "FB" // sti
            + "F4" // hlt
            + "49C7C407000000" // mov $7, %r12
            + "FA" // cli
            + "F4"; // hlt

    /** The HLT test's handler: counts in R14, reports the interrupted RIP on port 0x13, EOI. */
    static final String HLT_WAKE_AT_100 = ""
            + "49FFC6" // inc %r14
            + "488B0424" // mov (%rsp), %rax
            + "66BA1300" // mov $0x13, %dx
            + "EF" // out %eax, %dx
            + EOI_AND_IRETQ;
}
