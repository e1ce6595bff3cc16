package dev.hako.sys;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Machine code made callable: bytes copied into fresh host pages that are then made read-and-execute only
 * (never writable and executable at once), with a downcall handle into them. Used wherever the host CPU
 * itself must run a few instructions, such as the differential tests that take it as the oracle for the
 * soft CPU. The code must follow the host's C calling convention; a crash in it takes the JVM down.
 */
public final class NativeCode implements AutoCloseable {
    private static final long PAGE = 4096;
    private static final FunctionDescriptor VOID_OF_POINTER = FunctionDescriptor.ofVoid(ValueLayout.ADDRESS);

    private final MemorySegment pages;
    private final MethodHandle entry;
    private boolean closed;

    private NativeCode(MemorySegment pages, FunctionDescriptor descriptor) {
        this.pages = pages;
        this.entry = Linker.nativeLinker().downcallHandle(pages, descriptor);
    }

    /** Maps {@code code} at the start of new executable pages; calling it runs {@code void f(void *ctx)}. */
    public static NativeCode map(byte[] code) {
        return map(code, VOID_OF_POINTER);
    }

    /** Maps {@code code}, entered at its first byte with the C signature {@code descriptor}. */
    public static NativeCode map(byte[] code, FunctionDescriptor descriptor) {
        if (code.length == 0) {
            throw new IllegalArgumentException("no machine code to map");
        }
        long size = (code.length + PAGE - 1) & -PAGE;
        MemorySegment pages = Mman.reserve(size, Mman.PROT_READ | Mman.PROT_WRITE);
        MemorySegment.copy(code, 0, pages, ValueLayout.JAVA_BYTE, 0, code.length);
        Mman.protect(pages, Mman.PROT_READ | Mman.PROT_EXEC);
        return new NativeCode(pages, descriptor);
    }

    /** Host address of the first code byte. */
    public long address() {
        return pages.address();
    }

    /** Size of the mapping, whole pages. */
    public long size() {
        return pages.byteSize();
    }

    /** The downcall handle, of the type given by the descriptor (for {@link #map(byte[])}: (MemorySegment)void). */
    public MethodHandle entry() {
        return entry;
    }

    /** Runs code mapped by {@link #map(byte[])} with {@code ctx} as its one argument. */
    public void call(MemorySegment ctx) {
        if (closed) {
            throw new IllegalStateException("native code already unmapped");
        }
        try {
            entry.invokeExact(ctx);
        } catch (Throwable t) {
            throw new IllegalStateException("call into native code failed", t);
        }
    }

    /** Unmaps the code; calling it afterwards is refused. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Mman.release(pages);
        }
    }
}
