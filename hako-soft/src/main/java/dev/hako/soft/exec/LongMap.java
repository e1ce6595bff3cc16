package dev.hako.soft.exec;

import java.util.Arrays;

/**
 * A map from {@code long} keys to objects, for the lookups the execution loop makes per block: open addressing
 * with linear probing and backward-shift deletion, so a get, put or remove allocates nothing (a
 * {@code HashMap<Long, V>} boxes its key on each call) and there are no tombstones to sweep. Not thread-safe.
 */
final class LongMap<V> {
    private static final int MIN_CAPACITY = 16;

    private long[] keys;
    private Object[] values;
    private int size;
    private int mask;

    LongMap() {
        allocate(MIN_CAPACITY);
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        values = new Object[capacity];
        mask = capacity - 1;
    }

    private static int mix(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }

    int size() {
        return size;
    }

    @SuppressWarnings("unchecked")
    V get(long key) {
        for (int i = mix(key) & mask; ; i = (i + 1) & mask) {
            Object v = values[i];
            if (v == null) {
                return null;
            }
            if (keys[i] == key) {
                return (V) v;
            }
        }
    }

    /** Maps {@code key} to {@code value} (not null); returns the previous value or null. */
    @SuppressWarnings("unchecked")
    V put(long key, V value) {
        if (value == null) {
            throw new IllegalArgumentException("null value");
        }
        int i = mix(key) & mask;
        for (; values[i] != null; i = (i + 1) & mask) {
            if (keys[i] == key) {
                V old = (V) values[i];
                values[i] = value;
                return old;
            }
        }
        keys[i] = key;
        values[i] = value;
        if (++size > (mask + 1) * 3 / 4) {
            rehash((mask + 1) * 2);
        }
        return null;
    }

    /** Removes {@code key}; returns its value or null. */
    @SuppressWarnings("unchecked")
    V remove(long key) {
        int i = mix(key) & mask;
        for (; values[i] != null; i = (i + 1) & mask) {
            if (keys[i] == key) {
                V old = (V) values[i];
                shiftBack(i);
                size--;
                return old;
            }
        }
        return null;
    }

    /** Empties slot {@code hole}, moving later entries of its probe run back so every lookup still finds them. */
    private void shiftBack(int hole) {
        for (int i = (hole + 1) & mask; values[i] != null; i = (i + 1) & mask) {
            int home = mix(keys[i]) & mask;
            // The entry at i may fill the hole unless its home lies cyclically in (hole, i].
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                keys[hole] = keys[i];
                values[hole] = values[i];
                hole = i;
            }
        }
        values[hole] = null;
    }

    private void rehash(int capacity) {
        long[] oldKeys = keys;
        Object[] oldValues = values;
        allocate(capacity);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != null) {
                int j = mix(oldKeys[i]) & mask;
                while (values[j] != null) {
                    j = (j + 1) & mask;
                }
                keys[j] = oldKeys[i];
                values[j] = oldValues[i];
            }
        }
    }

    void clear() {
        Arrays.fill(values, null);
        size = 0;
    }

    /** Removes the entries whose value {@code drop} accepts (it may change the value it is shown). */
    @SuppressWarnings("unchecked")
    void removeIf(java.util.function.Predicate<V> drop) {
        long[] doomed = new long[16];
        int n = 0;
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null && drop.test((V) values[i])) {
                if (n == doomed.length) {
                    doomed = Arrays.copyOf(doomed, n * 2);
                }
                doomed[n++] = keys[i];
            }
        }
        for (int i = 0; i < n; i++) { // afterwards: backward-shift deletion moves entries about
            remove(doomed[i]);
        }
    }
}
