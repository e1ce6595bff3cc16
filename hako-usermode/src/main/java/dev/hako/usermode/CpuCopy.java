package dev.hako.usermode;

import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.FxsaveArea;

/** The user-visible state of a soft CPU copied to another: what fork and clone give the child. */
final class CpuCopy {
    private CpuCopy() {}

    static void copy(Cpu from, Cpu to) {
        System.arraycopy(from.r, 0, to.r, 0, from.r.length);
        to.rip = from.rip;
        to.ccOp = from.ccOp;
        to.ccSize = from.ccSize;
        to.ccRes = from.ccRes;
        to.ccSrc1 = from.ccSrc1;
        to.ccSrc2 = from.ccSrc2;
        to.ccAux = from.ccAux;
        to.flagsOther = from.flagsOther;
        to.attention = true; // TF may be set: the run loop single-steps
        to.fsBase = from.fsBase;
        to.gsBase = from.gsBase;
        byte[] fx = new byte[FxsaveArea.SIZE];
        FxsaveArea.store(from, fx, true);
        FxsaveArea.load(to, fx, true);
    }
}
