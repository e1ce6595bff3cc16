package dev.hako.soft.translate;

import dev.hako.soft.exec.BlockCode;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;

/**
 * Turns emitted class files into running {@link BlockCode}: each block becomes a hidden class in this
 * package, its instructions and handlers handed over as class data (constants to the JIT). Hidden classes
 * are not strongly linked to their loader, so a block dropped from the block cache takes its code with it.
 */
final class CodeCache {
    private static final MethodHandles.Lookup LOOKUP = MethodHandles.lookup();
    private static final MethodType NO_ARGS = MethodType.methodType(void.class);

    private long defined;

    BlockCode define(byte[] classFile, List<Object> classData) {
        try {
            MethodHandles.Lookup hidden = LOOKUP.defineHiddenClassWithClassData(classFile, classData, true);
            defined++;
            return (BlockCode) hidden.findConstructor(hidden.lookupClass(), NO_ARGS).invoke();
        } catch (Throwable e) {
            throw new IllegalStateException("translated block does not load", e);
        }
    }

    /** How many blocks were translated. */
    long defined() {
        return defined;
    }
}
