package dev.hako.soft.oracle;

import dev.hako.soft.decode.Decoder;
import dev.hako.soft.decode.Insn;
import dev.hako.soft.exec.Cpu;
import dev.hako.soft.exec.Instructions;
import dev.hako.soft.exec.Interpreter;
import dev.hako.soft.exec.X87;
import dev.hako.soft.fault.CpuFault;
import dev.hako.soft.mmu.ControlRegisters;
import dev.hako.soft.mmu.Mmu;
import dev.hako.soft.mmu.PageWalker;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Runs one instruction on the soft CPU ({@link Cpu} and {@link Interpreter#step()}) from a
 * {@link MachineState}. Guest memory is a RAM segment holding a copy of the code pages and the data pages,
 * mapped at the same guest addresses the host oracle uses; any other address raises #PF.
 */
final class SoftRunner {
    private static final long PAGE = 4096;

    private final long codeAddress;
    private final int codeSize;
    private final long dataAddress;
    private final MemorySegment ram;
    private final Cpu cpu;
    private final Interpreter interpreter;
    private int faultVector;

    /** Maps {@code code} at guest {@code codeAddress} (page aligned) and the data pages at {@code dataAddress}. */
    SoftRunner(long codeAddress, byte[] code, long dataAddress) {
        if ((codeAddress & (PAGE - 1)) != 0 || (dataAddress & (PAGE - 1)) != 0 || code.length % PAGE != 0) {
            throw new IllegalArgumentException("code and data must be whole pages");
        }
        this.codeAddress = codeAddress;
        this.codeSize = code.length;
        this.dataAddress = dataAddress;
        this.ram = Arena.ofAuto().allocate(code.length + MachineState.DATA_SIZE, PAGE);
        MemorySegment.copy(code, 0, ram, ValueLayout.JAVA_BYTE, 0, code.length);
        CpuFault pageFault = new CpuFault();
        PageWalker walker = (gva, access) -> {
            if (gva - codeAddress >= 0 && gva - codeAddress < codeSize && access != PageWalker.WRITE) {
                return (gva - codeAddress) & -PAGE;
            }
            if (gva - dataAddress >= 0 && gva - dataAddress < MachineState.DATA_SIZE) {
                return codeSize + ((gva - dataAddress) & -PAGE);
            }
            int errorCode = 4 | (access == PageWalker.WRITE ? 2 : 0) | (access == PageWalker.EXECUTE ? 16 : 0);
            throw pageFault.raise(CpuFault.PF, errorCode, true, gva);
        };
        this.cpu = new Cpu(new Mmu(ram, walker));
        // What a Linux process runs under: long mode with SYSCALL enabled and NX, at CPL 3.
        cpu.sys.cr.efer = ControlRegisters.EFER_SCE | ControlRegisters.EFER_LME | ControlRegisters.EFER_LMA
                | ControlRegisters.EFER_NXE;
        this.interpreter = new Interpreter(cpu, (c, fault, in) -> faultVector = fault.vector());
        // A process has no IDT: INT3 and INT1 end as #BP and #DB, INT n as #GP. SYSCALL is never under test.
        cpu.syscallHandler = c -> {
            throw new IllegalStateException("SYSCALL in a differential test");
        };
    }

    /** Runs the instruction at {@code insnAddress} from {@code in}; returns the state it leaves. */
    MachineState run(long insnAddress, MachineState in) {
        return run(insnAddress, in, 1);
    }

    /** Runs {@code steps} instructions from {@code insnAddress}, or up to the first fault. */
    MachineState run(long insnAddress, MachineState in, int steps) {
        if (in.dataAddress != dataAddress) {
            throw new IllegalArgumentException("state is for data pages at another address");
        }
        load(insnAddress, in);
        faultVector = MachineState.NO_FAULT;
        for (int k = 0; k < steps && faultVector == MachineState.NO_FAULT; k++) {
            interpreter.step();
        }
        MachineState out = new MachineState(dataAddress);
        System.arraycopy(cpu.r, 0, out.gpr, 0, 16);
        out.rflags = cpu.rflags();
        storeFxsave(in.fxsave, out.fxsave);
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, codeSize, out.data, 0, MachineState.DATA_SIZE);
        out.ripOffset = cpu.rip - insnAddress;
        out.faultVector = faultVector;
        return out;
    }

    /** The soft decoder's reading of the instruction at {@code insnAddress}, for failure messages. */
    String disassemble(long insnAddress) {
        Insn insn = new Insn();
        try {
            new Decoder(Interpreter.table(), Instructions::undefined).decode(cpu, insnAddress, insn);
            return insn.toString();
        } catch (CpuFault f) {
            return "(decoding faults: " + f.getMessage() + ")";
        }
    }

    private void load(long insnAddress, MachineState in) {
        System.arraycopy(in.gpr, 0, cpu.r, 0, 16);
        cpu.rip = insnAddress;
        cpu.setRflags(in.rflags, -1L);
        cpu.fsBase = 0;
        cpu.gsBase = 0;
        cpu.exitBlock = false;
        MemorySegment.copy(in.data, 0, ram, ValueLayout.JAVA_BYTE, codeSize, MachineState.DATA_SIZE);
        byte[] f = in.fxsave;
        cpu.mxcsr = FxsaveImage.mxcsr(f);
        for (int n = 0; n < 16; n++) {
            cpu.xmm[2 * n] = FxsaveImage.xmmLow(f, n);
            cpu.xmm[2 * n + 1] = FxsaveImage.xmmHigh(f, n);
        }
        X87 fpu = cpu.fpu;
        fpu.reset();
        fpu.fcw = FxsaveImage.fcw(f);
        fpu.fsw = FxsaveImage.fsw(f) & ~0x3800;
        fpu.top = FxsaveImage.top(f);
        fpu.tags = FxsaveImage.ftw(f);
        for (int i = 0; i < 8; i++) {
            int physical = (fpu.top + i) & 7;
            fpu.significand[physical] = FxsaveImage.stSignificand(f, i);
            fpu.signExponent[physical] = FxsaveImage.stSignExponent(f, i);
        }
    }

    /** The soft CPU's x87/SSE state as an FXSAVE image; fields it does not model are copied from the input. */
    private void storeFxsave(byte[] input, byte[] out) {
        System.arraycopy(input, 0, out, 0, FxsaveImage.SIZE);
        X87 fpu = cpu.fpu;
        FxsaveImage.setControl(out, fpu.fcw, fpu.statusWord(), fpu.tags, cpu.mxcsr);
        for (int i = 0; i < 8; i++) {
            int physical = (fpu.top + i) & 7;
            FxsaveImage.setSt(out, i, fpu.significand[physical], fpu.signExponent[physical]);
        }
        for (int n = 0; n < 16; n++) {
            FxsaveImage.setXmm(out, n, cpu.xmm[2 * n], cpu.xmm[2 * n + 1]);
        }
    }
}
