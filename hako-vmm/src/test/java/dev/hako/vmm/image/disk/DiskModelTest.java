package dev.hako.vmm.image.disk;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Random reads, writes, discards, write-zeroes, flushes and reopenings against a byte array holding what the
 * disk must contain, for raw and qcow2 images of every kind hako meets: made by qemu-img or by hako, versions 2
 * and 3, 512-byte to 64 KiB clusters (512-byte clusters with 64-bit refcounts grow the refcount table many
 * times), 1-bit refcounts, overlays over raw, qcow2 and compressed backing files. Afterwards qemu-img check must
 * find the image clean (no errors, no leaks after a clean close) and qemu-img convert must read exactly the
 * model's bytes.
 */
class DiskModelTest {
    private static final Arena ARENA = Arena.ofShared();
    private static final MemorySegment GUEST = ARENA.allocate(1 << 20, 4096);

    @TempDir
    Path dir;

    enum Setup {
        RAW("raw", 8 << 20, 9, false, false),
        QCOW2_V3_HAKO_64K("hako", 32 << 20, 16, false, false),
        QCOW2_V3_HAKO_512("hako", 16 << 20, 9, false, false),
        QCOW2_V3_QEMU_4K("cluster_size=4096", 16 << 20, 12, false, false),
        QCOW2_V2_QEMU_4K("compat=0.10,cluster_size=4096", 16 << 20, 12, false, false),
        QCOW2_V3_1BIT_REFCOUNTS("cluster_size=4096,refcount_bits=1", 16 << 20, 12, false, false),
        QCOW2_V3_64BIT_REFCOUNTS_512("cluster_size=512,refcount_bits=64", 8 << 20, 9, false, false),
        QCOW2_V3_OVERLAY_RAW("cluster_size=8192", 16 << 20, 13, true, false),
        QCOW2_V2_OVERLAY_QCOW2("compat=0.10,cluster_size=4096", 16 << 20, 12, true, true),
        QCOW2_V3_HAKO_OVERLAY_COMPRESSED("hako", 16 << 20, 12, true, true);

        final String create;
        final long size;
        final int clusterBits;
        final boolean overlay;
        final boolean qcow2Backing;

        Setup(String create, long size, int clusterBits, boolean overlay, boolean qcow2Backing) {
            this.create = create;
            this.size = size;
            this.clusterBits = clusterBits;
            this.overlay = overlay;
            this.qcow2Backing = qcow2Backing;
        }

        boolean raw() {
            return create.equals("raw");
        }

        boolean version2() {
            return create.contains("compat=0.10");
        }
    }

    @AfterAll
    static void freeGuestMemory() {
        ARENA.close();
    }

    @ParameterizedTest
    @EnumSource(Setup.class)
    void randomOperationsMatchTheModel(Setup setup) throws Exception {
        Random random = new Random(setup.ordinal() * 7919L + 17);
        byte[] model = new byte[(int) setup.size];
        byte[] backing = setup.overlay ? makeBacking(setup, random, model) : null;
        Path image = makeImage(setup, random, model);
        long clusterSize = 1L << setup.clusterBits;

        DiskImage disk = DiskImages.open(image, null, false);
        assertThat(disk.size()).isEqualTo(setup.size);
        for (int op = 0; op < 500; op++) {
            int choice = random.nextInt(100);
            long offset = offset(random, setup.size);
            int length = (int) Math.min(setup.size - offset, length(random));
            if (choice < 40) {
                write(disk, random, model, offset, length);
            } else if (choice < 70) {
                assertRead(disk, random, model, offset, length, op);
            } else if (choice < 78) {
                boolean unmap = random.nextBoolean();
                disk.writeZeroes(offset, length, unmap);
                Arrays.fill(model, (int) offset, (int) (offset + length), (byte) 0);
            } else if (choice < 86) {
                disk.discard(offset, length);
                discardInModel(setup, model, backing, offset, length, clusterSize);
            } else if (choice < 96) {
                disk.flush();
            } else {
                disk.close();
                disk = DiskImages.open(image, setup.raw() ? DiskFormat.RAW : DiskFormat.QCOW2, false);
            }
        }
        disk.close();

        if (!setup.raw()) {
            QemuTools.check(image, false);
        }
        assertThat(QemuTools.contents(image, dir)).as("qemu-img convert -O raw").isEqualTo(model);
        try (DiskImage reopened = DiskImages.open(image, null, true)) {
            assertRead(reopened, random, model, 0, (int) setup.size, -1);
        }
    }

    /** What discard leaves: raw punches a hole; qcow2 unmaps whole clusters (v2 overlays show the backing file). */
    private static void discardInModel(Setup setup, byte[] model, byte[] backing, long offset, long length,
            long clusterSize) {
        if (setup.raw()) {
            Arrays.fill(model, (int) offset, (int) (offset + length), (byte) 0);
            return;
        }
        long first = (offset + clusterSize - 1) & -clusterSize;
        long end = (offset + length) & -clusterSize;
        for (long c = first; c < end; c += clusterSize) {
            for (long i = c; i < c + clusterSize; i++) {
                model[(int) i] = setup.version2() && backing != null && i < backing.length ? backing[(int) i] : 0;
            }
        }
    }

    private Path makeImage(Setup setup, Random random, byte[] model) throws Exception {
        if (setup.raw()) {
            random.nextBytes(model);
            Path raw = dir.resolve("disk.raw");
            Files.write(raw, model);
            return raw;
        }
        Path image = dir.resolve("disk.qcow2");
        String base = setup.qcow2Backing ? "base.qcow2" : "base.raw";
        if (setup.create.equals("hako")) {
            if (setup.overlay) {
                Qcow2Image.create(image, setup.size, setup.clusterBits, base, null).close();
            } else {
                Qcow2Image.create(image, setup.size, setup.clusterBits).close();
            }
        } else if (setup.overlay) {
            QemuTools.img("create", "-q", "-f", "qcow2", "-o", setup.create, "-b", base, "-F",
                    setup.qcow2Backing ? "qcow2" : "raw", image.toString(), Long.toString(setup.size));
        } else {
            QemuTools.img("create", "-q", "-f", "qcow2", "-o", setup.create, image.toString(),
                    Long.toString(setup.size));
        }
        return image;
    }

    /**
     * A backing file three quarters the size of the overlay (so the last quarter reads as zeroes), with random
     * data and zero stretches; a qcow2 one is written by qemu-img convert, compressed for the hako-made overlay.
     */
    private byte[] makeBacking(Setup setup, Random random, byte[] model) throws Exception {
        byte[] base = new byte[(int) (setup.size * 3 / 4)];
        for (int at = 0; at < base.length; at += 64 << 10) {
            if (random.nextInt(3) != 0) {
                byte[] chunk = new byte[Math.min(64 << 10, base.length - at)];
                random.nextBytes(chunk);
                System.arraycopy(chunk, 0, base, at, chunk.length);
            }
        }
        Path raw = dir.resolve("base.raw");
        Files.write(raw, base);
        if (setup.qcow2Backing) {
            boolean compressed = setup.create.equals("hako");
            QemuTools.img("convert", "-q", "-O", "qcow2", compressed ? "-c" : "-q", raw.toString(),
                    dir.resolve("base.qcow2").toString());
            Files.delete(raw);
        }
        System.arraycopy(base, 0, model, 0, base.length);
        return base;
    }

    private static long offset(Random random, long size) {
        long offset = (long) (random.nextDouble() * size);
        return random.nextInt(8) == 0 ? offset : offset & ~511L;
    }

    private static long length(Random random) {
        long length = switch (random.nextInt(4)) {
            case 0 -> 1 + random.nextInt(4096);
            case 1 -> 512L * (1 + random.nextInt(16));
            case 2 -> 4096L * (1 + random.nextInt(32));
            default -> 65536L * (1 + random.nextInt(4));
        };
        return random.nextInt(8) == 0 ? length : (length + 511) & ~511L;
    }

    private static void write(DiskImage disk, Random random, byte[] model, long offset, int length)
            throws Exception {
        byte[] data = new byte[length];
        random.nextBytes(data);
        long at = random.nextInt((int) (GUEST.byteSize() - length + 1));
        MemorySegment.copy(data, 0, GUEST, ValueLayout.JAVA_BYTE, at, length);
        disk.write(offset, GUEST, at, length);
        System.arraycopy(data, 0, model, (int) offset, length);
    }

    static void assertRead(DiskImage disk, Random random, byte[] model, long offset, int length, int op)
            throws Exception {
        for (int done = 0; done < length; ) {
            int n = (int) Math.min(length - done, GUEST.byteSize());
            long at = random.nextInt((int) (GUEST.byteSize() - n + 1));
            disk.read(offset + done, GUEST, at, n);
            byte[] read = GUEST.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE);
            byte[] expected = Arrays.copyOfRange(model, (int) (offset + done), (int) (offset + done + n));
            if (!Arrays.equals(read, expected)) {
                int i = Arrays.mismatch(read, expected);
                throw new AssertionError("op " + op + ": read at " + (offset + done) + " (" + n + " bytes)"
                        + " differs from the model at disk offset " + (offset + done + i));
            }
            done += n;
        }
    }
}
