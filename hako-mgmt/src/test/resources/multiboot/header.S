/*
 * The Multiboot header and entry of hako's Multiboot test kernel (Multiboot Specification 0.6.96, 3.1 and
 * 3.2). Built with -DAOUT_KLUDGE the header carries the address fields (flag bit 16) and the kernel is linked
 * as a flat binary, so the loader must place it from the header alone.
 */
#define MAGIC 0x1BADB002
#ifdef AOUT_KLUDGE
#define FLAGS 0x00010003
#else
#define FLAGS 0x00000003
#endif

    .section .multiboot, "a"
    .align 4
multiboot_header:
    .long MAGIC
    .long FLAGS
    .long -(MAGIC + FLAGS)
#ifdef AOUT_KLUDGE
    .long multiboot_header  /* header_addr */
    .long _load_start       /* load_addr */
    .long _load_end         /* load_end_addr */
    .long _bss_end          /* bss_end_addr */
    .long _start            /* entry_addr */
#endif

    .text
    .globl _start
_start:
    /* ESP is undefined at entry: the kernel brings its own stack. */
    mov $stack_top, %esp
    push %ebx               /* the information structure */
    push %eax               /* the boot loader's magic */
    call kernel_main
1:  hlt
    jmp 1b

    .bss
    .align 16
    .space 8192
stack_top:
