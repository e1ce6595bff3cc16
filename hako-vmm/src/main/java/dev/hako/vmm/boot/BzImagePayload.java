package dev.hako.vmm.boot;

import java.io.IOException;
import java.util.Arrays;

/**
 * The compressed vmlinux inside a bzImage, as scripts/extract-vmlinux finds it, but located through the setup
 * header's payload_offset/payload_length (protocol 2.08+) rather than by scanning for magics. The payload is the
 * stripped vmlinux ELF (plus relocation data for relocatable kernels), compressed with CONFIG_KERNEL_*; the kernel
 * build appends the uncompressed size as a 4-byte word.
 */
public final class BzImagePayload {
    private BzImagePayload() {
    }

    /** The compression format of the payload of {@code image}. */
    public static Compression compression(byte[] image, String name) throws KernelFormatException {
        SetupHeader header = SetupHeader.parse(image, name);
        int start = payloadStart(header, image, name);
        Compression c = Compression.detect(image, start);
        if (c == null) {
            throw new KernelFormatException(String.format("%s: payload at %#x has no known compression magic", name,
                    start));
        }
        return c;
    }

    /** Decompresses the payload of the bzImage {@code image}: the vmlinux ELF. */
    public static byte[] extractVmlinux(byte[] image, String name) throws IOException {
        SetupHeader header = SetupHeader.parse(image, name);
        int start = payloadStart(header, image, name);
        byte[] payload = Arrays.copyOfRange(image, start, start + (int) header.payloadLength());
        byte[] vmlinux = compression(image, name).decompress(payload);
        if (!Elf64.hasMagic(vmlinux)) {
            throw new KernelFormatException(name + ": the decompressed payload is not an ELF file");
        }
        return vmlinux;
    }

    private static int payloadStart(SetupHeader header, byte[] image, String name) throws KernelFormatException {
        long start = header.protectedModeOffset() + header.payloadOffset();
        if (header.payloadOffset() == 0 || start + header.payloadLength() > image.length) {
            throw new KernelFormatException(name + " has no payload within the file (payload_offset "
                    + header.payloadOffset() + ", length " + header.payloadLength() + ")");
        }
        return (int) start;
    }
}
