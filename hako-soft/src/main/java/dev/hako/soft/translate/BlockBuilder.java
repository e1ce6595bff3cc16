package dev.hako.soft.translate;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.BlockCode;
import dev.hako.soft.exec.Cpu;
import java.util.ArrayList;
import java.util.List;

/**
 * When and what to translate. A block is translated, together with the blocks it runs into on its page (a
 * trace, see the block cache), once it has run {@code hako.translate.threshold} times interpreted (default
 * {@value #DEFAULT_THRESHOLD}). Only 64-bit code is translated. A trace whose method would be too big for
 * HotSpot to compile (HugeMethodLimit, 8000 bytes) is translated in part: the rest starts a block of its own.
 *
 * <p>System properties: {@code hako.translate=false} turns translation off; {@code hako.translate.threshold=1}
 * translates everything at once, and then also single-stepped instructions, so a test suite run with it (for
 * example under {@code JAVA_TOOL_OPTIONS=-Dhako.translate.threshold=1}) tests the translator;
 * {@code hako.translate.trace=1} keeps translations to single blocks; {@code hako.translate.fallback=add,mov}
 * keeps the named instructions on their interpreter handlers and {@code hako.translate.report=true} lists
 * every instruction that falls back (both for bisecting).
 */
public final class BlockBuilder {
    static final int DEFAULT_THRESHOLD = 2000;
    private static final int MAX_BACKOFF = 4;
    /** Most instructions in one translated trace ({@code hako.translate.trace}; 1 keeps to single blocks). */
    public static final int MAX_TRACE = Integer.getInteger("hako.translate.trace", 128);
    /** Bytecode size above which HotSpot leaves a method interpreted; stay well under it. */
    private static final int MAX_CODE_LENGTH = 7000;

    private final boolean enabled;
    private final int threshold;
    /** Traces that loop back also leave at {@link Cpu#instructionDeadline} (deterministic execution). */
    private final boolean deadlines;
    private final CodeCache cache = new CodeCache();
    private long reused;

    public BlockBuilder(boolean enabled, int threshold) {
        this(enabled, threshold, false);
    }

    private BlockBuilder(boolean enabled, int threshold, boolean deadlines) {
        this.enabled = enabled && threshold > 0;
        this.threshold = Math.max(threshold, 1);
        this.deadlines = deadlines;
    }

    /**
     * This policy for a vCPU that keeps guest time in retired instructions: its traces also compare the retired
     * count with {@link Cpu#instructionDeadline} each time they loop back, so a timer is taken at the same
     * instruction whether or not anything else asked for the vCPU's attention. Traces of other vCPUs are
     * unchanged.
     */
    public BlockBuilder checkingDeadlines() {
        return new BlockBuilder(enabled, threshold, true);
    }

    public static BlockBuilder fromSystemProperties() {
        boolean enabled = !"false".equalsIgnoreCase(System.getProperty("hako.translate", "true"));
        return new BlockBuilder(enabled, Integer.getInteger("hako.translate.threshold", DEFAULT_THRESHOLD));
    }

    /** Interpreted runs after which a block is translated. */
    public int threshold() {
        return enabled ? threshold : 0;
    }

    /**
     * Interpreted runs after which a block is translated, when stores to its page have already thrown away
     * {@code discarded} translations of code on it: the threshold, doubled per discarded translation up to
     * {@value #MAX_BACKOFF} times. A page that a JIT or a self-modifying program rewrote under its translations will
     * likely be rewritten again, and each translation thrown away costs the JVM a compile. Stores before any
     * translation do not count: Linux patches its text (alternatives, static keys, static calls) on the same pages
     * many times while it boots, and that code then runs unchanged for the system's life.
     */
    public int thresholdFor(int discarded) {
        if (!enabled) {
            return 0;
        }
        return threshold == 1 ? 1 : threshold << Math.min(discarded, MAX_BACKOFF);
    }

    /** The translation of a block decoded in {@code mode}, or null where it is not translated. */
    public BlockCode build(Insn[] insns, int mode) {
        return build(insns, mode, null);
    }

    /**
     * As {@link #build(Insn[], int)}, for instructions decoded from {@code bytes}: a translation another vCPU
     * already made of the same bytes at the same addresses is used again (see {@link SharedTranslations}).
     * Null bytes: not shared.
     */
    public BlockCode build(Insn[] insns, int mode, byte[] bytes) {
        if (!enabled || mode != Cpu.MODE_64) {
            return null;
        }
        if (bytes == null) {
            return translate(insns);
        }
        SharedTranslations.Key key = SharedTranslations.Key.of(insns, bytes, mode, deadlines);
        BlockCode shared = SharedTranslations.find(key);
        if (shared != null) {
            reused++;
            return shared;
        }
        return SharedTranslations.share(key, translate(insns));
    }

    private BlockCode translate(Insn[] insns) {
        int count = insns.length;
        while (true) {
            List<Object> classData = new ArrayList<>();
            byte[] classFile = ClassEmitter.emit(insns, count, classData, deadlines);
            if (ClassEmitter.runCodeLength(classFile) <= MAX_CODE_LENGTH || count == 1) {
                return cache.define(classFile, classData);
            }
            count = (count + 1) / 2;
        }
    }

    /** Traces this builder found already translated by another vCPU (of this VM or another). */
    public long reused() {
        return reused;
    }

    /** Traces given translated code so far: translated here, or {@link #reused}. */
    public long translated() {
        return cache.defined() + reused;
    }
}
