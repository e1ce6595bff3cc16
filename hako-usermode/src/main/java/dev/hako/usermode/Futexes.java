package dev.hako.usermode;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The futex wait queues of a run, keyed by address space and guest address (a private and a shared futex
 * are the same here: processes never share memory except through CLONE_VM, which shares the space). The
 * value check and the enqueue happen under the table's lock that wakers take too, so no wake is lost.
 */
final class Futexes {
    private record Key(AddressSpace space, long address) {}

    /** A sleeping thread; {@code woken} is set by the waker under the lock. */
    static final class Waiter {
        final GuestThread thread;
        final int bitset;
        Key key;
        volatile boolean woken;

        Waiter(GuestThread thread, int bitset) {
            this.thread = thread;
            this.bitset = bitset;
        }
    }

    private final Map<Key, List<Waiter>> queues = new HashMap<>();

    /** Queues {@code w} if the 32-bit value at {@code address} is still {@code expected}; false if not. */
    synchronized boolean enqueue(AddressSpace space, long address, int expected, Waiter w) {
        if (space.readInt(address) != expected) {
            return false;
        }
        w.key = new Key(space, address);
        queues.computeIfAbsent(w.key, k -> new ArrayList<>()).add(w);
        return true;
    }

    /** Takes {@code w} off its queue (timeout or signal); true if it had been woken meanwhile. */
    synchronized boolean dequeue(Waiter w) {
        List<Waiter> q = queues.get(w.key);
        if (q != null && q.remove(w) && q.isEmpty()) {
            queues.remove(w.key);
        }
        return w.woken;
    }

    /** Wakes up to {@code count} waiters on the address whose bitset meets {@code bitset}; returns how many. */
    synchronized int wake(AddressSpace space, long address, int count, int bitset) {
        List<Waiter> q = queues.get(new Key(space, address));
        int n = 0;
        if (q != null) {
            for (int i = 0; i < q.size() && n < count; ) {
                Waiter w = q.get(i);
                if ((w.bitset & bitset) != 0) {
                    q.remove(i);
                    w.woken = true;
                    w.thread.wake();
                    n++;
                } else {
                    i++;
                }
            }
            if (q.isEmpty()) {
                queues.remove(new Key(space, address));
            }
        }
        return n;
    }

    /**
     * FUTEX_CMP_REQUEUE: if the value at {@code address} is {@code expected} (or the check is off), wakes
     * {@code wakeCount} and moves up to {@code moveCount} more to {@code target}; -EAGAIN on a changed value.
     */
    synchronized long requeue(AddressSpace space, long address, long target, int wakeCount, int moveCount,
            boolean check, int expected) {
        if (check && space.readInt(address) != expected) {
            return -Errno.EAGAIN;
        }
        int woken = wake(space, address, wakeCount, -1);
        List<Waiter> q = queues.get(new Key(space, address));
        int moved = 0;
        if (q != null) {
            Key to = new Key(space, target);
            while (!q.isEmpty() && moved < moveCount) {
                Waiter w = q.remove(0);
                w.key = to;
                queues.computeIfAbsent(to, k -> new ArrayList<>()).add(w);
                moved++;
            }
            if (q.isEmpty()) {
                queues.remove(new Key(space, address));
            }
        }
        return woken + moved;
    }
}
