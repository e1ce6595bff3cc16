package dev.hako.devices.irqchip;

/**
 * The fabric between interrupt sources (IOAPIC redirection entries, MSIs, IPIs) and the local APICs:
 * destination decoding per Intel SDM vol. 3 §11.6.2 (physical, logical flat and logical cluster modes; in
 * x2APIC mode §11.12.9-10, 32-bit physical and cluster logical destinations) and
 * lowest-priority arbitration (§11.6.2.4, simplified: the matching APIC with the lowest TPR, first on ties).
 * All calls happen under the interrupt controllers' shared lock.
 */
public final class ApicBus {
    public static final int BROADCAST = 0xFF;
    public static final int X2APIC_BROADCAST = 0xFFFF_FFFF;

    public static final int SHORTHAND_NONE = 0;
    public static final int SHORTHAND_SELF = 1;
    public static final int SHORTHAND_ALL = 2;
    public static final int SHORTHAND_OTHERS = 3;

    private final LocalApic[] apics;

    ApicBus(int count) {
        this.apics = new LocalApic[count];
    }

    void attach(LocalApic apic) {
        apics[apic.index()] = apic;
    }

    public int size() {
        return apics.length;
    }

    /**
     * Delivers one interrupt message to every local APIC the destination names (one of them for lowest
     * priority). {@code level} is the trigger mode, recorded in the TMR so EOI can be broadcast.
     */
    public void deliver(int destination, boolean logical, int deliveryMode, int vector, boolean level) {
        if (deliveryMode == LocalApic.DELIVERY_LOWEST_PRIORITY) {
            LocalApic chosen = null;
            for (LocalApic apic : apics) {
                if (apic != null && matches(apic, destination, logical)
                        && (chosen == null || apic.taskPriority() < chosen.taskPriority())) {
                    chosen = apic;
                }
            }
            if (chosen != null) {
                chosen.accept(LocalApic.DELIVERY_FIXED, vector, level);
            }
            return;
        }
        for (LocalApic apic : apics) {
            if (apic != null && matches(apic, destination, logical)) {
                apic.accept(deliveryMode, vector, level);
            }
        }
    }

    /** An IPI from {@code source}'s ICR, honouring the destination shorthand. */
    void sendIpi(LocalApic source, int shorthand, int destination, boolean logical, int deliveryMode, int vector,
            boolean level) {
        switch (shorthand) {
            case SHORTHAND_SELF -> source.accept(deliveryMode, vector, level);
            case SHORTHAND_ALL, SHORTHAND_OTHERS -> {
                for (LocalApic apic : apics) {
                    if (apic != null && apic.isHardwareEnabled() && (shorthand == SHORTHAND_ALL || apic != source)) {
                        apic.accept(deliveryMode, vector, level);
                    }
                }
            }
            default -> deliver(destination, logical, deliveryMode, vector, level);
        }
    }

    static boolean matches(LocalApic apic, int destination, boolean logical) {
        if (!apic.isHardwareEnabled()) {
            return false;
        }
        if (apic.isX2ApicMode()) {
            if (!logical) {
                return destination == BROADCAST || destination == X2APIC_BROADCAST || apic.id() == destination;
            }
            int logicalId = apic.x2ApicLogicalId();
            return destination == X2APIC_BROADCAST
                    || (destination >>> 16) == (logicalId >>> 16) && (destination & logicalId & 0xFFFF) != 0;
        }
        if (!logical) {
            return destination == BROADCAST || apic.id() == destination;
        }
        int logicalId = apic.logicalDestination() >>> 24;
        if (apic.isFlatModel()) {
            return (destination & logicalId) != 0;
        }
        if (destination == BROADCAST) {
            return true;
        }
        return (destination >>> 4) == (logicalId >>> 4) && (destination & logicalId & 0xF) != 0;
    }
}
