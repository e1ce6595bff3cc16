package dev.hako.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The setup header of a bzImage (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"), validated for
 * what hako needs: a bzImage ("HdrS", loaded high) whose boot protocol offers the 64-bit entry. That entry is
 * announced by {@code XLF_KERNEL_64} in xloadflags, a field of protocol 2.12, so 2.12 is the oldest protocol hako
 * boots.
 */
public record SetupHeader(
        int setupSects, int version, int loadflags, int xloadflags,
        long initrdAddrMax, long kernelAlignment, boolean relocatable, long cmdlineSize,
        long payloadOffset, long payloadLength, long prefAddress, long initSize,
        int headerEnd) {

    public static final int MIN_VERSION = 0x020C;

    /** Parses and validates the header of {@code image}, naming {@code name} in errors. */
    public static SetupHeader parse(byte[] image, String name) throws KernelFormatException {
        if (image.length < 0x400) {
            throw new KernelFormatException(name + " is " + image.length + " bytes: too short for a bzImage");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(BootParams.BOOT_FLAG) & 0xFFFF) != BootParams.BOOT_FLAG_MAGIC) {
            throw new KernelFormatException(name + " has no boot sector signature 0xAA55: not a bzImage");
        }
        if (b.getInt(BootParams.HEADER) != BootParams.HEADER_MAGIC) {
            throw new KernelFormatException(name + " has a boot sector but no \"HdrS\" setup header: "
                    + "a pre-2.00 zImage or another boot sector, not a bzImage");
        }
        int version = b.getShort(BootParams.VERSION) & 0xFFFF;
        if (version < MIN_VERSION) {
            throw new KernelFormatException(String.format("%s uses Linux boot protocol %d.%02d; hako needs %d.%02d or "
                    + "newer (the 64-bit entry point, announced in xloadflags)", name, version >> 8, version & 0xFF,
                    MIN_VERSION >> 8, MIN_VERSION & 0xFF));
        }
        int loadflags = b.get(BootParams.LOADFLAGS) & 0xFF;
        if ((loadflags & BootParams.LOADFLAGS_LOADED_HIGH) == 0) {
            throw new KernelFormatException(name + " is a zImage (loaded at 0x10000), not a bzImage");
        }
        int xloadflags = b.getShort(BootParams.XLOADFLAGS) & 0xFFFF;
        if ((xloadflags & BootParams.XLF_KERNEL_64) == 0) {
            throw new KernelFormatException(name + " is a bzImage without a 64-bit entry point (XLF_KERNEL_64 clear):"
                    + " a 32-bit kernel");
        }
        int setupSects = b.get(BootParams.SETUP_SECTS) & 0xFF;
        int headerEnd = BootParams.HEADER + (b.get(BootParams.JUMP + 1) & 0xFF);
        SetupHeader header = new SetupHeader(
                setupSects == 0 ? 4 : setupSects, version, loadflags, xloadflags,
                b.getInt(BootParams.INITRD_ADDR_MAX) & 0xFFFF_FFFFL,
                b.getInt(BootParams.KERNEL_ALIGNMENT) & 0xFFFF_FFFFL,
                b.get(BootParams.RELOCATABLE_KERNEL) != 0,
                b.getInt(BootParams.CMDLINE_SIZE) & 0xFFFF_FFFFL,
                b.getInt(BootParams.PAYLOAD_OFFSET) & 0xFFFF_FFFFL,
                b.getInt(BootParams.PAYLOAD_LENGTH) & 0xFFFF_FFFFL,
                b.getLong(BootParams.PREF_ADDRESS),
                b.getInt(BootParams.INIT_SIZE) & 0xFFFF_FFFFL,
                headerEnd);
        if (header.protectedModeOffset() >= image.length) {
            throw new KernelFormatException(name + " claims " + header.setupSects + " setup sectors but is only "
                    + image.length + " bytes: truncated bzImage");
        }
        // syssize counts the protected-mode kernel in 16-byte paragraphs: the file must hold all of it.
        long expected = header.protectedModeOffset() + 16L * (b.getInt(BootParams.SYSSIZE) & 0xFFFF_FFFFL);
        if (expected > image.length) {
            throw new KernelFormatException(String.format("%s is truncated: its setup header describes %d bytes, "
                    + "the file has %d (%d%%)", name, expected, image.length, 100L * image.length / expected));
        }
        return header;
    }

    /** File offset of the protected-mode kernel: after the boot sector and the setup sectors. */
    public int protectedModeOffset() {
        return (setupSects + 1) * 512;
    }
}
