package dev.hako.vmm.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The zero page, struct boot_params, as offsets (Documentation/arch/x86/zero-page.rst and the setup header table
 * in Documentation/arch/x86/boot.rst; arch/x86/include/uapi/asm/bootparam.h). The setup header lives at the same
 * offsets in the bzImage file and in the zero page, so {@link SetupHeader} reads the file with these constants too.
 * An instance is one 4 KiB page being filled in before it is copied to guest memory.
 */
public final class BootParams {
    public static final int SIZE = 4096;

    // --- zero page proper ---
    public static final int ACPI_RSDP_ADDR = 0x070;      // u64, protocol 2.14+
    public static final int EXT_RAMDISK_IMAGE = 0x0C0;   // u32, high half of ramdisk_image
    public static final int EXT_RAMDISK_SIZE = 0x0C4;    // u32
    public static final int EXT_CMD_LINE_PTR = 0x0C8;    // u32
    public static final int E820_ENTRIES = 0x1E8;        // u8
    public static final int SENTINEL = 0x1EF;            // u8, must stay zero from the loader
    public static final int E820_TABLE = 0x2D0;          // 128 x struct boot_e820_entry {u64 addr, size; u32 type}
    public static final int E820_ENTRY_SIZE = 20;
    public static final int E820_MAX_ENTRIES = 128;

    // --- struct setup_header, starting at 0x1F1 ---
    public static final int SETUP_HEADER = 0x1F1;
    public static final int SETUP_SECTS = 0x1F1;         // u8, 0 means 4
    public static final int SYSSIZE = 0x1F4;             // u32, the protected-mode kernel in 16-byte units
    public static final int VID_MODE = 0x1FA;            // u16
    public static final int BOOT_FLAG = 0x1FE;           // u16, 0xAA55
    public static final int JUMP = 0x200;                // u16; the second byte is the header length past 0x202
    public static final int HEADER = 0x202;              // u32, "HdrS"
    public static final int VERSION = 0x206;             // u16
    public static final int TYPE_OF_LOADER = 0x210;      // u8
    public static final int LOADFLAGS = 0x211;           // u8
    public static final int CODE32_START = 0x214;        // u32
    public static final int RAMDISK_IMAGE = 0x218;       // u32
    public static final int RAMDISK_SIZE = 0x21C;        // u32
    public static final int HEAP_END_PTR = 0x224;        // u16
    public static final int CMD_LINE_PTR = 0x228;        // u32
    public static final int INITRD_ADDR_MAX = 0x22C;     // u32
    public static final int KERNEL_ALIGNMENT = 0x230;    // u32
    public static final int RELOCATABLE_KERNEL = 0x234;  // u8
    public static final int XLOADFLAGS = 0x236;          // u16
    public static final int CMDLINE_SIZE = 0x238;        // u32
    public static final int HARDWARE_SUBARCH = 0x23C;    // u32
    public static final int PAYLOAD_OFFSET = 0x248;      // u32
    public static final int PAYLOAD_LENGTH = 0x24C;      // u32
    public static final int SETUP_DATA = 0x250;          // u64
    public static final int PREF_ADDRESS = 0x258;        // u64
    public static final int INIT_SIZE = 0x260;           // u32

    public static final int BOOT_FLAG_MAGIC = 0xAA55;
    public static final int HEADER_MAGIC = 0x5372_6448;  // "HdrS" little-endian
    public static final int LOADFLAGS_LOADED_HIGH = 0x01;
    public static final int LOADFLAGS_KEEP_SEGMENTS = 0x40;
    public static final int LOADFLAGS_CAN_USE_HEAP = 0x80;
    public static final int XLF_KERNEL_64 = 0x01;
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 0x02;
    /** "Undefined" boot loader ID (boot.rst, type_of_loader). */
    public static final int LOADER_UNDEFINED = 0xFF;
    /** vid_mode "normal" (VGA 80x25), the value boot loaders pass when they do not ask for a mode. */
    public static final int VID_MODE_NORMAL = 0xFFFF;
    /** heap_end_ptr: end of the real-mode setup heap, counted from the start of the setup code, minus 0x200. */
    public static final int HEAP_END = 0xFE00;

    private final ByteBuffer page;

    public BootParams() {
        this(new byte[SIZE]);
    }

    /** Views an existing zero page (for instance one read back from guest memory). */
    public BootParams(byte[] page) {
        if (page.length != SIZE) {
            throw new IllegalArgumentException("boot_params is " + SIZE + " bytes, got " + page.length);
        }
        this.page = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN);
    }

    public byte[] bytes() {
        return page.array();
    }

    public int u8(int offset) {
        return page.get(offset) & 0xFF;
    }

    public int u16(int offset) {
        return page.getShort(offset) & 0xFFFF;
    }

    public long u32(int offset) {
        return page.getInt(offset) & 0xFFFF_FFFFL;
    }

    public long u64(int offset) {
        return page.getLong(offset);
    }

    public BootParams putU8(int offset, int value) {
        page.put(offset, (byte) value);
        return this;
    }

    public BootParams putU16(int offset, int value) {
        page.putShort(offset, (short) value);
        return this;
    }

    public BootParams putU32(int offset, long value) {
        page.putInt(offset, (int) value);
        return this;
    }

    public BootParams putU64(int offset, long value) {
        page.putLong(offset, value);
        return this;
    }

    public BootParams putBytes(int offset, byte[] bytes, int from, int length) {
        page.put(offset, bytes, from, length);
        return this;
    }

    /** A 64-bit address split across a 32-bit setup header field and its ext_ high half in the zero page. */
    public BootParams putSplit(int lowOffset, int highOffset, long value) {
        return putU32(lowOffset, value).putU32(highOffset, value >>> 32);
    }

    public long getSplit(int lowOffset, int highOffset) {
        return u32(lowOffset) | (u32(highOffset) << 32);
    }

    public BootParams putE820(E820Map map) {
        if (map.entries().size() > E820_MAX_ENTRIES) {
            throw new IllegalArgumentException("e820 map has " + map.entries().size() + " entries, boot_params holds "
                    + E820_MAX_ENTRIES);
        }
        int offset = E820_TABLE;
        for (E820Map.Entry e : map.entries()) {
            putU64(offset, e.address()).putU64(offset + 8, e.size()).putU32(offset + 16, e.type());
            offset += E820_ENTRY_SIZE;
        }
        return putU8(E820_ENTRIES, map.entries().size());
    }

    public E820Map e820() {
        List<E820Map.Entry> entries = new ArrayList<>();
        for (int i = 0; i < u8(E820_ENTRIES); i++) {
            int offset = E820_TABLE + i * E820_ENTRY_SIZE;
            entries.add(new E820Map.Entry(u64(offset), u64(offset + 8), (int) u32(offset + 16)));
        }
        return new E820Map(entries);
    }
}
