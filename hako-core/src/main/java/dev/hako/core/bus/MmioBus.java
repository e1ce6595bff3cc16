package dev.hako.core.bus;

/**
 * Guest-physical MMIO ranges, kept sorted by start address and searched by bisection after a check of the
 * range that served the previous access (MMIO traffic is bursty: a driver pokes one device many times).
 * Registration publishes a fresh immutable table, so lookups never lock. Unmapped reads return all ones,
 * unmapped writes are dropped.
 */
public final class MmioBus {
    /** One immutable generation of the range table; {@code lastHit} is a benign-race hint. */
    private static final class Table {
        final long[] starts;
        final long[] ends; // exclusive
        final MmioDevice[] devices;
        int lastHit;

        Table(long[] starts, long[] ends, MmioDevice[] devices) {
            this.starts = starts;
            this.ends = ends;
            this.devices = devices;
        }

        int find(long gpa) {
            int hint = lastHit;
            if (hint < starts.length && gpa >= starts[hint] && Long.compareUnsigned(gpa, ends[hint]) < 0) {
                return hint;
            }
            int lo = 0;
            int hi = starts.length - 1;
            while (lo <= hi) {
                int mid = (lo + hi) >>> 1;
                if (Long.compareUnsigned(gpa, starts[mid]) < 0) {
                    hi = mid - 1;
                } else if (Long.compareUnsigned(gpa, ends[mid]) >= 0) {
                    lo = mid + 1;
                } else {
                    lastHit = mid;
                    return mid;
                }
            }
            return -1;
        }
    }

    private volatile Table table = new Table(new long[0], new long[0], new MmioDevice[0]);

    /** Maps {@code [gpa, gpa+size)} to {@code device}; overlapping an existing range is an error. */
    public synchronized void register(long gpa, long size, MmioDevice device) {
        if (size <= 0 || Long.compareUnsigned(gpa + size, gpa) <= 0) {
            throw new IllegalArgumentException(String.format("bad MMIO range %#x+%#x", gpa, size));
        }
        insert(gpa, size, device, true);
    }

    /**
     * Maps {@code [gpa, gpa+size)} to {@code device} unless the range wraps or overlaps another: what a guest
     * that moves a PCI BAR gets, where a bad address is the guest's business and leaves the BAR unmapped.
     */
    public synchronized boolean tryRegister(long gpa, long size, MmioDevice device) {
        if (size <= 0 || Long.compareUnsigned(gpa + size, gpa) <= 0) {
            return false;
        }
        return insert(gpa, size, device, false);
    }

    private boolean insert(long gpa, long size, MmioDevice device, boolean overlapIsError) {
        Table t = table;
        long end = gpa + size;
        int at = 0;
        while (at < t.starts.length && Long.compareUnsigned(t.starts[at], gpa) < 0) {
            at++;
        }
        boolean overlapsPrevious = at > 0 && Long.compareUnsigned(t.ends[at - 1], gpa) > 0;
        boolean overlapsNext = at < t.starts.length && Long.compareUnsigned(t.starts[at], end) < 0;
        if ((overlapsPrevious || overlapsNext) && !overlapIsError) {
            return false;
        }
        if (overlapsPrevious || overlapsNext) {
            int other = overlapsPrevious ? at - 1 : at;
            throw new IllegalStateException(String.format("MMIO range %#x+%#x for %s overlaps %#x-%#x of %s",
                    gpa, size, device, t.starts[other], t.ends[other], t.devices[other]));
        }
        int n = t.starts.length;
        long[] starts = new long[n + 1];
        long[] ends = new long[n + 1];
        MmioDevice[] devices = new MmioDevice[n + 1];
        System.arraycopy(t.starts, 0, starts, 0, at);
        System.arraycopy(t.ends, 0, ends, 0, at);
        System.arraycopy(t.devices, 0, devices, 0, at);
        starts[at] = gpa;
        ends[at] = end;
        devices[at] = device;
        System.arraycopy(t.starts, at, starts, at + 1, n - at);
        System.arraycopy(t.ends, at, ends, at + 1, n - at);
        System.arraycopy(t.devices, at, devices, at + 1, n - at);
        table = new Table(starts, ends, devices);
        return true;
    }

    /** Removes the range starting exactly at {@code gpa}; returns false when there is none. */
    public synchronized boolean unregister(long gpa) {
        Table t = table;
        int at = 0;
        while (at < t.starts.length && t.starts[at] != gpa) {
            at++;
        }
        if (at == t.starts.length) {
            return false;
        }
        int n = t.starts.length;
        long[] starts = new long[n - 1];
        long[] ends = new long[n - 1];
        MmioDevice[] devices = new MmioDevice[n - 1];
        System.arraycopy(t.starts, 0, starts, 0, at);
        System.arraycopy(t.ends, 0, ends, 0, at);
        System.arraycopy(t.devices, 0, devices, 0, at);
        System.arraycopy(t.starts, at + 1, starts, at, n - at - 1);
        System.arraycopy(t.ends, at + 1, ends, at, n - at - 1);
        System.arraycopy(t.devices, at + 1, devices, at, n - at - 1);
        table = new Table(starts, ends, devices);
        return true;
    }

    /** True when some device claims {@code gpa} (the MMU keeps such pages out of its TLB). */
    public boolean isMapped(long gpa) {
        return table.find(gpa) >= 0;
    }

    public long read(int vcpu, long gpa, int size) {
        Table t = table;
        int i = t.find(gpa);
        if (i < 0) {
            return BusAccess.allOnes(size);
        }
        return t.devices[i].read(vcpu, gpa - t.starts[i], size);
    }

    public void write(int vcpu, long gpa, int size, long value) {
        Table t = table;
        int i = t.find(gpa);
        if (i >= 0) {
            t.devices[i].write(vcpu, gpa - t.starts[i], size, value);
        }
    }
}
