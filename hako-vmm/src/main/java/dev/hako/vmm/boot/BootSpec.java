package dev.hako.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * What a loader is asked to boot besides the kernel: the command line, an optional initrd (empty for none), the
 * ACPI RSDP address the firmware tables were written at (0 for none), the memory map and, for a Multiboot kernel,
 * its modules (a Linux kernel takes the initrd instead).
 */
public record BootSpec(String cmdline, byte[] initrd, long rsdpGpa, E820Map memoryMap, List<BootModule> modules) {
    public BootSpec {
        Objects.requireNonNull(cmdline, "cmdline");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(memoryMap, "memoryMap");
        modules = List.copyOf(modules);
        if (cmdline.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("kernel command line contains a NUL byte");
        }
        if (cmdlineBytes(cmdline).length + 1 > BootLayout.CMDLINE_MAX) {
            throw new IllegalArgumentException("kernel command line is longer than " + (BootLayout.CMDLINE_MAX - 1)
                    + " bytes");
        }
    }

    /** No Multiboot modules. */
    public BootSpec(String cmdline, byte[] initrd, long rsdpGpa, E820Map memoryMap) {
        this(cmdline, initrd, rsdpGpa, memoryMap, List.of());
    }

    /** The standard PC memory map for {@code ramSize} bytes of RAM from address 0. */
    public static BootSpec of(long ramSize, String cmdline, byte[] initrd, long rsdpGpa) {
        return new BootSpec(cmdline, initrd, rsdpGpa, E820Map.forRam(ramSize));
    }

    public boolean hasInitrd() {
        return initrd.length > 0;
    }

    /**
     * The command line as the guest sees it: its UTF-8 bytes without the terminating NUL (the boot protocol's
     * command line is bytes; Linux passes them on to init unchanged).
     */
    public byte[] cmdlineBytes() {
        return cmdlineBytes(cmdline);
    }

    private static byte[] cmdlineBytes(String cmdline) {
        try {
            ByteBuffer bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(cmdline));
            byte[] out = new byte[bytes.remaining()];
            bytes.get(out);
            return out;
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("kernel command line is not valid Unicode (a lone surrogate)");
        }
    }
}
