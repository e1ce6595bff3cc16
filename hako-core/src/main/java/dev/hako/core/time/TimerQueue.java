package dev.hako.core.time;

import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One-shot guest-time deadlines with callbacks, for device timers (PIT, RTC, LAPIC timer, ACPI). A device
 * creates its {@link Timer}s once and re-arms them as the guest programs it, so arming never allocates. The
 * queue is a binary heap of armed timers ordered by deadline; whoever drives time (a timer thread, or a
 * vCPU about to halt) calls {@link #runDue()} and sleeps until {@link #nextDeadline()}.
 *
 * <p>Thread-safe. Callbacks run on the caller of {@code runDue}, outside the queue's lock, so they may
 * re-arm their own or other timers; a timer cancelled while its callback is already being run still runs.
 */
public final class TimerQueue {
    /** A re-armable one-shot timer. */
    public final class Timer {
        private final Runnable action;
        private long deadline;
        private int heapIndex = -1;

        private Timer(Runnable action) {
            this.action = action;
        }

        /** Fires at guest time {@code deadlineNanos} (replacing any earlier arming). */
        public void arm(long deadlineNanos) {
            TimerQueue.this.arm(this, deadlineNanos);
        }

        /** Fires {@code delayNanos} from now. */
        public void armAfter(long delayNanos) {
            arm(clock.nanos() + delayNanos);
        }

        public void cancel() {
            TimerQueue.this.cancel(this);
        }

        public boolean isArmed() {
            lock.lock();
            try {
                return heapIndex >= 0;
            } finally {
                lock.unlock();
            }
        }

        /** The deadline last armed (meaningful while armed). */
        public long deadline() {
            lock.lock();
            try {
                return deadline;
            } finally {
                lock.unlock();
            }
        }
    }

    private final VirtualClock clock;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition earlierDeadline = lock.newCondition();
    private Timer[] heap = new Timer[16];
    private int size;
    /** Told each deadline that becomes the earliest (a vCPU that keeps time itself caches it); none by default. */
    private LongConsumer earliestListener;

    public TimerQueue(VirtualClock clock) {
        this.clock = clock;
    }

    public VirtualClock clock() {
        return clock;
    }

    public Timer newTimer(Runnable action) {
        return new Timer(action);
    }

    /** Has {@code listener} told, under the queue's lock, each deadline armed before all others. */
    public void onEarliestDeadline(LongConsumer listener) {
        lock.lock();
        try {
            earliestListener = listener;
        } finally {
            lock.unlock();
        }
    }

    /** The earliest armed deadline, or {@link Long#MAX_VALUE} when nothing is armed. */
    public long nextDeadline() {
        lock.lock();
        try {
            return size == 0 ? Long.MAX_VALUE : heap[0].deadline;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Runs every timer whose deadline is at or before the current guest time; returns how many ran. Time is
     * read once, so a periodic timer re-arming itself in the past cannot keep this loop going forever.
     */
    public int runDue() {
        long now = clock.nanos();
        int ran = 0;
        while (true) {
            Timer due;
            lock.lock();
            try {
                if (size == 0 || heap[0].deadline > now) {
                    return ran;
                }
                due = heap[0];
                removeAt(0);
            } finally {
                lock.unlock();
            }
            due.action.run();
            ran++;
        }
    }

    /**
     * Sleeps until the next deadline (guest time running at host speed), until a timer is armed earlier, or
     * for at most {@code maxWaitNanos}, then runs what is due. The loop of a timer thread.
     */
    public int awaitAndRunDue(long maxWaitNanos) throws InterruptedException {
        lock.lock();
        try {
            long wait = Math.min(maxWaitNanos, size == 0 ? Long.MAX_VALUE : heap[0].deadline - clock.nanos());
            if (wait > 0) {
                earlierDeadline.await(wait, TimeUnit.NANOSECONDS);
            }
        } finally {
            lock.unlock();
        }
        return runDue();
    }

    /** Ends the timer thread's current {@link #awaitAndRunDue} wait now (its machine is pausing). */
    public void wakeTimerThread() {
        lock.lock();
        try {
            earlierDeadline.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void arm(Timer timer, long deadlineNanos) {
        lock.lock();
        try {
            if (timer.heapIndex >= 0) {
                removeAt(timer.heapIndex);
            }
            timer.deadline = deadlineNanos;
            if (size == heap.length) {
                heap = java.util.Arrays.copyOf(heap, size * 2);
            }
            heap[size] = timer;
            timer.heapIndex = size;
            size++;
            siftUp(timer.heapIndex);
            if (heap[0] == timer) {
                earlierDeadline.signalAll();
                if (earliestListener != null) {
                    earliestListener.accept(deadlineNanos);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void cancel(Timer timer) {
        lock.lock();
        try {
            if (timer.heapIndex >= 0) {
                removeAt(timer.heapIndex);
            }
        } finally {
            lock.unlock();
        }
    }

    private void removeAt(int index) {
        Timer removed = heap[index];
        removed.heapIndex = -1;
        size--;
        if (index == size) {
            heap[size] = null;
            return;
        }
        Timer last = heap[size];
        heap[size] = null;
        heap[index] = last;
        last.heapIndex = index;
        siftDown(index);
        siftUp(last.heapIndex);
    }

    private void siftUp(int index) {
        Timer t = heap[index];
        while (index > 0) {
            int parent = (index - 1) >>> 1;
            Timer p = heap[parent];
            if (p.deadline <= t.deadline) {
                break;
            }
            heap[index] = p;
            p.heapIndex = index;
            index = parent;
        }
        heap[index] = t;
        t.heapIndex = index;
    }

    private void siftDown(int index) {
        Timer t = heap[index];
        while (true) {
            int child = 2 * index + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1].deadline < heap[child].deadline) {
                child++;
            }
            if (heap[child].deadline >= t.deadline) {
                break;
            }
            heap[index] = heap[child];
            heap[index].heapIndex = index;
            index = child;
        }
        heap[index] = t;
        t.heapIndex = index;
    }
}
