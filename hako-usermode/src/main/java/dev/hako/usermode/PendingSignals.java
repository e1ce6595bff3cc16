package dev.hako.usermode;

/**
 * Signals sent and not yet delivered, for a thread or a whole process: a bit per signal (1..64) and what the
 * sender said (its siginfo). A standard signal sent again while pending is merged, as Linux does; real-time
 * signals queue in Linux but are merged here too.
 */
final class PendingSignals {
    private volatile long mask;
    private final SignalInfo[] info = new SignalInfo[65];

    long mask() {
        return mask;
    }

    synchronized void add(int sig, SignalInfo what) {
        long bit = 1L << (sig - 1);
        if ((mask & bit) == 0) {
            info[sig] = what;
            mask |= bit;
        }
    }

    /** Takes the signal to deliver among {@code allowed}: synchronous faults first, then the lowest; null if none. */
    synchronized SignalInfo take(long allowed) {
        long ready = mask & allowed;
        if (ready == 0) {
            return null;
        }
        long sync = ready & SignalInfo.SYNCHRONOUS;
        long bit = Long.lowestOneBit(sync != 0 ? sync : ready);
        int sig = Long.numberOfTrailingZeros(bit) + 1;
        mask &= ~bit;
        SignalInfo what = info[sig];
        info[sig] = null;
        return what;
    }

    /** Forgets {@code sig} if pending (its disposition became ignore). */
    synchronized void discard(int sig) {
        mask &= ~(1L << (sig - 1));
        info[sig] = null;
    }
}
