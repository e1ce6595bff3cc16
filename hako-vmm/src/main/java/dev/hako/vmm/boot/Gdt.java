package dev.hako.vmm.boot;

import dev.hako.core.memory.GuestMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The flat GDT the loaders install (Intel SDM Vol. 3A 3.4.5). The Linux 64-bit boot protocol (boot.rst,
 * "64-bit Boot Protocol") wants __BOOT_CS = 0x10 (flat execute/read) and __BOOT_DS = 0x18 (flat read/write);
 * PVH only wants flat 32-bit segments and an active 32-bit TSS, and uses the same slots with a 32-bit code
 * descriptor. The accessed bit is preset so that a CPU loading the selectors never writes the table.
 */
public final class Gdt {
    public static final int BOOT_CS = 0x10;
    public static final int BOOT_DS = 0x18;
    public static final int BOOT_TSS = 0x20;

    /** G=1 L=1 P=1 S=1 type=execute/read/accessed, base 0, limit 0xFFFFF pages. */
    public static final long CODE_64 = 0x00AF_9B00_0000_FFFFL;
    /** G=1 D/B=1 P=1 S=1 type=execute/read/accessed. */
    public static final long CODE_32 = 0x00CF_9B00_0000_FFFFL;
    /** G=1 D/B=1 P=1 S=1 type=read/write/accessed. */
    public static final long DATA = 0x00CF_9300_0000_FFFFL;
    /** P=1 S=0 type=busy 32-bit TSS, base 0, limit 0x67 (the minimum TSS). */
    public static final long TSS_32_BUSY = 0x0000_8B00_0000_0067L;

    private final long[] entries;

    private Gdt(long code) {
        // The trailing zero completes the TSS slot as the 16-byte system descriptor long mode reads.
        entries = new long[] {0, 0, code, DATA, TSS_32_BUSY, 0};
    }

    public static Gdt longMode() {
        return new Gdt(CODE_64);
    }

    public static Gdt protectedMode() {
        return new Gdt(CODE_32);
    }

    public void writeTo(GuestMemory memory, long gpa) {
        ByteBuffer bytes = ByteBuffer.allocate(entries.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long entry : entries) {
            bytes.putLong(entry);
        }
        memory.write(gpa, bytes.array(), 0, bytes.capacity());
    }

    public DescriptorTableState register(long gpa) {
        return new DescriptorTableState(gpa, entries.length * 8 - 1);
    }

    public SegmentState segment(int selector) {
        return SegmentState.fromDescriptor(selector, entries[selector >>> 3]);
    }

    /** LDTR is unused: a null selector with a present LDT type so virtualization checks accept it. */
    public static SegmentState unusedLdt() {
        return new SegmentState(0, 0, 0xFFFF, 0x2 | SegmentState.P);
    }
}
