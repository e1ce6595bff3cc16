package dev.hako.vmm.boot;

import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Chooses the loader for a kernel file by looking at its contents, in QEMU's order: a bzImage goes to
 * {@link BzImageLoader}, an image with a Multiboot header in its first 8 KiB to {@link MultibootLoader}, an x86-64
 * ELF with a PVH note to {@link PvhLoader}. Everything else is refused with a message that says what the file
 * appears to be.
 */
public final class KernelLoaders {
    private static final byte[] CPIO_NEWC = "07070".getBytes(StandardCharsets.US_ASCII);

    private KernelLoaders() {
    }

    public static KernelLoader forFile(Path kernel) throws IOException {
        return forFile(kernel, HostFile.MAX_READ, "the largest file hako loads");
    }

    /**
     * The loader for {@code kernel}, refused before it is read when it is not a readable regular file or is
     * larger than {@code maxBytes} ({@code limit} says what that is, e.g. "the guest's 512 MiB of RAM").
     */
    public static KernelLoader forFile(Path kernel, long maxBytes, String limit) throws IOException {
        return forBytes(HostFile.read(kernel, "kernel", maxBytes, limit), kernel.toString());
    }

    public static KernelLoader forBytes(byte[] image, String name) throws KernelFormatException {
        if (image.length == 0) {
            throw new KernelFormatException("kernel " + name + " is empty");
        }
        if (hasSetupHeader(image)) {
            return new BzImageLoader(image, name);
        }
        // As QEMU: a Multiboot header before a PVH note, since a Multiboot kernel may be an ELF too, and before a
        // boot sector's signature, which a Multiboot image that is also a bootable disk carries.
        MultibootHeader.Search multiboot = MultibootHeader.search(image);
        if (multiboot instanceof MultibootHeader.Found found) {
            return new MultibootLoader(image, name, found.header());
        }
        boolean elf64 = Elf64.hasMagic(image) && !Elf32.isElf32(image);
        if (multiboot instanceof MultibootHeader.BadChecksum bad && !elf64) {
            throw new KernelFormatException(String.format("kernel %s has a Multiboot header at offset %d whose "
                    + "checksum %#x does not complete magic and flags %#x (their sum must be 0)", name, bad.offset(),
                    bad.checksum(), bad.flags()));
        }
        if (Elf64.hasMagic(image)) {
            return new PvhLoader(image, name);
        }
        if (hasBootSectorSignature(image)) {
            return new BzImageLoader(image, name);
        }
        throw new KernelFormatException("kernel " + name + " is " + describe(image)
                + ": hako boots a bzImage (vmlinuz), an ELF vmlinux with a PVH note or a Multiboot kernel");
    }

    /** The Linux boot protocol's "HdrS" at 0x202. */
    private static boolean hasSetupHeader(byte[] image) {
        return image.length > 0x206
                && image[0x202] == 'H' && image[0x203] == 'd' && image[0x204] == 'r' && image[0x205] == 'S';
    }

    /** 0x55AA at 510: an old zImage, or a boot sector BzImageLoader explains it cannot boot. */
    private static boolean hasBootSectorSignature(byte[] image) {
        return image.length > 0x206 && (image[0x1FE] & 0xFF) == 0x55 && (image[0x1FF] & 0xFF) == 0xAA;
    }

    /** A guess at what a file that is not a kernel is, for the error message. */
    static String describe(byte[] image) {
        Compression c = Compression.detect(image, 0);
        if (c != null) {
            return "a " + c.label() + "-compressed file (decompress it first, or pass the bzImage itself)";
        }
        if (startsWith(image, CPIO_NEWC)) {
            return "a cpio archive (an initramfs? pass it as the initrd)";
        }
        if (image.length >= 2 && image[0] == '#' && image[1] == '!') {
            return "a script";
        }
        if (image.length >= 2 && image[0] == 'M' && image[1] == 'Z') {
            return "a PE/EFI executable without a Linux setup header";
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < Math.min(8, image.length); i++) {
            hex.append(String.format("%02x ", image[i] & 0xFF));
        }
        return "neither an ELF nor a bzImage (" + image.length + " bytes starting " + hex.toString().trim() + ")";
    }

    private static boolean startsWith(byte[] data, byte[] prefix) {
        if (data.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if (data[i] != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
