package dev.hako.soft.mmu;

/**
 * Translates a guest linear address to a host offset in RAM on a TLB miss. The system CPU walks the guest's
 * page tables; the user-mode runner keeps its own map of the process's address space.
 */
public interface PageWalker {
    int READ = 0, WRITE = 1, EXECUTE = 2;
    /** Set in a translation that is not RAM: the rest is the guest-physical page address, for the MMIO bus. */
    long MMIO = Long.MIN_VALUE;

    /**
     * Host RAM offset of the 4 KiB page holding {@code gva} for an access of kind {@code access}, or
     * {@code MMIO | gpa} for a page outside RAM; throws a
     * (preallocated) {@link dev.hako.soft.fault.CpuFault} #PF when the access is refused.
     */
    long translate(long gva, int access);

    /** Whether the page of the last successful {@link #translate} is global (outlives CR3 writes). */
    default boolean lastTranslationGlobal() {
        return false;
    }
}
