package dev.hako.soft.exec;

/**
 * A decoded block compiled to JVM code. {@link #run} does what running the block's instructions one by one
 * does: it commits registers, memory and (lazy) flags, sets RIP, counts retired instructions, stops after an
 * instruction that sets {@link Cpu#exitBlock}, and on a guest fault sets RIP to the faulting instruction
 * with everything before it committed, then rethrows.
 *
 * <p>An abstract class rather than an interface: the run loop's call site sees hundreds of translations,
 * and a virtual call through the vtable is cheaper than an interface call through the itable.
 */
public abstract class BlockCode {
    protected BlockCode() {}

    public abstract void run(Cpu cpu);
}
