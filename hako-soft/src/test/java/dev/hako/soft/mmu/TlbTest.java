package dev.hako.soft.mmu;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.soft.fault.CpuFault;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The software TLB against the page walker it caches: random loads, stores and instruction fetches of guest pages
 * that share TLB entries (16 MiB apart, the TLB has 4096 entries of a page), some of them mapped with the same
 * host delta, some global, with user and supervisor accesses, pages remapped then invalidated (INVLPG), or every
 * translation but the global ones flushed (CR3 write), or all of them (CR4 write), and a second vCPU that marks
 * pages as code. Every access must do what the walker says at that
 * moment: the value at the host page it maps to, a #PF where it refuses, and the first store to a page marked as
 * code must be seen by the code watcher.
 */
class TlbTest {
    private static final long ALIAS = 16L << 20; // a TLB's reach: addresses this far apart share an entry
    private static final long RAM = ALIAS + (2L << 20);
    /** A mapping's permissions. Not READ, WRITE, EXECUTE: in the walker those names are PageWalker's access kinds. */
    private static final int MAY_READ = 1, MAY_WRITE = 2, MAY_EXECUTE = 4, USER = 8, GLOBAL = 16;

    /** A mapping the test changes at will: guest page to host page and permissions. */
    private static final class TableWalker implements PageWalker {
        final Map<Long, long[]> pages = new HashMap<>(); // page -> {host, permissions}
        final CpuFault fault = new CpuFault();
        boolean user;
        boolean lastGlobal;

        /** The host page of {@code gva} for {@code access}, or -1 where the walker refuses it. */
        long lookup(long gva, int access) {
            long[] m = pages.get(gva & ~0xFFFL);
            if (m == null) {
                return -1;
            }
            int perms = (int) m[1];
            int need = access == WRITE_ACCESS ? MAY_WRITE : access == EXECUTE_ACCESS ? MAY_EXECUTE : MAY_READ;
            if ((perms & need) == 0 || user && (perms & USER) == 0) {
                return -1;
            }
            return m[0];
        }

        @Override
        public long translate(long gva, int access) {
            long host = lookup(gva, access);
            if (host < 0) {
                throw fault.raise(CpuFault.PF, access == PageWalker.WRITE ? 2 : 0, true, gva);
            }
            lastGlobal = (pages.get(gva & ~0xFFFL)[1] & GLOBAL) != 0;
            return host;
        }

        @Override
        public boolean lastTranslationGlobal() {
            return lastGlobal;
        }

        boolean global(long page) {
            long[] m = pages.get(page);
            return m != null && (m[1] & GLOBAL) != 0;
        }
    }

    private static final int WRITE_ACCESS = PageWalker.WRITE, EXECUTE_ACCESS = PageWalker.EXECUTE;

    @Test
    void everyAccessDoesWhatTheWalkerSaysNow() {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        byte[] shadow = new byte[(int) RAM];
        Random random = new Random(11);
        random.nextBytes(shadow);
        MemorySegment.copy(shadow, 0, ram, ValueLayout.JAVA_BYTE, 0, shadow.length);
        TableWalker walker = new TableWalker();
        CodePages codePages = new CodePages(RAM);
        Mmu mmu = new Mmu(ram, walker, codePages);
        Mmu otherVcpu = new Mmu(ram, walker, codePages);
        List<Long> seen = new ArrayList<>();
        mmu.setCodeWatcher(seen::add);
        // Three TLB indexes, each with four guest pages that share its entry.
        List<Long> guestPages = new ArrayList<>();
        for (long index : new long[] {0x400, 0x401, 0xFFF}) {
            for (long alias = 0; alias < 4; alias++) {
                guestPages.add((index << 12) + alias * ALIAS + (alias == 3 ? 0x7FFF_0000_0000L : 0));
            }
        }
        Set<Long> code = new HashSet<>();
        int faults = 0, sameDelta = 0, codeSeen = 0, loaded = 0;
        for (int op = 0; op < 400_000; op++) {
            if (op % 50 == 0 || walker.pages.isEmpty()) {
                // Remap a page: another host page (often the one that keeps its entry's delta) and permissions.
                long page = guestPages.get(random.nextInt(guestPages.size()));
                long host = hostPageFor(page, guestPages, walker, random);
                if (host >= 0 && host - page == hostDeltaOfAlias(page, walker)) {
                    sameDelta++;
                }
                int perms = random.nextInt(32) | (random.nextInt(3) == 0 ? 0 : MAY_READ);
                boolean wasGlobal = walker.global(page);
                if (random.nextInt(8) == 0) {
                    walker.pages.remove(page);
                } else {
                    walker.pages.put(page, new long[] {host, perms});
                }
                // A CR3 write keeps global translations, so only INVLPG (or a CR4 write) forgets a global page's
                if (random.nextInt(10) == 0 && !wasGlobal && !walker.global(page)) {
                    mmu.flushNonGlobal(); // a CR3 write
                } else if (random.nextInt(10) == 0) {
                    mmu.flush(); // a CR4 write
                } else {
                    mmu.flushPage(page + random.nextInt(0x1000)); // INVLPG
                }
                continue;
            }
            if (random.nextInt(500) == 0) {
                mmu.flushNonGlobal(); // a CR3 write with no mapping changed: must never make an access wrong
                continue;
            }
            if (random.nextInt(200) == 0) {
                walker.user = !walker.user;
                mmu.setUserMode(walker.user);
                continue;
            }
            long gva = guestPages.get(random.nextInt(guestPages.size()));
            if (random.nextInt(100) == 0) {
                // Another vCPU decodes code there: this vCPU's next store to its host page must be seen.
                boolean user = walker.user;
                walker.user = false;
                long host = walker.lookup(gva, EXECUTE_ACCESS);
                if (host >= 0) {
                    otherVcpu.codePage(gva);
                    code.add(host);
                }
                walker.user = user;
                continue;
            }
            int size = 1 << random.nextInt(4);
            gva += random.nextInt(0x1000 - size + 1);
            int kind = random.nextInt(3);
            int access = kind == 0 ? PageWalker.READ : kind == 1 ? WRITE_ACCESS : EXECUTE_ACCESS;
            long host = walker.lookup(gva, access);
            long offset = host + (gva & 0xFFF);
            String what = "op " + op + ": " + new String[] {"read", "write", "fetch"}[kind] + size + " at "
                    + Long.toHexString(gva) + (walker.user ? " (user)" : "");
            try {
                switch (kind) {
                    case 0 -> {
                        long v = mmu.read(gva, size);
                        assertThat(host).as(what + " should fault").isNotNegative();
                        assertThat(v).as(what).isEqualTo(shadowValue(shadow, offset, size));
                        loaded++;
                    }
                    case 1 -> {
                        long value = random.nextLong();
                        mmu.write(gva, size, value);
                        assertThat(host).as(what + " should fault").isNotNegative();
                        for (int b = 0; b < size; b++) {
                            shadow[(int) offset + b] = (byte) (value >>> 8 * b);
                        }
                        if (code.remove(host)) {
                            codeSeen++;
                            assertThat(seen).as(what + ": a store to a page marked as code").contains(host);
                            seen.clear();
                        }
                    }
                    default -> {
                        int v = mmu.fetch8(gva);
                        assertThat(host).as(what + " should fault").isNotNegative();
                        assertThat(v).as(what).isEqualTo(shadow[(int) offset] & 0xFF);
                    }
                }
            } catch (CpuFault f) {
                assertThat(host).as(what + " faulted").isNegative();
                faults++;
            }
            if (op % 2000 == 0) {
                assertThat(ram.mismatch(MemorySegment.ofArray(shadow))).as("first wrong byte of RAM after " + what)
                        .isEqualTo(-1);
            }
        }
        assertThat(ram.mismatch(MemorySegment.ofArray(shadow))).as("first wrong byte of RAM").isEqualTo(-1);
        assertThat(faults).as("accesses that faulted").isGreaterThan(1000);
        assertThat(loaded).as("loads that did not").isGreaterThan(10_000);
        assertThat(sameDelta).as("remaps that kept an alias's delta").isGreaterThan(100);
        assertThat(codeSeen).as("stores to pages another vCPU marked as code").isGreaterThan(50);
    }

    /**
     * A CR3 write keeps a global page's translation (SDM vol. 3A, 4.10.4.1), so a remap of it that is not followed
     * by INVLPG still reads the old page, as on hardware; a non-global page's translation goes, and with it its
     * entry's, even when that entry also held a global page's translation with the same delta.
     */
    @Test
    void aCr3WriteKeepsGlobalTranslationsOnly() {
        MemorySegment ram = Arena.ofAuto().allocate(RAM, 4096);
        for (long page = 0; page < 16; page++) {
            ram.set(ValueLayout.JAVA_LONG, page << 12, 0x1000 + page);
        }
        TableWalker walker = new TableWalker();
        Mmu mmu = new Mmu(ram, walker);
        // kernel and sharing share a TLB entry, and (both mapped at host = guest) its delta
        long kernel = 0x1000, user = 0x40_2000L, sharing = 0x1000 + ALIAS;
        walker.pages.put(kernel, new long[] {1L << 12, MAY_READ | MAY_EXECUTE | GLOBAL});
        walker.pages.put(user, new long[] {2L << 12, MAY_READ | USER});
        assertThat(mmu.read(kernel, 8)).isEqualTo(0x1001);
        assertThat(mmu.read(user, 8)).isEqualTo(0x1002);

        walker.pages.put(kernel, new long[] {3L << 12, MAY_READ | MAY_EXECUTE | GLOBAL});
        walker.pages.put(user, new long[] {4L << 12, MAY_READ | USER});
        mmu.flushNonGlobal();
        assertThat(mmu.read(kernel, 8)).as("the global page's old translation").isEqualTo(0x1001);
        assertThat(mmu.read(user, 8)).as("the user page's new one").isEqualTo(0x1004);

        mmu.flushPage(kernel);
        assertThat(mmu.read(kernel, 8)).as("after INVLPG").isEqualTo(0x1003);
        walker.pages.put(kernel, new long[] {1L << 12, MAY_READ | MAY_EXECUTE | GLOBAL});
        mmu.flush();
        assertThat(mmu.read(kernel, 8)).as("after a full flush").isEqualTo(0x1001);

        walker.pages.put(sharing, new long[] {ALIAS + 0x1000, MAY_READ | MAY_EXECUTE});
        assertThat(mmu.fetch8(sharing)).as("a non-global page in the global page's entry").isZero();
        walker.pages.put(sharing, new long[] {6L << 12, MAY_READ | MAY_EXECUTE});
        mmu.flushNonGlobal();
        assertThat(mmu.fetch8(sharing)).as("the non-global page's translation went").isEqualTo(0x06);
    }

    /** The delta (host minus guest page) of some other mapped page that shares {@code page}'s TLB entry, or 1. */
    private static long hostDeltaOfAlias(long page, TableWalker walker) {
        for (Map.Entry<Long, long[]> e : walker.pages.entrySet()) {
            if (e.getKey() != page && ((e.getKey() ^ page) & 0xFFF000L) == 0) {
                return e.getValue()[0] - e.getKey();
            }
        }
        return 1;
    }

    /** A host page for {@code page}: half the time one that gives it the delta of an alias already mapped. */
    private static long hostPageFor(long page, List<Long> guestPages, TableWalker walker, Random random) {
        long delta = hostDeltaOfAlias(page, walker);
        if (delta != 1 && random.nextBoolean()) {
            long host = page + delta;
            if (host >= 0 && host < RAM) {
                return host;
            }
        }
        // In the first or the last 2 MiB of RAM, so that pages 16 MiB apart can keep one delta.
        return ((long) random.nextInt(512) << 12) + (random.nextBoolean() ? ALIAS : 0);
    }

    private static long shadowValue(byte[] shadow, long offset, int size) {
        long v = 0;
        for (int b = 0; b < size; b++) {
            v |= (shadow[(int) offset + b] & 0xFFL) << 8 * b;
        }
        return v;
    }

    /**
     * One vCPU stores to a page while another decodes code there for the first time, again and again: however the
     * two interleave, once the page is marked as code and the store is done, the storing vCPU's next store to it
     * must reach its code watcher (no write translation of it may outlive the mark).
     */
    @Test
    void aPageMarkedAsCodeDuringAnotherVcpusFillIsSeenByItsNextStore() throws Exception {
        long bytes = 1 << 20;
        MemorySegment ram = Arena.ofAuto().allocate(bytes, 4096);
        PageWalker identity = (gva, access) -> gva & ~0xFFFL;
        CodePages codePages = new CodePages(bytes);
        Mmu storing = new Mmu(ram, identity, codePages);
        Mmu decoding = new Mmu(ram, identity, codePages);
        int[] seen = {0};
        storing.setCodeWatcher(hostPage -> seen[0]++);
        java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
        int rounds = 50_000;
        Thread decoder = Thread.ofPlatform().start(() -> {
            try {
                for (int round = 0; round < rounds; round++) {
                    together.await();
                    decoding.codePage(0x1000);
                    together.await();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        int missed = 0, raced = 0;
        for (int round = 0; round < rounds; round++) {
            storing.flushPage(0x1000); // the store below fills the entry again
            together.await();
            int before = seen[0];
            storing.write8(0x1000, round);
            together.await();
            if (seen[0] == before && codePages.isCode(0x1000)) {
                raced++; // the store did not see the mark: the next one must
                storing.write8(0x1001, round);
                if (seen[0] == before) {
                    missed++;
                }
            }
            codePages.written(0x1000); // not code, as at the start of the next round
        }
        decoder.join();
        assertThat(missed).as("stores that missed a code page, of %d after a store that did not see the mark", raced)
                .isZero();
    }
}
