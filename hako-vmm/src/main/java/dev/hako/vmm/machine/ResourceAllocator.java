package dev.hako.vmm.machine;

import java.util.ArrayList;
import java.util.List;

/**
 * Hands out the machine's resources while it is built, so nothing is wired by hand twice: fixed claims for the
 * legacy devices (ports, MMIO ranges, ISA IRQs at their PC addresses) and allocations for PCI devices (slots,
 * BAR space from the host bridge's I/O, 32-bit and 64-bit windows, naturally aligned as firmware places BARs,
 * and MSI-X vector counts). A second claim of anything is an error that names both owners.
 */
public final class ResourceAllocator {
    private record Claim(String owner, long start, long end) {}

    /** A bump allocator over one window; BARs are powers of two, aligned to their size. */
    private static final class Window {
        final String name;
        final long start;
        final long end; // exclusive
        long next;

        Window(String name, long start, long endInclusive) {
            this.name = name;
            this.start = start;
            this.end = endInclusive + 1;
            this.next = start;
        }

        long allocate(long size, long alignment) {
            long at = (next + alignment - 1) & -alignment;
            if (at < start || at + size > end || at + size < at) {
                throw new IllegalStateException(String.format("the %s window %#x-%#x has no room for %#x bytes",
                        name, start, end - 1, size));
            }
            next = at + size;
            return at;
        }
    }

    private final List<Claim> ports = new ArrayList<>();
    private final List<Claim> mmio = new ArrayList<>();
    private final String[] irqs = new String[24];
    private final String[] slots;
    private final Window ioWindow;
    private final Window mmio32Window;
    private final Window mmio64Window;
    private final int msiVectorLimit;
    private int msiVectors;

    public ResourceAllocator(int pciSlots, int ioStart, int ioEnd, long mmio32Start, long mmio32End,
                             long mmio64Start, long mmio64End, int msiVectorLimit) {
        this.slots = new String[pciSlots];
        this.slots[0] = "PCI host bridge";
        this.ioWindow = new Window("PCI I/O", ioStart, ioEnd);
        this.mmio32Window = new Window("32-bit PCI memory", mmio32Start, mmio32End);
        this.mmio64Window = new Window("64-bit PCI memory", mmio64Start, mmio64End);
        this.msiVectorLimit = msiVectorLimit;
    }

    /** Claims ports {@code [port, port+count)} for {@code owner}. */
    public void claimPorts(String owner, int port, int count) {
        claim(ports, owner, port, count, "ports");
    }

    /** Claims guest-physical {@code [gpa, gpa+size)} for {@code owner}. */
    public void claimMmio(String owner, long gpa, long size) {
        claim(mmio, owner, gpa, size, "MMIO range");
    }

    /** Claims GSI/ISA IRQ {@code irq}; a shared line must be claimed once, by the wiring that shares it. */
    public void claimIrq(String owner, int irq) {
        if (irqs[irq] != null) {
            throw new IllegalStateException("IRQ " + irq + " for " + owner + " is already " + irqs[irq] + "'s");
        }
        irqs[irq] = owner;
    }

    /** The next free PCI slot on bus 0, for {@code owner}. */
    public int allocateSlot(String owner) {
        for (int slot = 1; slot < slots.length; slot++) {
            if (slots[slot] == null) {
                slots[slot] = owner;
                return slot;
            }
        }
        throw new IllegalStateException("no free PCI slot for " + owner + " (bus 0 has " + slots.length + ")");
    }

    /** Place for an I/O BAR of {@code size} ports. */
    public int allocateIoBar(long size) {
        return (int) ioWindow.allocate(size, size);
    }

    /** Place for a 32-bit memory BAR. */
    public long allocateMmio32Bar(long size) {
        return mmio32Window.allocate(size, size);
    }

    /** Place for a 64-bit memory BAR. */
    public long allocateMmio64Bar(long size) {
        return mmio64Window.allocate(size, size);
    }

    /** Reserves {@code count} MSI-X vectors (the interrupt routes a device may use at once); returns the first. */
    public int allocateMsiVectors(String owner, int count) {
        if (count < 1 || msiVectors + count > msiVectorLimit) {
            throw new IllegalStateException(owner + " asks for " + count + " MSI vectors, " + (msiVectorLimit
                    - msiVectors) + " are left");
        }
        int first = msiVectors;
        msiVectors += count;
        return first;
    }

    private static void claim(List<Claim> claims, String owner, long start, long size, String what) {
        long end = start + size;
        for (Claim c : claims) {
            if (start < c.end && c.start < end) {
                throw new IllegalStateException(String.format("%s %#x+%#x for %s overlaps %#x-%#x of %s", what,
                        start, size, owner, c.start, c.end - 1, c.owner));
            }
        }
        claims.add(new Claim(owner, start, end));
    }
}
