package dev.hako.devices.virtio;

import dev.hako.devices.backend.EntropySource;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

/** Reproducible "entropy" for device tests: a seeded generator's bytes, written without allocating. */
public final class PseudoEntropy implements EntropySource {
    private final SplittableRandom random;
    public long bytes;

    public PseudoEntropy(long seed) {
        random = new SplittableRandom(seed);
    }

    @Override
    public synchronized void fill(MemorySegment target, long offset, long length) {
        for (long i = 0; i < length; i++) {
            target.set(ValueLayout.JAVA_BYTE, offset + i, (byte) random.nextInt());
        }
        bytes += length;
    }
}
