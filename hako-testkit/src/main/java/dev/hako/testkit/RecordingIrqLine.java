package dev.hako.testkit;

import dev.hako.core.irq.IrqLine;

/** An {@link IrqLine} that remembers its level and counts rising edges. */
public final class RecordingIrqLine implements IrqLine {
    private boolean level;
    private int risingEdges;

    @Override
    public synchronized void set(boolean newLevel) {
        if (newLevel && !level) {
            risingEdges++;
        }
        level = newLevel;
    }

    public synchronized boolean level() {
        return level;
    }

    public synchronized int risingEdges() {
        return risingEdges;
    }

    /** Returns the rising edges seen so far and starts counting again from zero. */
    public synchronized int takeRisingEdges() {
        int n = risingEdges;
        risingEdges = 0;
        return n;
    }
}
