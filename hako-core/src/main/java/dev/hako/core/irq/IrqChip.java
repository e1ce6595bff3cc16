package dev.hako.core.irq;

/**
 * The machine's interrupt controller as a vCPU sees it. Whether it is emulated in Java (PIC, IOAPIC and
 * local APICs) or lives in the host kernel, a vCPU asks the same questions at its instruction boundaries:
 * is an interrupt ready (the CPU itself still checks RFLAGS.IF and interrupt shadows), which vector does the
 * INTA cycle return, and are NMI, INIT or SIPI pending. Devices reach it only through {@link #gsi} lines and
 * {@link #deliverMsi}.
 */
public interface IrqChip {
    /** Asks to be told when vCPU {@code vcpu} gets something pending, so a halted vCPU can wake up. */
    void setKick(int vcpu, Runnable kick);

    /** A maskable interrupt is ready for {@code vcpu} (after TPR/PPR or PIC masking). */
    boolean hasPendingInterrupt(int vcpu);

    /** The INTA cycle: returns the vector and moves it in service; the spurious vector if none was ready. */
    int acknowledge(int vcpu);

    /** End of interrupt for the highest in-service vector, for CPUs that signal EOI outside MMIO (x2APIC). */
    void endOfInterrupt(int vcpu);

    /** Takes a pending NMI; true when there was one. */
    boolean takeNmi(int vcpu);

    /** Takes a pending INIT; true when there was one (the vCPU then resets and waits for SIPI). */
    boolean takeInit(int vcpu);

    /** Takes a pending start-up IPI; returns its vector (start address / 4096), or -1 when none. */
    int takeSipi(int vcpu);

    /** The input line for global system interrupt {@code gsi} (ISA IRQs 0-15 reach the legacy PIC too). */
    IrqLine gsi(int gsi);

    void deliverMsi(MsiMessage message);

    /** True when {@code msr} belongs to the interrupt controller (IA32_APIC_BASE, TSC deadline, x2APIC). */
    boolean handlesMsr(int msr);

    long readMsr(int vcpu, int msr);

    void writeMsr(int vcpu, int msr, long value);
}
