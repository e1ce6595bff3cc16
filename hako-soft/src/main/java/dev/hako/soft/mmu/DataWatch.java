package dev.hako.soft.mmu;

/**
 * Data breakpoints: ranges of linear addresses (or, for the guest's I/O breakpoints, of ports) whose reads or
 * writes are reported. While one is armed over memory, the MMU
 * gives the pages it touches no TLB entry of its kind, so every such access takes the slow path and comes here;
 * pages no range touches keep their fast paths, and an MMU with nothing armed holds no {@code DataWatch} at all.
 *
 * <p>Slots are numbered (the soft CPU gives 0-3 to the guest's DR0-DR3 and the rest to a debugger), a hit sets
 * its slot's bit and tells {@code onHit}, which ends the instruction's block: breakpoints on data are traps,
 * reported once the instruction completes. Only the vCPU's own thread uses it.
 */
public final class DataWatch {
    /** Kinds of access a slot watches, or'ed. */
    public static final int READ = 1, WRITE = 2;
    public static final int SLOTS = 64;
    private static final long PAGE = 0x1000;

    private final long[] start = new long[SLOTS];
    private final long[] length = new long[SLOTS];
    private final int[] kinds = new int[SLOTS];
    private final Runnable onHit;
    private long armed;
    private long hits;

    public DataWatch(Runnable onHit) {
        this.onHit = onHit;
    }

    /** Watches {@code kinds} of access to {@code [address, address + length)} in {@code slot}. */
    public void arm(int slot, long address, long length, int kinds) {
        this.start[slot] = address;
        this.length[slot] = length;
        this.kinds[slot] = kinds;
        armed |= 1L << slot;
    }

    public void disarm(int slot) {
        armed &= ~(1L << slot);
        hits &= ~(1L << slot);
    }

    public boolean armed() {
        return armed != 0;
    }

    /** The slots hit since the last call, as bits; cleared. */
    public long takeHits() {
        long h = hits;
        hits = 0;
        return h;
    }

    public boolean hit() {
        return hits != 0;
    }

    /** True when a {@code kind} access anywhere on the page at {@code page} may hit: it must not be cached. */
    boolean watchesPage(long page, int kind) {
        for (long a = armed; a != 0; a &= a - 1) {
            int s = Long.numberOfTrailingZeros(a);
            if ((kinds[s] & kind) != 0 && overlaps(page, PAGE, start[s], length[s])) {
                return true;
            }
        }
        return false;
    }

    /** Records a completed {@code kind} access of {@code size} bytes at {@code gva} (or port). */
    public void accessed(long gva, int size, int kind) {
        long before = hits;
        for (long a = armed; a != 0; a &= a - 1) {
            int s = Long.numberOfTrailingZeros(a);
            if ((kinds[s] & kind) != 0 && overlaps(gva, size, start[s], length[s])) {
                hits |= 1L << s;
            }
        }
        if (hits != before) {
            onHit.run();
        }
    }

    /** Whether two ranges of addresses share a byte, also where one wraps past the top of the address space. */
    private static boolean overlaps(long a, long aLength, long b, long bLength) {
        return Long.compareUnsigned(a - b, bLength) < 0 || Long.compareUnsigned(b - a, aLength) < 0;
    }
}
