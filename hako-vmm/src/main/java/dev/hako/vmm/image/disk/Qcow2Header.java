package dev.hako.vmm.image.disk;

import static dev.hako.vmm.image.disk.Qcow2Format.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * A qcow2 image's header (qcow2.txt "Header", "Header extensions"), read from the first cluster and checked:
 * every field that later code trusts (cluster size, table offsets and sizes, the virtual size) is validated here
 * against the file and against QEMU's own limits, so a hostile header is one clear error and never a huge
 * allocation. Features hako does not implement are refused by name: encryption, external data files, extended
 * L2 entries, a compression type other than zlib, unknown incompatible bits; a dirty (lazy refcounts) or
 * corrupt-marked image opens read-only only.
 */
record Qcow2Header(int version, int clusterBits, long size, long l1Size, long l1TableOffset,
        long refcountTableOffset, long refcountTableClusters, int snapshotCount, long autoclearFeatures,
        int refcountOrder, String backingFile, String backingFormat) {

    long clusterSize() {
        return 1L << clusterBits;
    }

    /** Reads and checks the header of {@code file}; {@code writable} refuses what may only be read. */
    static Qcow2Header read(ImageFile file, boolean writable) throws IOException {
        long fileLength = file.length();
        if (fileLength < V2_HEADER_LENGTH) {
            throw corrupt(file, "truncated: the file has " + fileLength + " bytes, a qcow2 header needs "
                    + V2_HEADER_LENGTH);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fixed = arena.allocate(V3_MIN_HEADER_LENGTH);
            file.read(0, fixed, 0, V3_MIN_HEADER_LENGTH);
            if (fixed.get(BE_INT, HEADER_MAGIC) != MAGIC) {
                throw corrupt(file, "no qcow2 magic (QFI\\xfb) at the start of the file");
            }
            int version = fixed.get(BE_INT, HEADER_VERSION);
            if (version != 2 && version != 3) {
                throw unsupported(file, "qcow2 version " + Integer.toUnsignedString(version));
            }
            int clusterBits = fixed.get(BE_INT, HEADER_CLUSTER_BITS);
            if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
                throw corrupt(file, "cluster_bits " + Integer.toUnsignedString(clusterBits) + " is outside "
                        + MIN_CLUSTER_BITS + ".." + MAX_CLUSTER_BITS);
            }
            int clusterSize = 1 << clusterBits;
            MemorySegment first = arena.allocate(clusterSize);
            file.read(0, first, 0, clusterSize);
            return parse(file, first, version, clusterBits, writable);
        }
    }

    private static Qcow2Header parse(ImageFile file, MemorySegment h, int version, int clusterBits,
            boolean writable) throws IOException {
        long clusterSize = 1L << clusterBits;
        int headerLength = V2_HEADER_LENGTH;
        long incompatible = 0, autoclear = 0;
        int refcountOrder = 4, compressionType = 0;
        if (version == 3) {
            headerLength = h.get(BE_INT, HEADER_HEADER_LENGTH);
            if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 != 0 || headerLength > clusterSize) {
                throw corrupt(file, "header_length " + Integer.toUnsignedString(headerLength) + " is invalid");
            }
            incompatible = h.get(BE_LONG, HEADER_INCOMPATIBLE_FEATURES);
            autoclear = h.get(BE_LONG, HEADER_AUTOCLEAR_FEATURES);
            refcountOrder = h.get(BE_INT, HEADER_REFCOUNT_ORDER);
            if (refcountOrder < 0 || refcountOrder > MAX_REFCOUNT_ORDER) {
                throw corrupt(file, "refcount_order " + Integer.toUnsignedString(refcountOrder) + " exceeds "
                        + MAX_REFCOUNT_ORDER);
            }
            if (headerLength > HEADER_COMPRESSION_TYPE) {
                compressionType = Byte.toUnsignedInt(h.get(ValueLayout.JAVA_BYTE, HEADER_COMPRESSION_TYPE));
            }
        }
        long backingOffset = h.get(BE_LONG, HEADER_BACKING_FILE_OFFSET);
        long backingSize = Integer.toUnsignedLong(h.get(BE_INT, HEADER_BACKING_FILE_SIZE));
        long extensionsEnd = clusterSize;
        String backingFile = null;
        if (backingOffset != 0) {
            if (backingSize == 0 || backingSize > MAX_BACKING_FILE_NAME || backingOffset < headerLength
                    || backingOffset > clusterSize - backingSize) {
                throw corrupt(file, "backing file name (" + backingSize + " bytes at " + backingOffset
                        + ") does not fit in the first cluster");
            }
            backingFile = string(h, backingOffset, backingSize);
            extensionsEnd = backingOffset;
        }
        Extensions extensions = Extensions.read(file, h, headerLength, extensionsEnd);
        refuseUnsupported(file, h, incompatible, compressionType, extensions, writable);
        long size = h.get(BE_LONG, HEADER_SIZE);
        if (size < 0) {
            throw corrupt(file, "virtual size " + Long.toUnsignedString(size) + " is too large");
        }
        long l1Size = Integer.toUnsignedLong(h.get(BE_INT, HEADER_L1_SIZE));
        long l1Offset = h.get(BE_LONG, HEADER_L1_TABLE_OFFSET);
        long reftableOffset = h.get(BE_LONG, HEADER_REFCOUNT_TABLE_OFFSET);
        long reftableClusters = Integer.toUnsignedLong(h.get(BE_INT, HEADER_REFCOUNT_TABLE_CLUSTERS));
        checkTables(file, clusterBits, size, l1Size, l1Offset, reftableOffset, reftableClusters);
        int snapshots = h.get(BE_INT, HEADER_NB_SNAPSHOTS);
        return new Qcow2Header(version, clusterBits, size, l1Size, l1Offset, reftableOffset, reftableClusters,
                snapshots, autoclear, refcountOrder, backingFile, extensions.backingFormat);
    }

    private static void refuseUnsupported(ImageFile file, MemorySegment h, long incompatible, int compressionType,
            Extensions extensions, boolean writable) throws IOException {
        int crypt = h.get(BE_INT, HEADER_CRYPT_METHOD);
        if (crypt != CRYPT_NONE) {
            throw unsupported(file, "encryption (" + (crypt == CRYPT_AES ? "AES" : crypt == CRYPT_LUKS ? "LUKS"
                    : "method " + Integer.toUnsignedString(crypt)) + ")");
        }
        if (compressionType != 0 && (incompatible & (1L << INCOMPAT_COMPRESSION)) == 0) {
            throw corrupt(file, "compression_type " + compressionType + " without the compression type bit");
        }
        for (int bit = 0; bit < 64; bit++) {
            if ((incompatible & (1L << bit)) == 0 || bit == INCOMPAT_DIRTY || bit == INCOMPAT_CORRUPT) {
                continue;
            }
            String name = switch (bit) {
                case INCOMPAT_COMPRESSION -> "compression type " + (compressionType == 1 ? "zstd"
                        : Integer.toString(compressionType)) + " (hako reads zlib-compressed clusters only)";
                case INCOMPAT_DATA_FILE, INCOMPAT_EXTL2 -> incompatibleFeatureName(bit);
                default -> extensions.featureNames.getOrDefault(bit, incompatibleFeatureName(bit));
            };
            throw unsupported(file, name);
        }
        if (writable && (incompatible & (1L << INCOMPAT_DIRTY)) != 0) {
            throw new IOException(file.name() + ": the image is dirty (it was in use with lazy refcounts);"
                    + " repair it with qemu-img check -r all, or open it read-only");
        }
        if (writable && (incompatible & (1L << INCOMPAT_CORRUPT)) != 0) {
            throw new IOException(file.name() + ": the image is marked corrupt; repair it with"
                    + " qemu-img check -r all, or open it read-only");
        }
    }

    private static void checkTables(ImageFile file, int clusterBits, long size, long l1Size, long l1Offset,
            long reftableOffset, long reftableClusters) throws IOException {
        long clusterSize = 1L << clusterBits;
        long fileLength = file.length();
        long guestClusters = (size >>> clusterBits) + ((size & (clusterSize - 1)) == 0 ? 0 : 1);
        int l2Bits = clusterBits - 3;
        long l1Needed = (guestClusters >>> l2Bits) + ((guestClusters & ((1L << l2Bits) - 1)) == 0 ? 0 : 1);
        if (l1Needed * 8 > MAX_L1_BYTES) {
            throw unsupported(file, "virtual size " + size + " (its L1 table would exceed QEMU's 32 MiB limit)");
        }
        if (l1Size * 8 > MAX_L1_BYTES) {
            throw corrupt(file, "L1 table of " + l1Size + " entries exceeds QEMU's 32 MiB limit");
        }
        if (l1Size < l1Needed) {
            throw corrupt(file, "L1 table of " + l1Size + " entries is too small for the virtual size " + size);
        }
        if (l1Size > 0) {
            checkArea(file, "L1 table", l1Offset, l1Size * 8, clusterSize, fileLength);
        }
        if (reftableClusters == 0 || reftableClusters * clusterSize > MAX_REFTABLE_BYTES) {
            throw corrupt(file, "refcount table of " + reftableClusters + " clusters is empty or exceeds QEMU's"
                    + " 8 MiB limit");
        }
        checkArea(file, "refcount table", reftableOffset, reftableClusters * clusterSize, clusterSize,
                fileLength);
        if (l1Size > 0 && l1Offset < reftableOffset + reftableClusters * clusterSize
                && reftableOffset < l1Offset + l1Size * 8) {
            throw corrupt(file, "the L1 table and the refcount table overlap");
        }
    }

    private static void checkArea(ImageFile file, String what, long offset, long length, long clusterSize,
            long fileLength) throws IOException {
        if ((offset & (clusterSize - 1)) != 0) {
            throw corrupt(file, what + " offset " + offset + " is not cluster-aligned");
        }
        if (offset < clusterSize) {
            throw corrupt(file, what + " overlaps the image header");
        }
        if (offset > fileLength || length > fileLength - offset) {
            throw corrupt(file, what + " at " + offset + " (" + length + " bytes) lies past the end of the file"
                    + " (" + fileLength + " bytes)");
        }
    }

    private static String string(MemorySegment h, long offset, long length) {
        byte[] bytes = h.asSlice(offset, length).toArray(ValueLayout.JAVA_BYTE);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    static IOException corrupt(ImageFile file, String problem) {
        return new IOException(file.name() + ": corrupt qcow2 image: " + problem);
    }

    private static IOException unsupported(ImageFile file, String feature) {
        return new IOException(file.name() + ": qcow2 feature not supported: " + feature);
    }

    /** The header extensions hako reads: the backing file's format and the feature name table. */
    private record Extensions(String backingFormat, Map<Integer, String> featureNames) {
        private static final int FEATURE_ENTRY = 48, FEATURE_NAME = 46, INCOMPATIBLE = 0;

        static Extensions read(ImageFile file, MemorySegment h, long start, long end) throws IOException {
            String backingFormat = null;
            Map<Integer, String> names = new HashMap<>();
            long offset = start;
            while (offset + 8 <= end) {
                int type = h.get(BE_INT, offset);
                long length = Integer.toUnsignedLong(h.get(BE_INT, offset + 4));
                if (type == EXT_END) {
                    break;
                }
                if (length > end - offset - 8) {
                    throw corrupt(file, "header extension 0x" + Integer.toHexString(type) + " of " + length
                            + " bytes overruns the header area");
                }
                long data = offset + 8;
                if (type == EXT_BACKING_FORMAT) {
                    backingFormat = string(h, data, length);
                } else if (type == EXT_FEATURE_TABLE) {
                    for (long e = data; e + FEATURE_ENTRY <= data + length; e += FEATURE_ENTRY) {
                        if (h.get(ValueLayout.JAVA_BYTE, e) == INCOMPATIBLE) {
                            int bit = h.get(ValueLayout.JAVA_BYTE, e + 1) & 0x3f;
                            names.put(bit, string(h, e + 2, FEATURE_NAME).replace("\0", ""));
                        }
                    }
                }
                offset = data + ((length + 7) & ~7L);
            }
            return new Extensions(backingFormat, names);
        }
    }
}
