package dev.hako.soft.mmu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Which host RAM pages hold decoded code, shared by all vCPUs of a VM, and a generation per page that a
 * store to such a page advances. A vCPU that decodes a page drops every vCPU's write translations for it, so
 * the next store anywhere takes the slow path and is seen; a vCPU whose decoded block belongs to an older
 * generation decodes it again (cross-modifying code, as Linux's text_poke does on SMP). It also counts, per page,
 * the translations that such stores made useless, so that code which keeps being rewritten waits longer before it
 * is translated again.
 */
public final class CodePages {
    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle GENERATIONS = MethodHandles.arrayElementVarHandle(int[].class);

    /** Guest time after which a page's thrown-away translations are forgotten, in units of 2^20 ns. */
    private static final int SETTLED_MILLIS = 1000;

    private final long[] bits;
    private final int[] generations;
    /**
     * Pages whose translations stores threw away, by page number: the count in the high half, the guest time of
     * the last in the low half (units of 2^20 ns, about a millisecond). A map, as few pages ever get here: two
     * arrays indexed by page cost 8 bytes per page of RAM, 32 MiB for a 16 GiB guest.
     */
    private final ConcurrentHashMap<Integer, Long> discards = new ConcurrentHashMap<>();
    private final List<Mmu> mmus = new CopyOnWriteArrayList<>();

    public CodePages(long ramBytes) {
        int pages = (int) ((ramBytes + 0xFFF) >>> 12);
        this.bits = new long[(pages + 63) >>> 6];
        this.generations = new int[pages];
    }

    void register(Mmu mmu) {
        mmus.add(mmu);
    }

    void unregister(Mmu mmu) {
        mmus.remove(mmu);
    }

    public int generation(long hostPage) {
        return (int) GENERATIONS.getAcquire(generations, (int) (hostPage >>> 12));
    }

    /**
     * Translations of code on {@code hostPage} that stores to the page made useless, counted since the page last
     * went {@value #SETTLED_MILLIS} ms of guest time (from {@code nowNanos}) without losing one: code whose
     * rewriting stopped (Linux's, patched in phases while it boots and loads modules) counts as never rewritten.
     */
    public int recentlyDiscardedTranslations(long hostPage, long nowNanos) {
        if (discards.isEmpty()) {
            return 0;
        }
        Long packed = discards.get((int) (hostPage >>> 12));
        return packed == null ? 0 : recent(packed, nowNanos);
    }

    /** A store to {@code hostPage} threw away a translation of code on it, at guest time {@code nowNanos}. */
    public void translationDiscarded(long hostPage, long nowNanos) {
        long now = (nowNanos >>> 20) & 0xFFFF_FFFFL;
        discards.merge((int) (hostPage >>> 12), 1L << 32 | now,
                (old, first) -> (long) (recent(old, nowNanos) + 1) << 32 | now);
    }

    private static int recent(long packed, long nowNanos) {
        return (int) (nowNanos >>> 20) - (int) packed <= SETTLED_MILLIS ? (int) (packed >>> 32) : 0;
    }

    boolean isCode(long hostPage) {
        int page = (int) (hostPage >>> 12);
        return (((long) BITS.getAcquire(bits, page >>> 6)) & (1L << page)) != 0;
    }

    /** Marks {@code hostPage} as holding code; on the first mark, no vCPU may keep a write translation for it. */
    void markCode(long hostPage) {
        int page = (int) (hostPage >>> 12);
        long mask = 1L << page;
        while (true) {
            long old = (long) BITS.getAcquire(bits, page >>> 6);
            if ((old & mask) != 0) {
                return;
            }
            if (BITS.compareAndSet(bits, page >>> 6, old, old | mask)) {
                break;
            }
        }
        VarHandle.fullFence(); // the mark before the look at write entries: see Mmu.fillWrite
        for (Mmu mmu : mmus) {
            mmu.dropWriteTranslations(hostPage);
        }
    }

    /** A store reached a code page: it stops being code, and blocks decoded from it become stale. */
    boolean written(long hostPage) {
        int page = (int) (hostPage >>> 12);
        long mask = 1L << page;
        while (true) {
            long old = (long) BITS.getAcquire(bits, page >>> 6);
            if ((old & mask) == 0) {
                return false;
            }
            if (BITS.compareAndSet(bits, page >>> 6, old, old & ~mask)) {
                GENERATIONS.getAndAdd(generations, page, 1);
                return true;
            }
        }
    }
}
