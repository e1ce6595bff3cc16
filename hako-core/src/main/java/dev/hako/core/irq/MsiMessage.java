package dev.hako.core.irq;

/**
 * A message-signalled interrupt as written by a device: the address and data of the Intel SDM vol. 3
 * §11.11 (MSI address 0xFEExxxxx, data with vector, delivery mode and trigger mode).
 */
public record MsiMessage(long address, int data) {
    public static final long ADDRESS_BASE = 0xFEE0_0000L;

    /** Destination APIC ID (address bits 19:12). */
    public int destinationId() {
        return (int) (address >>> 12) & 0xFF;
    }

    /** Address bit 2: logical destination mode. */
    public boolean logicalDestination() {
        return (address & 0x4) != 0;
    }

    /** Address bit 3: redirection hint (lowest-priority style delivery among the destinations). */
    public boolean redirectionHint() {
        return (address & 0x8) != 0;
    }

    public int vector() {
        return data & 0xFF;
    }

    /** Data bits 10:8: 0 fixed, 1 lowest priority, 2 SMI, 4 NMI, 5 INIT, 7 ExtINT. */
    public int deliveryMode() {
        return (data >>> 8) & 0x7;
    }

    /** Data bit 15: level-triggered. */
    public boolean levelTriggered() {
        return (data & 0x8000) != 0;
    }
}
