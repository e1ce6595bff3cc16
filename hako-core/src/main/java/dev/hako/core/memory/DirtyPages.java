package dev.hako.core.memory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.LockSupport;

/**
 * The dirty log of guest RAM for live migration: one bit per 4 KiB page, set by whoever writes RAM while logging
 * is on (device DMA through {@link GuestMemory}, a soft vCPU when it fills a write translation, KVM's dirty log
 * when it is read), and taken by the migration one round at a time with {@link #harvest}.
 *
 * <p>Writers that cache write access to pages (a soft vCPU's write TLB: its stores through a cached entry set no
 * bit) register as {@link CachingWriter}s. A round is airtight because {@link #harvest} runs in this order:
 * <ol>
 * <li>take and clear the bitmap (every page written since the last harvest, or whose write translation was filled
 *     since then);</li>
 * <li>advance the epoch and wait until every caching writer has either dropped its write translations at that
 *     epoch or is outside guest code ({@link CachingWriter#caughtUp});</li>
 * <li>only then does the caller read the pages.</li>
 * </ol>
 * A store to page P after step 1 goes either through a translation filled after step 1, whose fill set P's bit
 * again for the next round, or through an older translation; older translations are gone once the writer caught
 * up in step 2, so such a store happened before step 3 (the writer's catching up is a volatile write the harvest
 * reads, which orders the store before the caller's read of P) and the page copy of this round holds it.
 *
 * <p>No allocation when marking; marking with logging off is one plain read of a field.
 */
public final class DirtyPages {
    public static final int PAGE_SHIFT = 12;
    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);
    /** How long a harvest waits for a writer to catch up before it kicks it again. */
    private static final long KICK_INTERVAL_NANOS = 200_000;

    private final long[] words;
    private final long pages;
    private final List<CachingWriter> writers = new CopyOnWriteArrayList<>();
    private volatile boolean logging;
    private volatile long epoch;

    /**
     * A writer that caches write access to pages and so marks a page only when it fills its cache: a soft vCPU.
     * It drops its write translations when it sees a new {@link #epoch()} at its next entry to guest code.
     */
    public interface CachingWriter {
        /** Whether it holds no write translation from before {@code epoch} (it dropped them, or runs no guest code). */
        boolean caughtUp(long epoch);

        /** Asks it to leave guest code soon (at its next block boundary) so that it catches up. */
        void kick();
    }

    public DirtyPages(long ramBytes) {
        this.pages = (ramBytes + (1L << PAGE_SHIFT) - 1) >>> PAGE_SHIFT;
        this.words = new long[(int) ((pages + 63) >>> 6)];
    }

    /** Pages of RAM the log covers. */
    public long pages() {
        return pages;
    }

    public boolean logging() {
        return logging;
    }

    /** The round a caching writer must have caught up with (see {@link CachingWriter}). */
    public long epoch() {
        return epoch;
    }

    public void register(CachingWriter writer) {
        writers.add(writer);
    }

    public void unregister(CachingWriter writer) {
        writers.remove(writer);
    }

    /**
     * Starts logging with every page dirty, and makes every caching writer drop its translations, so that from
     * here on no store escapes the log.
     */
    public void start() throws InterruptedException {
        logging = true;
        for (int i = 0; i < words.length; i++) {
            WORDS.setVolatile(words, i, -1L);
        }
        advanceEpoch();
    }

    /** Stops logging; marks cost nothing again. */
    public void stop() {
        logging = false;
    }

    /** Marks the page holding {@code gpa}, when logging (an address outside RAM is ignored). */
    public void mark(long gpa) {
        if (logging) {
            set(gpa >>> PAGE_SHIFT);
        }
    }

    /** Marks the pages {@code [gpa, gpa + length)} overlaps, when logging. */
    public void mark(long gpa, long length) {
        if (logging && length > 0) {
            for (long page = gpa >>> PAGE_SHIFT, last = (gpa + length - 1) >>> PAGE_SHIFT; page <= last; page++) {
                set(page);
            }
        }
    }

    private void set(long page) {
        if (page < 0 || page >= pages) {
            return;
        }
        int word = (int) (page >>> 6);
        long bit = 1L << page;
        if (((long) WORDS.getVolatile(words, word) & bit) == 0) {
            WORDS.getAndBitwiseOr(words, word, bit);
        }
    }

    /**
     * Takes the pages dirtied since the last harvest into {@code into} (a bit per page, {@link #words()} long) and
     * clears them here; returns how many there are. See the class comment for why nothing is lost.
     */
    public long harvest(long[] into) throws InterruptedException {
        long count = 0;
        for (int i = 0; i < words.length; i++) {
            long taken = (long) WORDS.getAndSet(words, i, 0L);
            into[i] = taken;
            count += Long.bitCount(taken);
        }
        advanceEpoch();
        return count;
    }

    /** Pages dirty now (read racily: for deciding whether another round is worth it). */
    public long count() {
        long count = 0;
        for (long word : words) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** The length of the array {@link #harvest} fills. */
    public int words() {
        return words.length;
    }

    private void advanceEpoch() throws InterruptedException {
        long now = epoch + 1;
        epoch = now;
        for (CachingWriter writer : writers) {
            while (!writer.caughtUp(now)) {
                writer.kick();
                LockSupport.parkNanos(KICK_INTERVAL_NANOS);
                if (Thread.interrupted()) {
                    throw new InterruptedException("harvesting the dirty log");
                }
            }
        }
    }
}
