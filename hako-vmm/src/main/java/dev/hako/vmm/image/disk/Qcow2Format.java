package dev.hako.vmm.image.disk;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The qcow2 format's names and numbers, once (QEMU's docs/interop/qcow2.txt): header field offsets, feature
 * bits, header extension types, the bits of L1, L2 and refcount table entries, and the limits QEMU itself
 * enforces (which bound what a hostile image can make us allocate).
 */
final class Qcow2Format {
    /** "QFI\xfb". */
    static final int MAGIC = 0x514649fb;

    // Header fields (byte offsets); all numbers are big-endian.
    static final int HEADER_MAGIC = 0, HEADER_VERSION = 4, HEADER_BACKING_FILE_OFFSET = 8,
            HEADER_BACKING_FILE_SIZE = 16, HEADER_CLUSTER_BITS = 20, HEADER_SIZE = 24, HEADER_CRYPT_METHOD = 32,
            HEADER_L1_SIZE = 36, HEADER_L1_TABLE_OFFSET = 40, HEADER_REFCOUNT_TABLE_OFFSET = 48,
            HEADER_REFCOUNT_TABLE_CLUSTERS = 56, HEADER_NB_SNAPSHOTS = 60, HEADER_SNAPSHOTS_OFFSET = 64,
            HEADER_INCOMPATIBLE_FEATURES = 72, HEADER_COMPATIBLE_FEATURES = 80, HEADER_AUTOCLEAR_FEATURES = 88,
            HEADER_REFCOUNT_ORDER = 96, HEADER_HEADER_LENGTH = 100, HEADER_COMPRESSION_TYPE = 104;
    static final int V2_HEADER_LENGTH = 72, V3_MIN_HEADER_LENGTH = 104;
    /** What QEMU writes for version 3: the fields through compression_type, padded to a multiple of 8. */
    static final int V3_HEADER_LENGTH = 112;

    // incompatible_features bits
    static final int INCOMPAT_DIRTY = 0, INCOMPAT_CORRUPT = 1, INCOMPAT_DATA_FILE = 2, INCOMPAT_COMPRESSION = 3,
            INCOMPAT_EXTL2 = 4;
    // compatible_features bits
    static final int COMPAT_LAZY_REFCOUNTS = 0;

    // Header extension types
    static final int EXT_END = 0, EXT_BACKING_FORMAT = 0xe2792aca, EXT_FEATURE_TABLE = 0x6803f857,
            EXT_BITMAPS = 0x23852875, EXT_CRYPTO = 0x0537be77, EXT_DATA_FILE = 0x44415441;

    /** crypt_method values. */
    static final int CRYPT_NONE = 0, CRYPT_AES = 1, CRYPT_LUKS = 2;

    // L1 and L2 entries
    static final long OFLAG_COPIED = 1L << 63, OFLAG_COMPRESSED = 1L << 62, OFLAG_ZERO = 1L;
    /** Bits 9-55: the cluster-aligned host offset of an L2 table or of a standard data cluster. */
    static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    /** Bits 9-63 of a refcount table entry. */
    static final long REFTABLE_OFFSET_MASK = 0xffff_ffff_ffff_fe00L;
    /** Compressed clusters count their length in 512-byte sectors. */
    static final int SECTOR_BITS = 9;

    // Limits
    static final int MIN_CLUSTER_BITS = 9, MAX_CLUSTER_BITS = 21;
    static final int MAX_REFCOUNT_ORDER = 6;
    /** QEMU refuses larger L1 tables (qcow2.h QCOW_MAX_L1_SIZE) and refcount tables (QCOW_MAX_REFTABLE_SIZE). */
    static final long MAX_L1_BYTES = 32L << 20, MAX_REFTABLE_BYTES = 8L << 20;
    static final int MAX_BACKING_FILE_NAME = 1023;
    /** L2 entries can address host offsets below 2^56 only. */
    static final long MAX_HOST_OFFSET = 1L << 56;

    static final ValueLayout.OfLong BE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfInt BE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    static final ValueLayout.OfShort BE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);

    private Qcow2Format() {}

    /** The name the specification gives an incompatible feature bit, for refusals. */
    static String incompatibleFeatureName(int bit) {
        return switch (bit) {
            case INCOMPAT_DIRTY -> "dirty bit (lazy refcounts in use)";
            case INCOMPAT_CORRUPT -> "corrupt bit";
            case INCOMPAT_DATA_FILE -> "external data file";
            case INCOMPAT_COMPRESSION -> "compression type";
            case INCOMPAT_EXTL2 -> "extended L2 entries";
            default -> "incompatible feature bit " + bit;
        };
    }
}
