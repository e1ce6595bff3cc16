package dev.hako.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Gateway to the host C library's raw {@code syscall(2)}. Callers get the kernel's convention back:
 * a non-negative result, or {@code -errno}, so a guest's syscall can be carried out on the host and its
 * result handed to the guest unchanged.
 */
public final class Libc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final long ERRNO_OFFSET = Linker.Option.captureStateLayout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL6 = LINKER.downcallHandle(
            LIBC.find("syscall").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG),
            CAPTURE_ERRNO, Linker.Option.firstVariadicArg(1));

    /** One per thread: the errno capture buffer, so a syscall allocates nothing. */
    private static final ThreadLocal<MemorySegment> CALL_STATE = ThreadLocal.withInitial(
            () -> Arena.global().allocate(Linker.Option.captureStateLayout()));

    private Libc() {}

    /** Runs host syscall {@code nr}; returns its result or {@code -errno}. */
    public static long syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
        MemorySegment state = CALL_STATE.get();
        try {
            long result = (long) SYSCALL6.invokeExact(state, nr, a0, a1, a2, a3, a4, a5);
            if (result == -1) {
                return -(long) state.get(ValueLayout.JAVA_INT, ERRNO_OFFSET);
            }
            return result;
        } catch (Throwable t) {
            throw new IllegalStateException("host syscall " + nr + " failed to run", t);
        }
    }

    /** The C library's function of that name, for gateways with their own signatures. */
    static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(
                () -> new IllegalStateException("host C library has no " + name)), descriptor, options);
    }

}
