package dev.hako.usermode;

/**
 * One Linux syscall carried out for the guest: takes the six argument registers (RDI, RSI, RDX, R10, R8,
 * R9) and returns what the kernel would put in RAX (a result, or {@code -errno}).
 */
@FunctionalInterface
interface Syscall {
    long call(GuestProcess p, long a0, long a1, long a2, long a3, long a4, long a5);
}
