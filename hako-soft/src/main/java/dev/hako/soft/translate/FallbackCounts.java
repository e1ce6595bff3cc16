package dev.hako.soft.translate;

import dev.hako.soft.decode.Insn;
import dev.hako.soft.decode.OpSpec;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Dynamic counts of the instructions translated code runs through their interpreter handlers, per mnemonic
 * and encoding ({@code -Dhako.translate.fallbackCounts=true}; printed to stderr at exit). The switch is read
 * when a trace is emitted: with it off, no counting code is emitted at all. It tells which instructions an
 * inline form would pay off for, where {@code hako.translate.report} only lists what was translated.
 */
final class FallbackCounts {
    static final boolean ENABLED = Boolean.getBoolean("hako.translate.fallbackCounts");
    private static final int SHOWN = 40;
    private static final Map<String, LongAdder> COUNTS = new ConcurrentHashMap<>();

    static {
        if (ENABLED) {
            Runtime.getRuntime().addShutdownHook(new Thread(FallbackCounts::print, "fallback-counts"));
        }
    }

    private FallbackCounts() {}

    /** The counter of the form {@code i} has (translated code increments it each time it runs). */
    static LongAdder counter(Insn i) {
        boolean modrm = i.spec.has(OpSpec.MODRM);
        String form = i.spec.mnemonic + (i.lock ? " lock" : "") + " map" + i.map + ":" + Integer.toHexString(i.opcode)
                + (modrm ? "/" + ((i.modrm >> 3) & 7) : "") + " o" + i.opSize
                + (modrm ? i.rmIsReg ? " reg" : " mem" : "") + (i.rep != 0 ? " rep" + Integer.toHexString(i.rep) : "");
        return COUNTS.computeIfAbsent(form, k -> new LongAdder());
    }

    private static void print() {
        long total = COUNTS.values().stream().mapToLong(LongAdder::sum).sum();
        System.err.printf("translated fallbacks: %,d executions of %d forms%n", total, COUNTS.size());
        COUNTS.entrySet().stream()
                .sorted(Comparator.comparingLong((Map.Entry<String, LongAdder> e) -> e.getValue().sum()).reversed())
                .limit(SHOWN)
                .forEach(e -> System.err.printf("  %,15d  %s%n", e.getValue().sum(), e.getKey()));
    }
}
