package dev.hako.usermode;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import dev.hako.sys.HostRandom;
import dev.hako.sys.Libc;
import dev.hako.sys.Mman;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The guest process's virtual address space: one host reservation of {@link #SIZE} bytes, committed lazily by
 * the host, where a guest virtual address is the offset in the reservation (identity). A byte per page
 * records what the process mapped there and with which protection, so the soft MMU faults exactly where
 * Linux would deliver SIGSEGV, and a syscall's buffer is checked before the host kernel sees
 * {@code ram.address() + gva}: a bad guest pointer gives {@code -EFAULT} and never reaches JVM memory.
 *
 * <p>x86 semantics without protection keys: a writable or executable page is also readable.
 *
 * <p>Shared: the threads of a process, and a vfork child until it execs, use one space; each holds a
 * reference and the last one gives the reservation back. A mapping change reaches every thread using the
 * space through {@link GuestThread#mappingChanged}. The page map is two-level (a chunk per 16 MiB, made on
 * first use), so an idle process costs kilobytes of heap, not one byte per page of the 64 GiB.
 */
final class AddressSpace implements PageWalker {
    /** 64 GiB: guest addresses are below 2^36. */
    static final long SIZE = 1L << 36;
    static final long PAGE = 4096;
    /** Page map bits; the low three equal Linux's PROT_READ, PROT_WRITE, PROT_EXEC. */
    static final int READ = 1, WRITE = 2, EXEC = 4, MAPPED = 8;
    private static final int PF_PRESENT = 1, PF_WRITE = 2, PF_USER = 4, PF_FETCH = 16;

    final MemorySegment ram;
    /** Host address of guest address 0. */
    final long base;
    private static final int CHUNK_BITS = 12;
    private static final int CHUNK_MASK = (1 << CHUNK_BITS) - 1;
    private final byte[][] chunks = new byte[(int) ((SIZE / PAGE) >>> CHUNK_BITS)][];
    private final CpuFault fault = new CpuFault();
    private final List<GuestThread> users = new CopyOnWriteArrayList<>();
    private int references;
    /** Set by {@link #readCString} when the string did not end within its limit (per calling thread). */
    private final ThreadLocal<boolean[]> tooLongFlag = ThreadLocal.withInitial(() -> new boolean[1]);

    AddressSpace() {
        ram = Mman.reserve(SIZE, Mman.PROT_READ | Mman.PROT_WRITE);
        base = ram.address();
    }

    /** A thread starts running on this space: it holds a reference and hears of mapping changes. */
    void attach(GuestThread thread) {
        synchronized (this) {
            references++;
        }
        users.add(thread);
    }

    /** A thread stopped running on this space; the last one gives the reservation back to the host. */
    void detach(GuestThread thread) {
        users.remove(thread);
        synchronized (this) {
            if (--references > 0) {
                return;
            }
        }
        Mman.release(ram);
    }

    /** Gives the reservation back if no thread ever ran on the space (a load that failed). */
    void releaseUnused() {
        synchronized (this) {
            if (references > 0) {
                return;
            }
            references = -1;
        }
        Mman.release(ram);
    }

    boolean tooLong() {
        return tooLongFlag.get()[0];
    }

    private int page(long p) {
        byte[] c = chunks[(int) (p >>> CHUNK_BITS)];
        return c == null ? 0 : c[(int) p & CHUNK_MASK];
    }

    private void setPage(long p, byte value) {
        byte[] c = chunks[(int) (p >>> CHUNK_BITS)];
        if (c == null) {
            if (value == 0) {
                return;
            }
            c = chunks[(int) (p >>> CHUNK_BITS)] = new byte[1 << CHUNK_BITS];
        }
        c[(int) p & CHUNK_MASK] = value;
    }

    /**
     * A private copy for fork: the same mappings, and the contents of the pages the host has actually
     * populated (found with mincore, so untouched parts of a large mapping are not committed in the copy).
     */
    synchronized AddressSpace copy() {
        AddressSpace child = new AddressSpace();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment resident = arena.allocate(1 << CHUNK_BITS);
            long chunkBytes = PAGE << CHUNK_BITS;
            for (int k = 0; k < chunks.length; k++) {
                byte[] c = chunks[k];
                if (c == null) {
                    continue;
                }
                child.chunks[k] = c.clone();
                long start = k * chunkBytes;
                if (Libc.syscall(MINCORE, base + start, chunkBytes, resident.address(), 0, 0, 0) < 0) {
                    resident.fill((byte) 1);
                }
                int runStart = -1;
                for (int i = 0; i <= c.length; i++) {
                    boolean take = i < c.length && c[i] != 0 && (resident.get(ValueLayout.JAVA_BYTE, i) & 1) != 0;
                    if (take && runStart < 0) {
                        runStart = i;
                    } else if (!take && runStart >= 0) {
                        MemorySegment.copy(ram, start + runStart * PAGE, child.ram, start + runStart * PAGE,
                                (i - runStart) * PAGE);
                        runStart = -1;
                    }
                }
            }
        }
        return child;
    }

    private static final long MINCORE = 27;

    @Override
    public long translate(long gva, int access) {
        if (Long.compareUnsigned(gva, SIZE) < 0) {
            int p = page(gva >>> 12);
            int need = access == PageWalker.READ ? READ | WRITE | EXEC : access == PageWalker.WRITE ? WRITE : EXEC;
            if ((p & need) != 0) {
                return gva & ~(PAGE - 1);
            }
            int present = (p & MAPPED) != 0 ? PF_PRESENT : 0;
            throw fault.raise(CpuFault.PF, present | PF_USER | (access == PageWalker.WRITE ? PF_WRITE : 0)
                    | (access == PageWalker.EXECUTE ? PF_FETCH : 0), true, gva);
        }
        if ((gva << 16 >> 16) != gva) {
            // A non-canonical address is #GP(0), or #SS(0) for a stack reference, not a page fault (SDM vol. 3
            // §6.15); the run loop tells the two apart. Linux sends SIGSEGV or SIGBUS with no address.
            throw fault.nonCanonical(gva);
        }
        throw fault.raise(CpuFault.PF, PF_USER | (access == PageWalker.WRITE ? PF_WRITE : 0), true, gva);
    }

    // ---- queries ----

    static boolean inRange(long gva, long size) {
        return gva >= 0 && size >= 0 && gva <= SIZE && size <= SIZE - gva;
    }

    int protection(long gva) {
        return Long.compareUnsigned(gva, SIZE) < 0 ? page(gva >>> 12) : 0;
    }

    /** True if every page of {@code [gva, gva+size)} allows {@code need} (READ, WRITE; 0 = mapped at all). */
    boolean allows(long gva, long size, int need) {
        if (size == 0) {
            return true;
        }
        if (!inRange(gva, size)) {
            return false;
        }
        int mask = need == READ ? READ | WRITE | EXEC : need == 0 ? MAPPED : need;
        for (long p = gva >>> 12, last = (gva + size - 1) >>> 12; p <= last; p++) {
            if ((page(p) & mask) == 0) {
                return false;
            }
        }
        return true;
    }

    /** True if no page of {@code [gva, gva+size)} is mapped. */
    boolean isFree(long gva, long size) {
        if (!inRange(gva, size)) {
            return false;
        }
        for (long p = gva >>> 12, end = (gva + size) >>> 12; p < end; p++) {
            if (page(p) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Host address for a syscall to read ({@code READ}) or fill ({@code WRITE}) {@code [gva, gva+size)}, or
     * -1 if the guest may not. Before the host writes, decoded code on those pages is dropped.
     */
    long host(long gva, long size, int access) {
        if (size == 0) {
            return base;
        }
        if (!allows(gva, size, access)) {
            return -1;
        }
        if (access == WRITE) {
            dropCodeBeforeHostWrite(gva, size);
        }
        return base + gva;
    }

    private void dropCodeBeforeHostWrite(long gva, long size) {
        GuestThread caller = GuestThread.current();
        Mmu mmu = caller == null ? null : caller.cpu().mem;
        for (long p = gva >>> 12, last = (gva + size - 1) >>> 12; p <= last; p++) {
            if ((page(p) & EXEC) != 0 && mmu != null) {
                long a = p << 12;
                mmu.write8(a, mmu.read8(a)); // the MMU's code watcher sees the store and drops the code
            }
        }
    }

    /**
     * How many bytes from {@code gva}, up to {@code size}, the guest may access ({@code READ} or
     * {@code WRITE}): a syscall given a larger buffer than is mapped does a short transfer, and gets
     * {@code -EFAULT} only when not even the first byte is accessible.
     */
    long accessiblePrefix(long gva, long size, int access) {
        if (size <= 0 || !inRange(gva, 1)) {
            return 0;
        }
        size = Math.min(size, SIZE - gva);
        int mask = access == READ ? READ | WRITE | EXEC : access;
        long end = gva + size;
        long p = gva >>> 12;
        long reach = gva;
        while (reach < end && (page(p) & mask) != 0) {
            p++;
            reach = p << 12;
        }
        return Math.min(reach, end) - gva;
    }

    // ---- direct access for the loader and syscalls (callers check first) ----

    long readLong(long gva) {
        return ram.get(ValueLayout.JAVA_LONG_UNALIGNED, gva);
    }

    int readInt(long gva) {
        return ram.get(ValueLayout.JAVA_INT_UNALIGNED, gva);
    }

    void writeLong(long gva, long value) {
        ram.set(ValueLayout.JAVA_LONG_UNALIGNED, gva, value);
    }

    void writeInt(long gva, int value) {
        ram.set(ValueLayout.JAVA_INT_UNALIGNED, gva, value);
    }

    void writeBytes(long gva, byte[] src, int from, int length) {
        MemorySegment.copy(src, from, ram, ValueLayout.JAVA_BYTE, gva, length);
    }

    /** Fills {@code length} bytes at {@code gva} from the host kernel's random pool, as Linux fills AT_RANDOM. */
    void writeRandom(long gva, int length) {
        HostRandom.fill(ram, gva, length);
    }

    /**
     * Reads a NUL-terminated guest string of at most {@code max} bytes (the NUL excluded); null when a page
     * is unreadable ({@code -EFAULT}) or the string is longer ({@link #tooLong} set).
     */
    byte[] readCString(long gva, int max) {
        boolean[] tooLong = tooLongFlag.get();
        tooLong[0] = false;
        for (int n = 0; n <= max; n++) {
            long a = gva + n;
            if (n == 0 || (a & (PAGE - 1)) == 0) {
                if (!allows(a, 1, READ)) {
                    return null;
                }
            }
            if (ram.get(ValueLayout.JAVA_BYTE, a) == 0) {
                byte[] s = new byte[n];
                MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, gva, s, 0, n);
                return s;
            }
        }
        tooLong[0] = true;
        return null;
    }

    // ---- mapping changes ----

    /** Maps {@code [gva, gva+size)} (page-aligned) with {@code prot}; the pages read as zeros. */
    synchronized void map(long gva, long size, int prot) {
        unmap(gva, size);
        setProtection(gva, size, prot);
    }

    /** Sets the protection of mapped or newly mapped pages, keeping contents. */
    synchronized void setProtection(long gva, long size, int prot) {
        byte value = (byte) (MAPPED | (prot & (READ | WRITE | EXEC)));
        boolean code = false;
        for (long p = gva >>> 12, end = (gva + size) >>> 12; p < end; p++) {
            if ((page(p) & EXEC) != 0 && (value & EXEC) == 0) {
                code = true;
            }
            setPage(p, value);
        }
        changed(code);
    }

    /** Unmaps {@code [gva, gva+size)} (page-aligned) and gives the memory back to the host (zeros later). */
    synchronized void unmap(long gva, long size) {
        boolean any = false, code = false;
        for (long p = gva >>> 12, end = (gva + size) >>> 12; p < end; p++) {
            int old = page(p);
            if (old != 0) {
                any = true;
                code |= (old & EXEC) != 0;
                setPage(p, (byte) 0);
            }
        }
        if (any) {
            Mman.discard(ram, gva, size);
            changed(code);
        }
    }

    /** Zeroes mapped pages as MADV_DONTNEED does for private anonymous memory. */
    synchronized void discard(long gva, long size) {
        boolean code = false;
        for (long p = gva >>> 12, end = (gva + size) >>> 12; p < end; p++) {
            code |= (page(p) & EXEC) != 0;
        }
        Mman.discard(ram, gva, size);
        if (code) {
            changed(true);
        }
    }

    /**
     * The highest free page-aligned range of {@code size} bytes within {@code [low, high)}, searched
     * top-down as Linux places mmaps; -1 if none.
     */
    synchronized long findFree(long size, long low, long high) {
        long pagesNeeded = size >>> 12;
        long run = 0;
        for (long p = (high >>> 12) - 1; p >= (low >>> 12); p--) {
            if (page(p) == 0) {
                if (++run == pagesNeeded) {
                    return p << 12;
                }
            } else {
                run = 0;
            }
        }
        return -1;
    }

    /** Copies {@code size} bytes within the guest space (mremap moves). */
    void copy(long from, long to, long size) {
        MemorySegment.copy(ram, from, ram, to, size);
    }

    /** Every thread using the space drops its translations (and its decoded code if {@code code}). */
    private void changed(boolean code) {
        for (GuestThread t : users) {
            t.mappingChanged(code);
        }
    }
}
