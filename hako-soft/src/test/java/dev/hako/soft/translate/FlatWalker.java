package dev.hako.soft.translate;

import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.PageWalker;

/** Identity mapping over the first {@code ramBytes}; everything above raises #PF. */
final class FlatWalker implements PageWalker {
    private final long ramBytes;
    final CpuFault fault = new CpuFault();

    FlatWalker(long ramBytes) {
        this.ramBytes = ramBytes;
    }

    @Override
    public long translate(long gva, int access) {
        if (gva < 0 || gva >= ramBytes) {
            throw fault.raise(CpuFault.PF, access == WRITE ? 2 : 0, true, gva);
        }
        return gva & ~0xFFFL;
    }
}
