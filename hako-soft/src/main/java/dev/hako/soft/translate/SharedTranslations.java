package dev.hako.soft.translate;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.BlockCode;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Translations shared by every vCPU of every VM in this JVM. A translated trace is a pure function of its
 * instructions' bytes, their addresses and the decoding mode (the decoder reads nothing else, and a trace's
 * class holds no state: it works on the {@code Cpu} it is given), so two vCPUs that run the same kernel or
 * program at the same addresses can run one class. A server of many VMs booting one kernel then defines,
 * profiles and compiles each hot trace once instead of once per VM: the JIT's work, metaspace and code cache
 * stop growing with the number of VMs.
 *
 * <p>Each vCPU still decides for itself when a trace is translated, and drops its blocks when their code is
 * written: sharing changes what a translation costs, never when one is used. Entries hold their translation
 * weakly, so a trace no vCPU's block cache refers to any more is unloaded as before.
 */
final class SharedTranslations {
    private static final ConcurrentHashMap<Key, Entry> BY_CODE = new ConcurrentHashMap<>();
    private static final ReferenceQueue<BlockCode> COLLECTED = new ReferenceQueue<>();

    private SharedTranslations() {}

    /**
     * What identifies a translation: the instructions' addresses and lengths, their bytes, the mode, and whether
     * it checks instruction deadlines.
     */
    record Key(long[] addresses, byte[] bytes, int mode, boolean deadlines, int hash) {
        static Key of(Insn[] insns, byte[] bytes, int mode, boolean deadlines) {
            long[] addresses = new long[insns.length * 2];
            for (int k = 0; k < insns.length; k++) {
                addresses[2 * k] = insns[k].addr;
                addresses[2 * k + 1] = insns[k].next;
            }
            int hash = ((Arrays.hashCode(addresses) * 31 + Arrays.hashCode(bytes)) * 31 + mode) * 2 + (deadlines ? 1 : 0);
            return new Key(addresses, bytes, mode, deadlines, hash);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && hash == k.hash && mode == k.mode && deadlines == k.deadlines
                    && Arrays.equals(addresses, k.addresses) && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static final class Entry extends WeakReference<BlockCode> {
        final Key key;

        Entry(BlockCode code, Key key) {
            super(code, COLLECTED);
            this.key = key;
        }
    }

    /** The translation made for {@code key} that is still in use somewhere, or null. */
    static BlockCode find(Key key) {
        Entry e = BY_CODE.get(key);
        return e == null ? null : e.get();
    }

    /** Offers {@code code} for {@code key}; returns the translation to use (another vCPU's, if it came first). */
    static BlockCode share(Key key, BlockCode code) {
        dropCollected();
        while (true) {
            Entry existing = BY_CODE.putIfAbsent(key, new Entry(code, key));
            if (existing == null) {
                return code;
            }
            BlockCode other = existing.get();
            if (other != null) {
                return other;
            }
            BY_CODE.remove(key, existing); // its class is gone: take the slot
        }
    }

    /** Translations shared now (for tests). */
    static int size() {
        dropCollected();
        return BY_CODE.size();
    }

    private static void dropCollected() {
        for (Object r; (r = COLLECTED.poll()) != null; ) {
            Entry e = (Entry) r;
            BY_CODE.remove(e.key, e);
        }
    }
}
