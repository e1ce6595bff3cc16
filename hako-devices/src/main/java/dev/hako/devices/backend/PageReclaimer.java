package dev.hako.devices.backend;

/**
 * Gives pages of guest RAM back to the host (the machine: madvise(MADV_DONTNEED) on the RAM mapping); a page reads
 * as zeros when the guest touches it again, and the host faults it back in then.
 */
@FunctionalInterface
public interface PageReclaimer {
    /** {@code length} bytes of guest RAM at {@code gpa}, both page-aligned and inside RAM. */
    void reclaim(long gpa, long length);
}
