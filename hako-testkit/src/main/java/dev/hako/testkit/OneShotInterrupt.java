package dev.hako.testkit;

import dev.hako.core.accel.LocalInterrupts;

/** A local interrupt controller that offers one vector until the CPU acknowledges it, then nothing. */
public final class OneShotInterrupt implements LocalInterrupts {
    private final int vector;
    private volatile boolean armed = true;

    public OneShotInterrupt(int vector) {
        this.vector = vector;
    }

    @Override
    public int pendingVector() {
        return armed ? vector : -1;
    }

    @Override
    public int acknowledge() {
        armed = false;
        return vector;
    }
}
