package dev.hako.devices.irqchip;

import dev.hako.core.state.Snapshotable;
import dev.hako.core.time.TimerQueue;
import java.util.function.IntConsumer;

/**
 * One vCPU's local APIC in xAPIC and x2APIC modes (Intel SDM vol. 3 chapter 11, "Advanced Programmable Interrupt
 * Controller"): the register page at 0xFEE00000 (§11.4.1, table 11-1), reached by offset from
 * {@link UserspaceIrqChip#localApicMmio()}.
 *
 * <p>Implemented: ID, version (0x14, six LVT entries), TPR and PPR (§11.8.3.1), EOI with EOI broadcast for
 * level-triggered vectors unless SVR bit 12 suppresses it, LDR/DFR (flat and cluster), SVR with software
 * enable, 256-bit ISR/TMR/IRR, ESR (illegal vectors), ICR with fixed, lowest-priority, NMI, INIT, SIPI and
 * the destination shorthands (§11.6.1), LVT timer/thermal/perf/LINT0/LINT1/error/CMCI, the timer in
 * one-shot, periodic and TSC-deadline modes (§11.5.4, see {@link LocalApicTimer}: 1 GHz bus clock, TSC
 * counting {@code tscHz} from guest time zero), IA32_APIC_BASE and IA32_TSC_DEADLINE (MSR 0x1B, 0x6E0).
 *
 * <p>LINT0/LINT1 are not wired as inputs: the PIC's output is routed by {@link UserspaceIrqChip}
 * when LINT0 is an unmasked ExtINT. Delivery is instant, so ICR's delivery-status bit always reads idle.
 *
 * <p>x2APIC mode (§11.12) is reached through {@link #readX2ApicMsr}/{@link #writeX2ApicMsr}: the same
 * registers as MSRs 0x800-0x8FF, a 64-bit ICR with 32-bit destinations, SELF IPI, the derived logical ID.
 * Accesses that should raise #GP (DFR, writes to read-only registers, MSRs outside x2APIC mode) are ignored.
 *
 * <p>Not implemented: relocating the register page through IA32_APIC_BASE, SMI, the thermal,
 * performance and CMCI sources, remote read, arbitration priority (APR reads 0), focus processor checking.
 *
 * <p>Guest control: the registers above; timer periods below {@link #MIN_PERIOD_NANOS} are raised to it so a
 * guest cannot make the host spin on its timer.
 */
public final class LocalApic implements Snapshotable<LocalApicState> {
    public static final long DEFAULT_BASE = 0xFEE0_0000L;
    public static final int PAGE_SIZE = 0x1000;
    public static final int MSR_IA32_APIC_BASE = 0x1B;
    public static final int MSR_IA32_TSC_DEADLINE = 0x6E0;
    public static final int MSR_X2APIC_FIRST = 0x800;
    public static final int MSR_X2APIC_LAST = 0x8FF;
    public static final int MSR_X2APIC_ID = 0x802;
    public static final int MSR_X2APIC_LDR = 0x80D;
    public static final int MSR_X2APIC_ICR = 0x830;
    public static final int MSR_X2APIC_SELF_IPI = 0x83F;
    public static final long APIC_BASE_BSP = 1L << 8;
    public static final long APIC_BASE_EXTD = 1L << 10;
    public static final long APIC_BASE_ENABLE = 1L << 11;

    // Register offsets (SDM table 11-1).
    public static final int REG_ID = 0x020;
    public static final int REG_VERSION = 0x030;
    public static final int REG_TPR = 0x080;
    public static final int REG_APR = 0x090;
    public static final int REG_PPR = 0x0A0;
    public static final int REG_EOI = 0x0B0;
    public static final int REG_LDR = 0x0D0;
    public static final int REG_DFR = 0x0E0;
    public static final int REG_SVR = 0x0F0;
    public static final int REG_ISR = 0x100;
    public static final int REG_TMR = 0x180;
    public static final int REG_IRR = 0x200;
    public static final int REG_ESR = 0x280;
    public static final int REG_LVT_CMCI = 0x2F0;
    public static final int REG_ICR_LOW = 0x300;
    public static final int REG_ICR_HIGH = 0x310;
    public static final int REG_LVT_TIMER = 0x320;
    public static final int REG_LVT_LINT0 = 0x350;
    public static final int REG_LVT_LINT1 = 0x360;
    public static final int REG_LVT_ERROR = 0x370;
    public static final int REG_TIMER_INITIAL_COUNT = 0x380;
    public static final int REG_TIMER_CURRENT_COUNT = 0x390;
    public static final int REG_TIMER_DIVIDE = 0x3E0;

    public static final int VERSION = 0x0005_0014;
    public static final int SVR_ENABLE = 0x100;
    public static final int SVR_SUPPRESS_EOI_BROADCAST = 0x1000;
    public static final int LVT_MASKED = 0x1_0000;
    public static final int LVT_TIMER_ONE_SHOT = LocalApicTimer.ONE_SHOT;
    public static final int LVT_TIMER_PERIODIC = LocalApicTimer.PERIODIC;
    public static final int LVT_TIMER_TSC_DEADLINE = LocalApicTimer.TSC_DEADLINE;
    public static final int ESR_RECEIVE_ILLEGAL_VECTOR = 0x40;
    public static final int ESR_SEND_ILLEGAL_VECTOR = 0x20;

    public static final int DELIVERY_FIXED = 0;
    public static final int DELIVERY_LOWEST_PRIORITY = 1;
    public static final int DELIVERY_SMI = 2;
    public static final int DELIVERY_NMI = 4;
    public static final int DELIVERY_INIT = 5;
    public static final int DELIVERY_STARTUP = 6;
    public static final int DELIVERY_EXTINT = 7;

    /** Shortest timer period honoured, in guest nanoseconds. */
    public static final long MIN_PERIOD_NANOS = 10_000;

    // LVT slots, in register order from 0x320, then CMCI.
    static final int LVT_TIMER = 0;
    static final int LVT_THERMAL = 1;
    static final int LVT_PERF = 2;
    static final int LVT_LINT0 = 3;
    static final int LVT_LINT1 = 4;
    static final int LVT_ERROR = 5;
    static final int LVT_CMCI = 6;
    private static final int[] LVT_WRITABLE = {0x7_10FF, 0x1_07FF, 0x1_07FF, 0x1_A7FF, 0x1_A7FF, 0x1_00FF, 0x1_07FF};

    private final Object lock;
    private final int index;
    private final ApicBus bus;
    private final LocalApicTimer timer;
    private IntConsumer eoiBroadcast = vector -> {
    };
    private Runnable kick = () -> {
    };

    private long apicBase;
    private int id;
    private int tpr;
    private int ldr;
    private int dfr;
    private int svr;
    private final int[] isr = new int[8];
    private final int[] tmr = new int[8];
    private final int[] irr = new int[8];
    private int esr;
    private int pendingEsr;
    private int icrLow;
    private int icrHigh;
    private final int[] lvt = new int[7];
    private boolean nmiPending;
    private boolean initPending;
    private int sipiVector = -1;

    LocalApic(Object lock, int index, ApicBus bus, TimerQueue timers, long tscHz) {
        this.lock = lock;
        this.index = index;
        this.bus = bus;
        this.timer = new LocalApicTimer(timers, tscHz, this::timerExpired);
        id = index;
        apicBase = DEFAULT_BASE | APIC_BASE_ENABLE | (index == 0 ? APIC_BASE_BSP : 0);
        resetRegisters();
        if (index == 0) {
            // What a BIOS leaves on the BSP (and QEMU's reset state): LINT0 passes the 8259's INTR through.
            lvt[LVT_LINT0] = DELIVERY_EXTINT << 8;
            lvt[LVT_LINT1] = DELIVERY_NMI << 8;
        }
    }

    void setEoiBroadcast(IntConsumer eoiBroadcast) {
        this.eoiBroadcast = eoiBroadcast;
    }

    void setKick(Runnable kick) {
        this.kick = kick;
    }

    int index() {
        return index;
    }

    int id() {
        return id;
    }

    boolean isX2ApicMode() {
        return (apicBase & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) == (APIC_BASE_ENABLE | APIC_BASE_EXTD);
    }

    /** The x2APIC logical ID (SDM §11.12.10.2): cluster in bits 31:16, one bit per APIC of the cluster. */
    int x2ApicLogicalId() {
        return (id >>> 4) << 16 | 1 << (id & 0xF);
    }

    int logicalDestination() {
        return ldr;
    }

    boolean isFlatModel() {
        return (dfr >>> 28) == 0xF;
    }

    int taskPriority() {
        return tpr;
    }

    boolean isHardwareEnabled() {
        return (apicBase & APIC_BASE_ENABLE) != 0;
    }

    /** The INIT state (SDM §11.4.7.3): everything but the ID and IA32_APIC_BASE is reset. */
    public void initReset() {
        synchronized (lock) {
            resetRegisters();
        }
    }

    private void resetRegisters() {
        tpr = 0;
        ldr = 0;
        dfr = 0xFFFF_FFFF;
        svr = 0xFF;
        java.util.Arrays.fill(isr, 0);
        java.util.Arrays.fill(tmr, 0);
        java.util.Arrays.fill(irr, 0);
        esr = 0;
        pendingEsr = 0;
        icrLow = 0;
        icrHigh = 0;
        java.util.Arrays.fill(lvt, LVT_MASKED);
        timer.reset();
        nmiPending = false;
        sipiVector = -1;
    }

    // ---- the CPU's questions ----

    /** A fixed interrupt in IRR outranks the processor priority. */
    public boolean hasPendingInterrupt() {
        synchronized (lock) {
            return deliverableVector() >= 0;
        }
    }

    /** INTA: moves the highest deliverable vector from IRR to ISR; the spurious vector when none. */
    public int acknowledge() {
        synchronized (lock) {
            int vector = deliverableVector();
            if (vector < 0) {
                return svr & 0xFF;
            }
            clear(irr, vector);
            set(isr, vector);
            return vector;
        }
    }

    public void endOfInterrupt() {
        synchronized (lock) {
            int vector = highest(isr);
            if (vector < 0) {
                return;
            }
            clear(isr, vector);
            if (test(tmr, vector) && (svr & SVR_SUPPRESS_EOI_BROADCAST) == 0) {
                eoiBroadcast.accept(vector);
            }
            if (deliverableVector() >= 0) {
                kick.run();
            }
        }
    }

    public boolean takeNmi() {
        synchronized (lock) {
            boolean was = nmiPending;
            nmiPending = false;
            return was;
        }
    }

    public boolean takeInit() {
        synchronized (lock) {
            boolean was = initPending;
            initPending = false;
            return was;
        }
    }

    public int takeSipi() {
        synchronized (lock) {
            int v = sipiVector;
            sipiVector = -1;
            return v;
        }
    }

    /** True when the 8259's INTR reaches this CPU: APIC off, or LINT0 an unmasked ExtINT. */
    public boolean acceptsPicInterrupts() {
        synchronized (lock) {
            if (!isHardwareEnabled()) {
                return true;
            }
            int lint0 = lvt[LVT_LINT0];
            return (lint0 & LVT_MASKED) == 0 && ((lint0 >>> 8) & 7) == DELIVERY_EXTINT;
        }
    }

    /** CR8 is TPR bits 7:4 (SDM §11.8.6). */
    public int cr8() {
        synchronized (lock) {
            return tpr >>> 4;
        }
    }

    public void setCr8(long value) {
        synchronized (lock) {
            tpr = (int) (value & 0xF) << 4;
            kickIfDeliverable();
        }
    }

    private int deliverableVector() {
        if (!isHardwareEnabled()) {
            return -1;
        }
        int vector = highest(irr);
        if (vector < 0 || (vector & 0xF0) <= (processorPriority() & 0xF0)) {
            return -1;
        }
        return vector;
    }

    private int processorPriority() {
        int inService = Math.max(highest(isr), 0);
        return (tpr & 0xF0) >= (inService & 0xF0) ? tpr & 0xFF : inService & 0xF0;
    }

    // ---- delivery from the bus ----

    /** Accepts one interrupt message; called under the shared lock. */
    void accept(int deliveryMode, int vector, boolean level) {
        switch (deliveryMode) {
            case DELIVERY_FIXED, DELIVERY_LOWEST_PRIORITY -> {
                if (vector < 16) {
                    signalError(ESR_RECEIVE_ILLEGAL_VECTOR);
                    return;
                }
                set(irr, vector);
                if (level) {
                    set(tmr, vector);
                } else {
                    clear(tmr, vector);
                }
                kickIfDeliverable();
            }
            case DELIVERY_NMI -> {
                nmiPending = true;
                kick.run();
            }
            case DELIVERY_INIT -> {
                resetRegisters(); // an APIC answers INIT by resetting itself (SDM §11.4.7.3)
                initPending = true;
                kick.run();
            }
            case DELIVERY_STARTUP -> {
                sipiVector = vector;
                kick.run();
            }
            default -> {
                // SMI and ExtINT messages are not modelled.
            }
        }
    }

    private void kickIfDeliverable() {
        if (deliverableVector() >= 0) {
            kick.run();
        }
    }

    private void signalError(int bit) {
        pendingEsr |= bit;
        int entry = lvt[LVT_ERROR];
        if ((entry & LVT_MASKED) == 0 && (entry & 0xFF) >= 16) {
            set(irr, entry & 0xFF);
            clear(tmr, entry & 0xFF);
            kickIfDeliverable();
        }
    }

    // ---- registers ----

    /** A read of the register page at {@code offset}; narrower reads see part of the 32-bit register. */
    public long read(long offset, int size) {
        synchronized (lock) {
            int value = readRegister((int) offset & 0xFF0);
            int shift = (int) (offset & 3) * 8;
            return (value >>> shift) & (size >= 4 ? 0xFFFF_FFFFL : (1L << (size * 8)) - 1);
        }
    }

    public void write(long offset, int size, long value) {
        if ((offset & 0xF) != 0) {
            return; // only aligned 32-bit stores reach a register (SDM §11.4.1)
        }
        synchronized (lock) {
            writeRegister((int) offset & 0xFF0, (int) value);
        }
    }

    private int readRegister(int reg) {
        if (reg >= REG_ISR && reg < REG_ISR + 0x80) {
            return isr[(reg - REG_ISR) >> 4];
        }
        if (reg >= REG_TMR && reg < REG_TMR + 0x80) {
            return tmr[(reg - REG_TMR) >> 4];
        }
        if (reg >= REG_IRR && reg < REG_IRR + 0x80) {
            return irr[(reg - REG_IRR) >> 4];
        }
        if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) {
            return lvt[(reg - REG_LVT_TIMER) >> 4];
        }
        return switch (reg) {
            case REG_ID -> id << 24;
            case REG_VERSION -> VERSION;
            case REG_TPR -> tpr;
            case REG_PPR -> processorPriority();
            case REG_LDR -> ldr;
            case REG_DFR -> dfr;
            case REG_SVR -> svr;
            case REG_ESR -> esr;
            case REG_LVT_CMCI -> lvt[LVT_CMCI];
            case REG_ICR_LOW -> icrLow;
            case REG_ICR_HIGH -> icrHigh;
            case REG_TIMER_INITIAL_COUNT -> timer.initialCount();
            case REG_TIMER_CURRENT_COUNT -> timer.currentCount(timerMode());
            case REG_TIMER_DIVIDE -> timer.divideConfig();
            default -> 0;
        };
    }

    private void writeRegister(int reg, int v) {
        if (reg >= REG_LVT_TIMER && reg <= REG_LVT_ERROR) {
            writeLvt((reg - REG_LVT_TIMER) >> 4, v);
            return;
        }
        switch (reg) {
            case REG_ID -> id = v >>> 24;
            case REG_TPR -> {
                tpr = v & 0xFF;
                kickIfDeliverable();
            }
            case REG_EOI -> endOfInterrupt();
            case REG_LDR -> ldr = v & 0xFF00_0000;
            case REG_DFR -> dfr = v | 0x0FFF_FFFF;
            case REG_SVR -> writeSpuriousVector(v);
            case REG_ESR -> {
                esr = pendingEsr;
                pendingEsr = 0;
            }
            case REG_LVT_CMCI -> writeLvt(LVT_CMCI, v);
            case REG_ICR_LOW -> {
                icrLow = v & ~0x1000; // delivery status: always idle
                sendIpi();
            }
            case REG_ICR_HIGH -> icrHigh = isX2ApicMode() ? v : v & 0xFF00_0000;
            case REG_TIMER_INITIAL_COUNT -> timer.start(v, timerMode());
            case REG_TIMER_DIVIDE -> timer.setDivideConfig(v);
            default -> {
                // read-only or reserved
            }
        }
    }

    private void writeSpuriousVector(int v) {
        boolean wasEnabled = (svr & SVR_ENABLE) != 0;
        svr = v & 0x13FF;
        if (wasEnabled && (svr & SVR_ENABLE) == 0) {
            for (int i = 0; i < lvt.length; i++) {
                lvt[i] |= LVT_MASKED; // software disable masks every LVT entry (SDM §11.4.7.2)
            }
        }
    }

    private void writeLvt(int slot, int v) {
        int oldMode = timerMode();
        int value = v & LVT_WRITABLE[slot] | (lvt[slot] & 0x4000); // remote IRR is read-only
        if ((svr & SVR_ENABLE) == 0) {
            value |= LVT_MASKED;
        }
        lvt[slot] = value;
        if (slot == LVT_TIMER && timerMode() != oldMode) {
            timer.modeChanged();
        }
    }

    private void sendIpi() {
        int mode = (icrLow >>> 8) & 7;
        boolean assertLevel = (icrLow & 0x4000) != 0;
        boolean levelTriggered = (icrLow & 0x8000) != 0;
        if (mode == DELIVERY_INIT && levelTriggered && !assertLevel) {
            return; // INIT level de-assert only synchronises arbitration IDs
        }
        int vector = icrLow & 0xFF;
        if ((mode == DELIVERY_FIXED || mode == DELIVERY_LOWEST_PRIORITY) && vector < 16) {
            signalError(ESR_SEND_ILLEGAL_VECTOR);
            return;
        }
        int destination = isX2ApicMode() ? icrHigh : icrHigh >>> 24;
        bus.sendIpi(this, (icrLow >>> 18) & 3, destination, (icrLow & 0x800) != 0, mode, vector, levelTriggered);
    }

    // ---- timer ----

    private int timerMode() {
        return (lvt[LVT_TIMER] >>> 17) & 3;
    }

    private void timerExpired() {
        synchronized (lock) {
            if (timer.expire(timerMode())) {
                deliverTimerInterrupt();
            }
        }
    }

    private void deliverTimerInterrupt() {
        int entry = lvt[LVT_TIMER];
        if ((entry & LVT_MASKED) == 0) {
            accept(DELIVERY_FIXED, entry & 0xFF, false);
        }
    }

    public long tscDeadline() {
        synchronized (lock) {
            return timer.tscDeadline();
        }
    }

    /** IA32_TSC_DEADLINE write: arms (or with 0 disarms) the timer when the LVT is in TSC-deadline mode. */
    public void setTscDeadline(long tsc) {
        synchronized (lock) {
            if (timerMode() == LVT_TIMER_TSC_DEADLINE && timer.setTscDeadline(tsc)) {
                deliverTimerInterrupt();
            }
        }
    }

    public long apicBaseMsr() {
        synchronized (lock) {
            return apicBase;
        }
    }

    /** IA32_APIC_BASE write: the enable bit turns the APIC on or off; the page stays at its default address. */
    public void setApicBaseMsr(long value) {
        synchronized (lock) {
            boolean wasEnabled = isHardwareEnabled();
            long mode = value & (APIC_BASE_ENABLE | APIC_BASE_EXTD);
            if (mode == APIC_BASE_EXTD) {
                return; // x2APIC without the global enable is an invalid state (SDM table 11-5)
            }
            apicBase = DEFAULT_BASE | mode | (apicBase & APIC_BASE_BSP);
            if (wasEnabled && !isHardwareEnabled()) {
                resetRegisters();
            }
        }
    }

    // ---- x2APIC (SDM §11.12) ----

    /** Reads x2APIC MSR {@code msr} (0x800-0x8FF); 0 outside x2APIC mode or for registers it lacks. */
    public long readX2ApicMsr(int msr) {
        synchronized (lock) {
            if (!isX2ApicMode()) {
                return 0;
            }
            return switch (msr) {
                case MSR_X2APIC_ID -> id & 0xFFFF_FFFFL;
                case MSR_X2APIC_LDR -> x2ApicLogicalId() & 0xFFFF_FFFFL;
                case MSR_X2APIC_ICR -> (long) icrHigh << 32 | icrLow & 0xFFFF_FFFFL;
                case MSR_X2APIC_SELF_IPI, 0x80E -> 0; // write-only; DFR does not exist in x2APIC mode
                default -> readRegister((msr - MSR_X2APIC_FIRST) << 4) & 0xFFFF_FFFFL;
            };
        }
    }

    /** Writes x2APIC MSR {@code msr}; ICR is one 64-bit write with a 32-bit destination. */
    public void writeX2ApicMsr(int msr, long value) {
        synchronized (lock) {
            if (!isX2ApicMode()) {
                return;
            }
            switch (msr) {
                case MSR_X2APIC_ID, MSR_X2APIC_LDR, 0x80E -> {
                    // read-only in x2APIC mode
                }
                case MSR_X2APIC_ICR -> {
                    icrHigh = (int) (value >>> 32);
                    icrLow = (int) value & ~0x1000;
                    sendIpi();
                }
                case MSR_X2APIC_SELF_IPI -> accept(DELIVERY_FIXED, (int) value & 0xFF, false);
                default -> writeRegister((msr - MSR_X2APIC_FIRST) << 4, (int) value);
            }
        }
    }

    // ---- bit helpers over the 256-bit registers ----

    private static void set(int[] bits, int vector) {
        bits[vector >>> 5] |= 1 << (vector & 31);
    }

    private static void clear(int[] bits, int vector) {
        bits[vector >>> 5] &= ~(1 << (vector & 31));
    }

    private static boolean test(int[] bits, int vector) {
        return (bits[vector >>> 5] & (1 << (vector & 31))) != 0;
    }

    private static int highest(int[] bits) {
        for (int i = 7; i >= 0; i--) {
            if (bits[i] != 0) {
                return i * 32 + 31 - Integer.numberOfLeadingZeros(bits[i]);
            }
        }
        return -1;
    }

    // ---- snapshot ----

    @Override
    public LocalApicState save() {
        synchronized (lock) {
            return new LocalApicState(LocalApicState.VERSION, apicBase, id, tpr, ldr, dfr, svr, isr.clone(),
                    tmr.clone(), irr.clone(), esr, pendingEsr, icrLow, icrHigh, lvt.clone(),
                    timer.initialCount(), timer.divideConfig(), timer.startNanos(), timer.deadlineNanos(),
                    timer.tscDeadline(), nmiPending, initPending,
                    sipiVector);
        }
    }

    @Override
    public void restore(LocalApicState s) {
        if (s.version() != LocalApicState.VERSION) {
            throw new IllegalArgumentException("unsupported LocalApicState version " + s.version());
        }
        synchronized (lock) {
            apicBase = s.apicBase();
            id = s.id();
            tpr = s.tpr();
            ldr = s.ldr();
            dfr = s.dfr();
            svr = s.svr();
            System.arraycopy(s.isr(), 0, isr, 0, 8);
            System.arraycopy(s.tmr(), 0, tmr, 0, 8);
            System.arraycopy(s.irr(), 0, irr, 0, 8);
            esr = s.esr();
            pendingEsr = s.pendingEsr();
            icrLow = s.icrLow();
            icrHigh = s.icrHigh();
            System.arraycopy(s.lvt(), 0, lvt, 0, lvt.length);
            nmiPending = s.nmiPending();
            initPending = s.initPending();
            sipiVector = s.sipiVector();
            timer.restore(s.initialCount(), s.divideConfig(), s.timerStartNanos(), s.timerDeadlineNanos(),
                    s.tscDeadline());
        }
    }
}
