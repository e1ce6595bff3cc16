package dev.hako.soft.translate;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.PageWalker;
import java.util.HashSet;
import java.util.Set;

/**
 * Identity mapping over the first {@code ramBytes}, less the pages in {@link #unmapped} and stores to those in
 * {@link #readOnly}; the rest raises #PF.
 */
final class FlatWalker implements PageWalker {
    private final long ramBytes;
    final CpuFault fault = new CpuFault();
    final Set<Long> unmapped = new HashSet<>();
    final Set<Long> readOnly = new HashSet<>();

    FlatWalker(long ramBytes) {
        this.ramBytes = ramBytes;
    }

    @Override
    public long translate(long gva, int access) {
        if (gva < 0 || gva >= ramBytes || unmapped.contains(gva & ~0xFFFL)) {
            throw fault.raise(CpuFault.PF, access == WRITE ? 2 : 0, true, gva);
        }
        if (access == WRITE && readOnly.contains(gva & ~0xFFFL)) {
            throw fault.raise(CpuFault.PF, 3, true, gva);
        }
        return gva & ~0xFFFL;
    }
}
