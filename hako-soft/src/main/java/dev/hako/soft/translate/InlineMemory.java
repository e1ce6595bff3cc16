package dev.hako.soft.translate;

import static java.lang.constant.ConstantDescs.CD_byte;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_short;
import static java.lang.constant.ConstantDescs.CD_void;

import java.lang.classfile.CodeBuilder;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.foreign.ValueLayout;

/**
 * The RAM access of a TLB hit, emitted into translated code: the value layouts are static finals here, so
 * HotSpot sees constant layouts, as in {@link dev.hako.soft.mmu.Mmu}'s own fast paths.
 */
public final class InlineMemory {
    public static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED;
    public static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    public static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ClassDesc CD_SEGMENT = ClassDesc.of("java.lang.foreign.MemorySegment");
    private static final ClassDesc CD_SELF = ClassDesc.of(InlineMemory.class.getName());
    private static final String[] FIELDS = {null, "U8", "U16", null, "U32", null, null, null, "U64"};
    private static final ClassDesc[] LAYOUTS = {null, ClassDesc.of("java.lang.foreign.ValueLayout$OfByte"),
        ClassDesc.of("java.lang.foreign.ValueLayout$OfShort"), null, ClassDesc.of("java.lang.foreign.ValueLayout$OfInt"),
        null, null, null, ClassDesc.of("java.lang.foreign.ValueLayout$OfLong")};
    private static final ClassDesc[] VALUES = {null, CD_byte, CD_short, null, CD_int, null, null, null, CD_long};

    private InlineMemory() {}

    /** Pushes the RAM offset of the access: addend[index] + address. */
    private static void offset(CodeBuilder cob, int addends, int index, int address) {
        cob.aload(addends).iload(index).laload().lload(address).ladd();
    }

    /** Pushes the {@code size}-byte value at the access's RAM offset, zero-extended to a long. */
    static void load(CodeBuilder cob, int ram, int addends, int index, int address, int size) {
        cob.aload(ram).getstatic(CD_SELF, FIELDS[size], LAYOUTS[size]);
        offset(cob, addends, index, address);
        cob.invokeinterface(CD_SEGMENT, "get", MethodTypeDesc.of(VALUES[size], LAYOUTS[size], CD_long));
        switch (size) {
            case 1 -> cob.i2l().loadConstant(0xFFL).land();
            case 2 -> cob.i2l().loadConstant(0xFFFFL).land();
            case 4 -> cob.i2l().loadConstant(0xFFFFFFFFL).land();
            default -> { }
        }
    }

    /** Stores the low {@code size} bytes of the long in local {@code value} at the access's RAM offset. */
    static void store(CodeBuilder cob, int ram, int addends, int index, int address, int value, int size) {
        cob.aload(ram).getstatic(CD_SELF, FIELDS[size], LAYOUTS[size]);
        offset(cob, addends, index, address);
        cob.lload(value);
        switch (size) {
            case 1 -> cob.l2i().i2b();
            case 2 -> cob.l2i().i2s();
            case 4 -> cob.l2i();
            default -> { }
        }
        cob.invokeinterface(CD_SEGMENT, "set", MethodTypeDesc.of(CD_void, LAYOUTS[size], CD_long, VALUES[size]));
    }
}
