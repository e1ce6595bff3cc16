package dev.hako.vmm.machine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * Tiny PVH ELF "kernels" for machine tests: one segment at 2 MiB holding the given code at its start, then
 * identity-mapping page tables for the first 4 MiB and a GDT with a 64-bit code segment (an IDT with no
 * entries after it). The code starts in PVH's 32-bit entry state with interrupts off.
 */
public final class TinyPvhKernel {
    public static final long BASE = 0x200000, PML4 = BASE + 0x1000, GDT = BASE + 0x4000;

    private TinyPvhKernel() {
    }

    /** {@code v} as the 8 hex digits of a little-endian 32-bit immediate. */
    public static String le32(long v) {
        return String.format("%02x%02x%02x%02x", v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF, (v >> 24) & 0xFF);
    }

    /** Writes the kernel with {@code code} (hex, spaces allowed) to {@code directory}/kernel.elf. */
    public static Path write(Path directory, String code) throws java.io.IOException {
        byte[] image = new byte[0x1000 + 0x5000];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0, new byte[] {0x7F, 'E', 'L', 'F', 2, 1, 1});
        b.putShort(16, (short) 2).putShort(18, (short) 62).putInt(20, 1).putLong(24, BASE).putLong(32, 64);
        b.putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) 2).putShort(58, (short) 64);
        // PT_LOAD of the segment, PT_NOTE of the Xen PVH entry note.
        b.putInt(64, 1).putInt(68, 7).putLong(72, 0x1000).putLong(80, BASE).putLong(88, BASE)
                .putLong(96, 0x5000).putLong(104, 0x5000).putLong(112, 0x1000);
        b.putInt(120, 4).putInt(124, 4).putLong(128, 0x200).putLong(152, 20).putLong(160, 20).putLong(168, 4);
        b.putInt(0x200, 4).putInt(0x204, 4).putInt(0x208, 18).put(0x20C, new byte[] {'X', 'e', 'n', 0})
                .putInt(0x210, (int) BASE);
        int seg = 0x1000;
        byte[] bytes = HexFormat.of().parseHex(code.replace(" ", ""));
        b.put(seg, bytes);
        b.putLong(seg + 0x1000, (PML4 + 0x1000) | 3);
        b.putLong(seg + 0x2000, (PML4 + 0x2000) | 3);
        b.putLong(seg + 0x3000, 0x83).putLong(seg + 0x3008, 0x200083);
        b.putLong(seg + 0x4008, 0x00AF9A000000FFFFL);
        b.putShort(seg + 0x4020, (short) 15).putInt(seg + 0x4022, (int) GDT);
        b.putShort(seg + 0x4030, (short) 0).putLong(seg + 0x4032, 0); // an IDT with no entries
        Path kernel = directory.resolve("kernel.elf");
        Files.write(kernel, image);
        return kernel;
    }
}
