package dev.hako.soft.mmu;

import dev.hako.core.accel.IoHandler;
import dev.hako.core.memory.DirtyPages;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * A vCPU's view of guest memory: a direct-mapped software TLB in front of a {@link PageWalker}, over the
 * off-heap RAM segment. Loads are acquire and stores release (x86 TSO; free on an x86 host). Pages that hold
 * decoded code never get a write entry, so the first store to one reaches {@link CodeWatcher} and the
 * decoded code is dropped before the store lands: self-modifying code works.
 */
public final class Mmu {
    private static final int TLB_BITS = 12;
    private static final int TLB_SIZE = 1 << TLB_BITS;
    private static final int TLB_MASK = TLB_SIZE - 1;
    private static final long PAGE_MASK = ~0xFFFL;
    private static final long NO_TAG = TlbTable.NO_TAG;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final VarHandle CAS64 = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle CAS32 = ValueLayout.JAVA_INT.varHandle();
    /** Locked accesses that split an aligned word are serialized here, as a split lock is on hardware. */
    private static final Object SPLIT_LOCK = new Object();

    private final MemorySegment ram;
    /** The RAM segment's host address, and its size less a page: the highest page offset a TLB entry may hold. */
    private final long base;
    private final long lastPage;
    /**
     * Two TLBs, for supervisor and user accesses, since a translation's permissions depend on the CPL;
     * the arrays below are those of the current privilege.
     */
    private final TlbTable supervisorTlb = new TlbTable(TLB_SIZE);
    private final TlbTable userTlb = new TlbTable(TLB_SIZE);
    private final TlbTable[] allTlbs = {supervisorTlb, userTlb};
    /** The current TLB, and the host address of its first entry. */
    private TlbTable current;
    private long tlb;
    /** Which pages hold decoded code, shared with the VM's other vCPUs. */
    private final CodePages codePages;
    private PageWalker walker;
    private CodeWatcher codeWatcher = hostPage -> { };
    private IoHandler io = IoHandler.NONE;
    private int vcpu;
    /** The machine's dirty log, told of every write translation filled; null: none (user mode, tests). */
    private DirtyPages dirty;
    /** Data breakpoints; null while none is armed, so the slow paths pay one null check. */
    private DataWatch watch;

    /** Told when a store hits a page that holds decoded code, before the store is done. */
    public interface CodeWatcher {
        void codeWritten(long hostPage);
    }

    public Mmu(MemorySegment ram, PageWalker walker) {
        this(ram, walker, new CodePages(ram.byteSize()));
    }

    /** A vCPU's MMU in a VM whose vCPUs share {@code codePages}. */
    public Mmu(MemorySegment ram, PageWalker walker, CodePages codePages) {
        if (!ram.isNative()) {
            throw new IllegalArgumentException("guest RAM must be off-heap: the TLB reaches it by address");
        }
        this.ram = ram;
        this.base = ram.address();
        this.lastPage = ram.byteSize() - 0x1000;
        this.walker = walker;
        this.codePages = codePages;
        codePages.register(this);
        useTlb(supervisorTlb);
        flush();
    }

    /**
     * Leaves the shared {@link CodePages} for good: a vCPU that ends (a user-mode thread that exits) is no
     * longer told about code pages, and is no longer kept reachable by them.
     */
    public void detach() {
        codePages.unregister(this);
    }

    private void useTlb(TlbTable table) {
        current = table;
        tlb = table.address;
    }

    /** Switches to the TLB of user (CPL 3) or supervisor accesses. */
    public void setUserMode(boolean user) {
        useTlb(user ? userTlb : supervisorTlb);
    }

    public MemorySegment ram() {
        return ram;
    }

    public PageWalker walker() {
        return walker;
    }

    public void setWalker(PageWalker walker) {
        this.walker = walker;
        flush();
    }

    public void setCodeWatcher(CodeWatcher watcher) {
        this.codeWatcher = watcher;
    }

    /** Where accesses to MMIO pages (translations with {@link PageWalker#MMIO} set) go. */
    public void setIo(IoHandler io, int vcpu) {
        this.io = io;
        this.vcpu = vcpu;
    }

    /**
     * Reports every write translation this MMU fills to {@code log} (its page is marked dirty while a migration
     * logs): stores through a filled entry set no bit, see {@link DirtyPages} for why nothing escapes.
     */
    public void setDirtyLog(DirtyPages log) {
        this.dirty = log;
    }

    /**
     * Reports accesses to {@code watch}'s ranges ({@code null}: none armed). The TLB is flushed, so the pages they
     * touch are filled again, and then never cached for the watched kind of access.
     */
    public void setDataWatch(DataWatch watch) {
        if (watch == null && this.watch == null) {
            return; // nothing was or is watched: the TLB is right (Linux clears DR7 on every CPU at boot)
        }
        this.watch = watch;
        flush();
    }

    /** Forgets every write translation, so the next store to any page fills again (a dirty-log round starts). */
    public void forgetWriteTranslations() {
        for (TlbTable table : allTlbs) {
            table.clearWrites();
        }
    }

    /** Forgets every translation, of global pages too (paging or a CR4 paging bit changed). */
    public void flush() {
        for (TlbTable table : allTlbs) {
            table.clear();
        }
    }

    /** Forgets every translation but those of global pages (a CR3 write). */
    public void flushNonGlobal() {
        for (TlbTable table : allTlbs) {
            table.clearNonGlobal();
        }
    }

    /** Forgets the translation of one page (INVLPG, munmap of one page). */
    public void flushPage(long gva) {
        int i = index(gva);
        for (TlbTable table : allTlbs) {
            table.clearEntry(i);
        }
    }

    private static int index(long gva) {
        return (int) (gva >>> 12) & TLB_MASK;
    }

    /** The host address of the current TLB's entry for {@code gva}. */
    private long entry(long gva) {
        return tlb + ((long) index(gva) << TlbTable.ENTRY_SHIFT);
    }

    private static long tag(long entry, int kind) {
        return HostMemory.get64(entry + kind);
    }

    /** The entry's delta from a guest linear address on its page to the host address. */
    private static long delta(long entry) {
        return HostMemory.get64(entry + TlbTable.DELTA);
    }

    /** The offset in {@link #ram} that the entry maps {@code gva} to. */
    private long ramOffset(long entry, long gva) {
        return delta(entry) + gva - base;
    }

    /** Fills the entry of {@code page} with the host page at RAM offset {@code host}, for accesses of {@code kind}. */
    private void fill(long entry, int kind, long page, long host) {
        long delta = base + host - page;
        boolean sameDelta = delta(entry) == delta;
        current.filling(entry, walker.lastTranslationGlobal(), sameDelta);
        if (!sameDelta) {
            TlbTable.clearTags(entry); // they belong to the page the old delta reached
            HostMemory.put64(entry + TlbTable.DELTA, delta);
        }
        HostMemory.put64(entry + kind, page);
    }

    // ---- loads ----

    public int read8(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.READ) == (gva & PAGE_MASK)) {
            byte v = HostMemory.get8(delta(e) + gva);
            VarHandle.acquireFence();
            return v & 0xFF;
        }
        return (int) readSlow(gva, 1);
    }

    public int read16(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.READ) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFFE) {
            short v = HostMemory.get16(delta(e) + gva);
            VarHandle.acquireFence();
            return v & 0xFFFF;
        }
        return (int) readSlow(gva, 2);
    }

    public long read32(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.READ) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFFC) {
            int v = HostMemory.get32(delta(e) + gva);
            VarHandle.acquireFence();
            return v & 0xFFFFFFFFL;
        }
        return readSlow(gva, 4);
    }

    public long read64(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.READ) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFF8) {
            long v = HostMemory.get64(delta(e) + gva);
            VarHandle.acquireFence();
            return v;
        }
        return readSlow(gva, 8);
    }

    /** Zero-extended load of 1, 2, 4 or 8 bytes. */
    public long read(long gva, int size) {
        return switch (size) {
            case 1 -> read8(gva);
            case 2 -> read16(gva);
            case 4 -> read32(gva);
            default -> read64(gva);
        };
    }

    private long readSlow(long gva, int size) {
        if (((gva & 0xFFF) + size) <= 0x1000) {
            long off = fillRead(gva);
            if (watch != null) {
                watch.accessed(gva, size, DataWatch.READ);
            }
            if (off < 0) {
                return io.mmioRead(vcpu, off & Long.MAX_VALUE, size);
            }
            long v = switch (size) {
                case 1 -> ram.get(ValueLayout.JAVA_BYTE, off) & 0xFFL;
                case 2 -> ram.get(U16, off) & 0xFFFFL;
                case 4 -> ram.get(U32, off) & 0xFFFFFFFFL;
                default -> ram.get(U64, off);
            };
            VarHandle.acquireFence();
            return v;
        }
        // Crosses a page: both pages must be readable before anything is returned.
        long v = 0;
        for (int b = 0; b < size; b++) {
            v |= readSlow(gva + b, 1) << (8 * b);
        }
        VarHandle.acquireFence();
        return v;
    }

    /** Host offset of {@code gva} for a load, filling the TLB; or MMIO-flagged guest-physical address. */
    private long fillRead(long gva) {
        long page = gva & PAGE_MASK;
        long host = walker.translate(gva, PageWalker.READ);
        if (host < 0) {
            return host + (gva & 0xFFF); // MMIO pages are never cached
        }
        checkInRam(host, gva);
        if (watch != null && watch.watchesPage(page, DataWatch.READ)) {
            return host + (gva & 0xFFF); // every read of the page comes through here and is checked
        }
        fill(entry(gva), TlbTable.READ, page, host);
        return host + (gva & 0xFFF);
    }

    // ---- instruction fetch ----

    public int fetch8(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.EXECUTE) == (gva & PAGE_MASK)) {
            return HostMemory.get8(delta(e) + gva) & 0xFF;
        }
        return ram.get(ValueLayout.JAVA_BYTE, fillExec(gva)) & 0xFF;
    }

    /**
     * Host page offset of the code page holding {@code gva}, marked as holding decoded code: its write
     * entries are dropped so the next store to it is seen.
     */
    public long codePage(long gva) {
        long host = (fillExec(gva) & PAGE_MASK);
        codePages.markCode(host);
        return host;
    }

    /**
     * Host page that an instruction fetch from {@code gva} reads now: the execute TLB's entry, else a page
     * walk that fills it (and raises the fetch's #PF when the page is not executable). Decoded code is valid
     * only while its linear address still reaches the page it was decoded from: after a CR3 write, another
     * process may have other code at the same address.
     */
    public long fetchPage(long gva) {
        long page = gva & PAGE_MASK;
        long e = entry(gva);
        if (tag(e, TlbTable.EXECUTE) == page) {
            return ramOffset(e, page);
        }
        return fillExec(gva) & PAGE_MASK;
    }

    public CodePages codePages() {
        return codePages;
    }

    /**
     * Drops the write translations that reach {@code hostPage}. Called by whichever vCPU marks the page as
     * code; plain stores to this vCPU's tags, seen by its thread at its next access of that entry.
     */
    void dropWriteTranslations(long hostPage) {
        long hostAddress = base + hostPage;
        for (TlbTable table : allTlbs) {
            for (int i = 0; i < TLB_SIZE; i++) {
                long e = table.entry(i);
                long page = tag(e, TlbTable.WRITE);
                if (page != NO_TAG && page + delta(e) == hostAddress) {
                    HostMemory.put64(e + TlbTable.WRITE, NO_TAG);
                }
            }
        }
    }

    /**
     * The fast paths reach RAM without bounds checks ({@link HostMemory}): a walker that gave a page outside
     * RAM is hako's bug, stopped here before it enters the TLB.
     */
    private void checkInRam(long host, long gva) {
        if ((host & 0xFFF) != 0 || host > lastPage) {
            throw new EmulationFailure(String.format("page walk of %#x gave host offset %#x outside RAM", gva, host));
        }
    }

    private long fillExec(long gva) {
        long page = gva & PAGE_MASK;
        long host = walker.translate(gva, PageWalker.EXECUTE);
        if (host < 0) {
            throw new EmulationFailure(String.format("instruction fetch from MMIO at %#x", gva));
        }
        checkInRam(host, gva);
        fill(entry(gva), TlbTable.EXECUTE, page, host);
        return host + (gva & 0xFFF);
    }

    // ---- stores ----

    public void write8(long gva, int value) {
        long e = entry(gva);
        if (tag(e, TlbTable.WRITE) == (gva & PAGE_MASK)) {
            VarHandle.releaseFence();
            HostMemory.put8(delta(e) + gva, (byte) value);
            return;
        }
        writeSlow(gva, 1, value);
    }

    public void write16(long gva, int value) {
        long e = entry(gva);
        if (tag(e, TlbTable.WRITE) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFFE) {
            VarHandle.releaseFence();
            HostMemory.put16(delta(e) + gva, (short) value);
            return;
        }
        writeSlow(gva, 2, value);
    }

    public void write32(long gva, long value) {
        long e = entry(gva);
        if (tag(e, TlbTable.WRITE) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFFC) {
            VarHandle.releaseFence();
            HostMemory.put32(delta(e) + gva, (int) value);
            return;
        }
        writeSlow(gva, 4, value);
    }

    public void write64(long gva, long value) {
        long e = entry(gva);
        if (tag(e, TlbTable.WRITE) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0xFF8) {
            VarHandle.releaseFence();
            HostMemory.put64(delta(e) + gva, value);
            return;
        }
        writeSlow(gva, 8, value);
    }

    /**
     * Makes sure a store of {@code size} bytes at {@code gva} would not fault, raising the fault now if it
     * would. A read-modify-write instruction calls it before computing anything, so a write fault leaves
     * the flags as they were (faults are precise), as an ADC or RCL re-executed after a copy-on-write fault
     * needs.
     */
    public void prepareWrite(long gva, int size) {
        if (tag(entry(gva), TlbTable.WRITE) == (gva & PAGE_MASK) && (gva & 0xFFF) <= 0x1000 - size) {
            return;
        }
        fillWrite(gva);
        if (((gva & 0xFFF) + size) > 0x1000) {
            fillWrite(gva + size - 1);
        }
    }

    /** Store of the low 1, 2, 4 or 8 bytes of {@code value}. */
    public void write(long gva, int size, long value) {
        switch (size) {
            case 1 -> write8(gva, (int) value);
            case 2 -> write16(gva, (int) value);
            case 4 -> write32(gva, value);
            default -> write64(gva, value);
        }
    }

    private void writeSlow(long gva, int size, long value) {
        if (((gva & 0xFFF) + size) <= 0x1000) {
            long off = fillWrite(gva);
            if (watch != null) {
                watch.accessed(gva, size, DataWatch.WRITE);
            }
            if (off < 0) {
                io.mmioWrite(vcpu, off & Long.MAX_VALUE, size, size == 8 ? value : value & ((1L << (size * 8)) - 1));
                return;
            }
            VarHandle.releaseFence();
            switch (size) {
                case 1 -> ram.set(ValueLayout.JAVA_BYTE, off, (byte) value);
                case 2 -> ram.set(U16, off, (short) value);
                case 4 -> ram.set(U32, off, (int) value);
                default -> ram.set(U64, off, value);
            }
            return;
        }
        // Crosses a page: translate both pages before storing anything, so a fault leaves memory untouched.
        fillWrite(gva);
        fillWrite(gva + size - 1);
        for (int b = 0; b < size; b++) {
            writeSlow(gva + b, 1, value >>> (8 * b));
        }
    }

    private long fillWrite(long gva) {
        long page = gva & PAGE_MASK;
        long host = walker.translate(gva, PageWalker.WRITE);
        if (host < 0) {
            return host + (gva & 0xFFF);
        }
        checkInRam(host, gva);
        if (dirty != null) {
            dirty.mark(host);  // before the entry exists, so no store through it precedes the mark
        }
        if (watch != null && watch.watchesPage(page, DataWatch.WRITE)) {
            storeToCode(host);
            return host + (gva & 0xFFF); // every store to the page comes through here and is checked
        }
        fill(entry(gva), TlbTable.WRITE, page, host);
        // Another vCPU may mark the page as code meanwhile: it sets the mark, then drops the write entries it finds
        // (CodePages.markCode). Looking at the mark only once the entry exists, one of the two sees the other; looked
        // at before, a mark set between the look and the fill left a write entry to a code page.
        VarHandle.fullFence();
        storeToCode(host);
        return host + (gva & 0xFFF);
    }

    /** A store is about to reach {@code host}: a page holding decoded code stops being code, and the watcher is told. */
    private void storeToCode(long host) {
        if (codePages.isCode(host) && codePages.written(host)) {
            codeWatcher.codeWritten(host);
        }
    }

    /** Host offset for a store to {@code gva} of {@code size} bytes within one page, for atomic updates. */
    private long writableOffset(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.WRITE) == (gva & PAGE_MASK)) {
            return ramOffset(e, gva);
        }
        return fillWrite(gva);
    }

    /**
     * Host offset in {@link #ram} of {@code gva} for loads up to the end of its page, filling the TLB (and
     * raising the load's fault); -1 for an MMIO page or a watched one. For bulk string moves.
     */
    public long ramOffsetForRead(long gva) {
        long e = entry(gva);
        if (tag(e, TlbTable.READ) == (gva & PAGE_MASK)) {
            return ramOffset(e, gva);
        }
        long off = fillRead(gva);
        return off < 0 || watch != null && watch.watchesPage(gva & PAGE_MASK, DataWatch.READ) ? -1 : off;
    }

    /**
     * Host offset in {@link #ram} of {@code gva} for stores up to the end of its page, filling the TLB (raising
     * the store's fault, and dropping decoded code on the page first); -1 for an MMIO page or a watched one.
     */
    public long ramOffsetForWrite(long gva) {
        long off = writableOffset(gva);
        return off < 0 || watch != null && watch.watchesPage(gva & PAGE_MASK, DataWatch.WRITE) ? -1 : off;
    }

    /**
     * Atomic compare-and-exchange of {@code size} bytes (the LOCK prefix): stores {@code update} if memory
     * holds {@code expected}; returns what memory held.
     */
    public long compareAndExchange(long gva, int size, long expected, long update) {
        if (watch != null) {
            watch.accessed(gva, size, DataWatch.READ | DataWatch.WRITE); // a locked access reads and writes
        }
        if (((gva & 0xFFF) + size) > 0x1000 || (gva & (size - 1)) != 0) {
            synchronized (SPLIT_LOCK) {
                long old = read(gva, size);
                if (old == expected) {
                    write(gva, size, update);
                }
                return old;
            }
        }
        long off = writableOffset(gva);
        if (off < 0) { // MMIO: not atomic against devices, which are serialized anyway
            long old = io.mmioRead(vcpu, off & Long.MAX_VALUE, size);
            if (old == expected) {
                io.mmioWrite(vcpu, off & Long.MAX_VALUE, size, update);
            }
            return old;
        }
        return switch (size) {
            case 1, 2 -> narrowCompareAndExchange(off, size, expected, update);
            case 4 -> (int) CAS32.compareAndExchange(ram, off, (int) expected, (int) update) & 0xFFFFFFFFL;
            default -> (long) CAS64.compareAndExchange(ram, off, expected, update);
        };
    }

    /**
     * Byte and aligned word compare-and-exchange, done as a 32-bit CAS on the aligned dword that holds
     * them: memory segments offer no atomic access modes narrower than 32 bits.
     */
    private long narrowCompareAndExchange(long off, int size, long expected, long update) {
        long dword = off & ~3L;
        int shift = (int) (off - dword) * 8;
        int valueMask = size == 1 ? 0xFF : 0xFFFF;
        int mask = valueMask << shift;
        while (true) {
            int current = (int) CAS32.getVolatile(ram, dword);
            long old = (current >>> shift) & valueMask;
            if (old != (expected & valueMask)) {
                return old;
            }
            int next = (current & ~mask) | (((int) update & valueMask) << shift);
            if ((int) CAS32.compareAndExchange(ram, dword, current, next) == current) {
                return old;
            }
        }
    }

    /** Copies guest bytes out through the MMU (slow path; for syscalls and loaders). */
    public void readBytes(long gva, byte[] dst, int from, int length) {
        for (int k = 0; k < length; k++) {
            dst[from + k] = (byte) read8(gva + k);
        }
    }

    /** Copies bytes into guest memory through the MMU (slow path; for syscalls and loaders). */
    public void writeBytes(long gva, byte[] src, int from, int length) {
        for (int k = 0; k < length; k++) {
            write8(gva + k, src[from + k]);
        }
    }

}
