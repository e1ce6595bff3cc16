package dev.hako.vmm.boot;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class Lz4LegacyTest {
    private static byte[] frame(byte[] block) {
        byte[] out = new byte[8 + block.length];
        int[] words = {Lz4Legacy.MAGIC, block.length};
        for (int w = 0; w < 2; w++) {
            for (int i = 0; i < 4; i++) {
                out[w * 4 + i] = (byte) (words[w] >>> (8 * i));
            }
        }
        System.arraycopy(block, 0, out, 8, block.length);
        return out;
    }

    @Test
    void overlappingMatchRepeatsTheLastBytes() throws IOException {
        // "abc", then copy 9 bytes from 3 back (overlapping), then the final literal "x".
        byte[] block = {0x35, 'a', 'b', 'c', 3, 0, 0x10, 'x'};
        assertThat(new String(Lz4Legacy.decompress(frame(block)), StandardCharsets.US_ASCII))
                .isEqualTo("abcabcabcabcx");
    }

    @Test
    void longLiteralAndMatchLengthsUseExtensionBytes() throws IOException {
        byte[] literals = new byte[15 + 255 + 3];
        java.util.Arrays.fill(literals, (byte) 'q');
        byte[] block = new byte[1 + 2 + literals.length + 2 + 2 + 2];
        int at = 0;
        block[at++] = (byte) 0xFF;
        block[at++] = (byte) 255;
        block[at++] = 3;
        System.arraycopy(literals, 0, block, at, literals.length);
        at += literals.length;
        block[at++] = 1;   // offset 1
        block[at++] = 0;
        block[at++] = 10;  // match 15 + 4 + 10 = 29
        block[at++] = 0x10;
        block[at] = 'z';
        byte[] out = Lz4Legacy.decompress(frame(java.util.Arrays.copyOf(block, at + 1)));
        assertThat(out).hasSize(literals.length + 29 + 1);
        assertThat(out[out.length - 2]).isEqualTo((byte) 'q');
        assertThat(out[out.length - 1]).isEqualTo((byte) 'z');
    }

    @Test
    void matchReachingBeforeTheStartIsCorrupt() {
        byte[] block = {0x10, 'a', 5, 0, 0x10, 'x'};
        assertThatThrownBy(() -> Lz4Legacy.decompress(frame(block))).hasMessageContaining("corrupt");
    }

    @Test
    void wrongMagicIsRefused() {
        assertThatThrownBy(() -> Lz4Legacy.decompress(new byte[] {1, 2, 3, 4, 5})).hasMessageContaining("not an LZ4");
    }
}
