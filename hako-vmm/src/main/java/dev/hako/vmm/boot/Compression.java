package dev.hako.vmm.boot;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.zip.GZIPInputStream;

/**
 * The compression formats a Linux kernel payload or an initramfs may use (the magics in lib/decompress.c), told
 * apart by their first bytes. gzip and LZ4 are decoded in Java; the others through the host tool, when present.
 */
public enum Compression {
    GZIP("gzip", new byte[] {0x1F, (byte) 0x8B}, null),
    XZ("xz", new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0}, List.of("xz", "-dc")),
    ZSTD("zstd", new byte[] {0x28, (byte) 0xB5, 0x2F, (byte) 0xFD}, List.of("zstd", "-dc")),
    LZ4("lz4 (legacy)", new byte[] {0x02, 0x21, 0x4C, 0x18}, null),
    BZIP2("bzip2", new byte[] {'B', 'Z', 'h'}, List.of("bzip2", "-dc")),
    LZMA("lzma", new byte[] {0x5D, 0, 0}, List.of("xz", "--format=lzma", "-dc")),
    LZO("lzo", new byte[] {(byte) 0x89, 'L', 'Z', 'O', 0}, List.of("lzop", "-dc"));

    private final String label;
    private final byte[] magic;
    private final List<String> hostTool;

    Compression(String label, byte[] magic, List<String> hostTool) {
        this.label = label;
        this.magic = magic;
        this.hostTool = hostTool;
    }

    public String label() {
        return label;
    }

    /** The format whose magic starts {@code data} at {@code offset}, or null. */
    public static Compression detect(byte[] data, int offset) {
        for (Compression c : values()) {
            if (c.matches(data, offset)) {
                return c;
            }
        }
        return null;
    }

    boolean matches(byte[] data, int offset) {
        if (offset < 0 || offset + magic.length > data.length) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if (data[offset + i] != magic[i]) {
                return false;
            }
        }
        return true;
    }

    public byte[] decompress(byte[] data) throws IOException {
        return switch (this) {
            case GZIP -> {
                try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(data), 1 << 16)) {
                    yield in.readAllBytes();
                }
            }
            case LZ4 -> Lz4Legacy.decompress(data);
            default -> runHostTool(data);
        };
    }

    private byte[] runHostTool(byte[] data) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(hostTool).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            throw new IOException(label + " data needs the host tool '" + hostTool.getFirst() + "', which is missing");
        }
        CompletableFuture<Void> feed = CompletableFuture.runAsync(() -> {
            try (var stdin = p.getOutputStream()) {
                stdin.write(data);
            } catch (IOException ignored) {
                // the tool stopped reading: its exit status reports why
            }
        });
        byte[] out = p.getInputStream().readAllBytes();
        feed.join();
        try {
            // Kernel payloads carry a trailing size word after the stream, which some tools warn about.
            if (p.waitFor() != 0 && out.length == 0) {
                throw new IOException(hostTool.getFirst() + " failed to decompress " + label + " data");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while decompressing", e);
        }
        return out;
    }
}
