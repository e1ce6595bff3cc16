package dev.hako.soft.translate;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.memory.DirtyPages;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.mmu.Mmu;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The soft CPU's stores reach the dirty log in every round of a migration: random stores through the MMU's
 * accessors, and a guest loop of stores and REP STOSQ run interpreted and translated, again and again over the same
 * pages. Between rounds the log is harvested and the vCPU, as at its next entry to guest code, forgets its write
 * translations when the epoch moved: stores through translations filled in an earlier round must still show.
 */
class DirtyLogTest {
    private static final int RAM = 1 << 20;
    private static final long CODE = 0x1000, DATA = 0x10000;

    /** The vCPU's side of a round, as {@code SoftVirtualCpu.run} does it on entry. */
    private static final class Vcpu implements DirtyPages.CachingWriter {
        final Mmu mmu;
        final DirtyPages log;
        long caughtUpEpoch;

        Vcpu(Mmu mmu, DirtyPages log) {
            this.mmu = mmu;
            this.log = log;
            mmu.setDirtyLog(log);
            log.register(this);
        }

        void enterGuest() {
            if (log.epoch() != caughtUpEpoch) {
                mmu.forgetWriteTranslations();
                caughtUpEpoch = log.epoch();
            }
        }

        @Override
        public boolean caughtUp(long epoch) {
            return caughtUpEpoch >= epoch;
        }

        @Override
        public void kick() {
            enterGuest();  // single-threaded here: the "vCPU" leaves guest code and enters again at once
        }
    }

    /** A vCPU over {@code ramBytes} of RAM, its stores logged by a dirty log started and harvested once. */
    private static Vcpu loggedVcpu(int ramBytes) throws InterruptedException {
        MemorySegment ram = Arena.ofAuto().allocate(ramBytes, 4096);
        DirtyPages log = new DirtyPages(ramBytes);
        Vcpu vcpu = new Vcpu(new Mmu(ram, new FlatWalker(ramBytes)), log);
        log.start();
        log.harvest(new long[log.words()]);
        return vcpu;
    }

    /** Harvests the round's dirty pages: every page of {@code expected} must be among them. */
    private static void assertHarvested(DirtyPages log, BitSet expected, int round) throws InterruptedException {
        long[] taken = new long[log.words()];
        log.harvest(taken);
        BitSet missed = (BitSet) expected.clone();
        missed.andNot(BitSet.valueOf(taken));
        assertThat(missed.toString()).as("pages stored to in round %d but not in its harvest", round).isEqualTo("{}");
    }

    @Test
    void randomStoresThroughTheMmuShowInEachRound() throws Exception {
        Vcpu vcpu = loggedVcpu(RAM);
        Mmu mmu = vcpu.mmu;
        MemorySegment ram = mmu.ram();
        Random random = new Random(7);
        for (int round = 0; round < 200; round++) {
            vcpu.enterGuest();
            BitSet expected = new BitSet();
            for (int n = 0; n < 1 + random.nextInt(30); n++) {
                int size = 1 << random.nextInt(4);
                // few distinct pages, so most stores go through translations filled in earlier rounds
                long gva = random.nextInt(16) * 0x1000L + (random.nextInt(8) == 0 ? 0xFFC  // some cross a page
                        : random.nextInt(0x1000 - size + 1));
                switch (random.nextInt(4)) {
                    case 0 -> mmu.write(gva, size, random.nextLong());
                    case 1 -> mmu.compareAndExchange(gva, size, mmu.read(gva, size), random.nextLong());
                    case 2 -> mmu.writeBytes(gva, new byte[size], 0, size);
                    default -> {
                        long off = mmu.ramOffsetForWrite(gva);
                        long room = Math.min(size, 0x1000 - (gva & 0xFFF));
                        ram.asSlice(off, room).fill((byte) 1);
                        size = (int) room;
                    }
                }
                expected.set((int) (gva >>> 12), (int) ((gva + size - 1) >>> 12) + 1);
            }
            assertHarvested(vcpu.log, expected, round);
        }
    }

    /**
     * Stores to pages that share TLB entries (16 MiB apart) with pages only read, fetched from, or stored to in the
     * other privilege's TLB: an entry keeps the tags of other kinds of access when a fill leaves its delta as it was
     * (always, under this identity mapping), and none of them may keep a store from the log in a later round.
     */
    @Test
    void storesShowInEachRoundWhateverSharesTheirTlbEntries() throws Exception {
        long alias = 16L << 20;
        Vcpu vcpu = loggedVcpu((int) alias + (1 << 20));
        Mmu mmu = vcpu.mmu;
        Random random = new Random(9);
        int stores = 0;
        for (int round = 0; round < 300; round++) {
            vcpu.enterGuest();
            BitSet expected = new BitSet();
            for (int n = 0; n < 1 + random.nextInt(40); n++) {
                long gva = random.nextInt(4) * 0x1000L + (random.nextBoolean() ? alias : 0) + random.nextInt(0xFF8);
                switch (random.nextInt(5)) {
                    case 0 -> mmu.read(gva, 8);
                    case 1 -> mmu.fetch8(gva);
                    case 2 -> mmu.setUserMode(random.nextBoolean());
                    default -> {
                        mmu.write(gva, 1 << random.nextInt(4), random.nextLong());
                        expected.set((int) (gva >>> 12));
                        stores++;
                    }
                }
            }
            assertHarvested(vcpu.log, expected, round);
        }
        assertThat(stores).isGreaterThan(500);
    }

    /**
     * l: mov [rbx], rax; add rbx, rdx; dec r15; jnz l; rep stosq; syscall: a store a page for R15 pages from RBX
     * with stride RDX, then RCX quadwords from RDI.
     */
    private static final byte[] LOOP = HexFormat.of().parseHex("488903" + "4801D3" + "49FFCF" + "75F5" + "F348AB"
            + "0F05");

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void aGuestLoopsStoresShowInEachRound(boolean translate) throws Exception {
        Vcpu vcpu = loggedVcpu(RAM);
        MemorySegment.copy(LOOP, 0, vcpu.mmu.ram(), ValueLayout.JAVA_BYTE, CODE, LOOP.length);
        Cpu cpu = new Cpu(vcpu.mmu);
        BlockBuilder translator = new BlockBuilder(translate, 1);
        cpu.setCpl(0);
        Random random = new Random(translate ? 3 : 4);
        for (int round = 0; round < 60; round++) {
            long pages = 1 + random.nextInt(20);
            long start = DATA + random.nextInt(8) * 0x1000L + random.nextInt(0x200) * 8;
            long stride = 0x1000L * (1 + random.nextInt(3));
            long stosAt = DATA + random.nextInt(100) * 0x1000L + random.nextInt(0x200) * 8;
            long quads = random.nextInt(1500);
            cpu.r[Cpu.RBX] = start;
            cpu.r[Cpu.RDX] = stride;
            cpu.r[15] = pages;
            cpu.r[Cpu.RDI] = stosAt;
            cpu.r[Cpu.RCX] = quads;
            cpu.r[Cpu.RAX] = round + 1;
            cpu.rip = CODE;
            vcpu.enterGuest();
            Interpreter interpreter = new Interpreter(cpu, (c, f, in) -> in.stop(), translator);
            cpu.syscallHandler = c -> interpreter.stop();
            interpreter.run();
            assertThat(cpu.r[15]).as("the loop ran to its end").isZero();
            assertThat(cpu.r[Cpu.RDI]).as("REP STOSQ ran to its end").isEqualTo(stosAt + 8 * quads);
            BitSet expected = new BitSet();
            for (long k = 0; k < pages; k++) {
                expected.set((int) ((start + k * stride) >>> 12));
            }
            if (quads > 0) {
                expected.set((int) (stosAt >>> 12), (int) ((stosAt + 8 * quads - 1) >>> 12) + 1);
            }
            assertHarvested(vcpu.log, expected, round);
        }
        if (translate) {
            assertThat(translator.translated()).as("the loop was translated").isPositive();
        }
    }
}
