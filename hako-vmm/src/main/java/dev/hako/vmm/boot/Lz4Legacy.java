package dev.hako.vmm.boot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Decoder for the LZ4 "legacy frame" that Linux uses for LZ4-compressed kernels (lz4 -l; lib/decompress_unlz4.c):
 * a 4-byte magic, then blocks, each a 4-byte little-endian compressed size and an LZ4 block (LZ4 Block Format
 * Description) of at most 8 MiB output. Kernel builds append the uncompressed size, which ends the stream here.
 */
public final class Lz4Legacy {
    public static final int MAGIC = 0x184C_2102;

    private Lz4Legacy() {
    }

    public static byte[] decompress(byte[] in) throws IOException {
        if (in.length < 4 || le32(in, 0) != MAGIC) {
            throw new IOException("not an LZ4 legacy stream");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(in.length * 4);
        byte[] block = new byte[8 << 20];
        int at = 4;
        while (at + 4 <= in.length) {
            int size = le32(in, at);
            if (size == MAGIC) {  // concatenated streams
                at += 4;
                continue;
            }
            if (size < 0 || at + 4 + size > in.length) {
                break;  // the appended uncompressed size, or the end
            }
            int produced = decodeBlock(in, at + 4, at + 4 + size, block);
            out.write(block, 0, produced);
            at += 4 + size;
        }
        return out.toByteArray();
    }

    /** One LZ4 block: sequences of (token, literals, offset, match) until the input ends after literals. */
    static int decodeBlock(byte[] in, int at, int end, byte[] out) throws IOException {
        int o = 0;
        while (at < end) {
            int token = in[at++] & 0xFF;
            int literals = token >>> 4;
            if (literals == 15) {
                int more;
                do {
                    more = in[at++] & 0xFF;
                    literals += more;
                } while (more == 255);
            }
            if (at + literals > end || o + literals > out.length) {
                throw new IOException("LZ4 literals run past the block");
            }
            System.arraycopy(in, at, out, o, literals);
            at += literals;
            o += literals;
            if (at >= end) {
                break;
            }
            int offset = (in[at] & 0xFF) | (in[at + 1] & 0xFF) << 8;
            at += 2;
            int match = (token & 0xF) + 4;
            if ((token & 0xF) == 15) {
                int more;
                do {
                    more = in[at++] & 0xFF;
                    match += more;
                } while (more == 255);
            }
            if (offset == 0 || offset > o || o + match > out.length) {
                throw new IOException("corrupt LZ4 match at output " + o);
            }
            int from = o - offset;
            if (offset >= match) {
                System.arraycopy(out, from, out, o, match);
            } else {
                for (int i = 0; i < match; i++) {  // overlapping copy repeats the last offset bytes
                    out[o + i] = out[from + i];
                }
            }
            o += match;
        }
        return o;
    }

    private static int le32(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8 | (b[at + 2] & 0xFF) << 16 | (b[at + 3] & 0xFF) << 24;
    }
}
