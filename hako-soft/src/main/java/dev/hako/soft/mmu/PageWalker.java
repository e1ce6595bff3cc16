package dev.hako.soft.mmu;

/**
 * Translates a guest linear address to a host offset in RAM on a TLB miss. The system CPU walks the guest's
 * page tables; the user-mode runner keeps its own map of the process's address space.
 */
public interface PageWalker {
    int READ = 0, WRITE = 1, EXECUTE = 2;

    /**
     * Host RAM offset of the 4 KiB page holding {@code gva} for an access of kind {@code access}; throws a
     * (preallocated) {@link dev.hako.soft.fault.CpuFault} #PF when the access is refused.
     */
    long translate(long gva, int access);
}
