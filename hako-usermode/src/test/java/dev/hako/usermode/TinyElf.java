package dev.hako.usermode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;

/** Hand-made static x86-64 executables: one PT_LOAD (R+X) at 0x400000 holding the given machine code. */
final class TinyElf {
    static final long BASE = 0x400000;
    static final int CODE_OFFSET = 64 + 56;

    private TinyElf() {}

    static byte[] of(String hexCode) {
        return build(HexFormat.of().parseHex(hexCode.replace(" ", "")), 2, 62, 2, 0);
    }

    /** Machine code in an ELF of class {@code elfClass}, machine {@code machine}, type {@code type}, extra phdr type. */
    static byte[] build(byte[] code, int elfClass, int machine, int type, int extraPhdrType) {
        int phnum = extraPhdrType == 0 ? 1 : 2;
        int codeOffset = 64 + 56 * phnum;
        ByteBuffer b = ByteBuffer.allocate(codeOffset + code.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7F, 'E', 'L', 'F', (byte) elfClass, 1, 1, 0});
        b.position(16);
        b.putShort((short) type).putShort((short) machine).putInt(1);
        b.putLong(BASE + codeOffset); // entry
        b.putLong(64); // phoff
        b.putLong(0); // shoff
        b.putInt(0);
        b.putShort((short) 64).putShort((short) 56).putShort((short) phnum);
        b.putShort((short) 64).putShort((short) 0).putShort((short) 0);
        // PT_LOAD covering the whole file, R+X.
        b.putInt(1).putInt(5).putLong(0).putLong(BASE).putLong(BASE)
                .putLong(codeOffset + code.length).putLong(codeOffset + code.length).putLong(0x1000);
        if (extraPhdrType != 0) {
            b.putInt(extraPhdrType).putInt(4).putLong(0).putLong(BASE).putLong(BASE).putLong(1).putLong(1).putLong(1);
        }
        b.put(code);
        return b.array();
    }
}
