package dev.hako.vmm.debug;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The remote protocol's framing: checksums, acknowledgements, escapes, run-length encoding, bad packets. */
class GdbPacketsTest {
    private static String read(String wire, ByteArrayOutputStream acks) throws IOException {
        GdbPackets p = new GdbPackets(new ByteArrayInputStream(wire.getBytes(StandardCharsets.ISO_8859_1)), acks);
        return p.read();
    }

    @Test
    void readsAPacketAndAcknowledgesIt() throws IOException {
        ByteArrayOutputStream acks = new ByteArrayOutputStream();
        assertThat(read("+$qSupported:multiprocess+#c6", acks)).isEqualTo("qSupported:multiprocess+");
        assertThat(acks.toString(StandardCharsets.US_ASCII)).isEqualTo("+");
    }

    @Test
    void refusesABadChecksumAndTakesTheRetransmission() throws IOException {
        ByteArrayOutputStream acks = new ByteArrayOutputStream();
        assertThat(read("$g#00$g#67", acks)).isEqualTo("g");
        assertThat(acks.toString(StandardCharsets.US_ASCII)).isEqualTo("-+");
        assertThat(read("$g#zz", new ByteArrayOutputStream())).isNull(); // bad digits, then the stream ends
    }

    @Test
    void undoesEscapesAndRunLengthEncoding() {
        assertThat(GdbPackets.decode("X}\u0003}]".getBytes(StandardCharsets.ISO_8859_1))).isEqualTo("X#}");
        assertThat(GdbPackets.decode("0* ".getBytes(StandardCharsets.ISO_8859_1))).isEqualTo("0000"); // ' ' = 29 + 3
        assertThat(GdbPackets.decode("}".getBytes(StandardCharsets.ISO_8859_1))).isNull();
        assertThat(GdbPackets.decode("*!".getBytes(StandardCharsets.ISO_8859_1))).isNull();
    }

    @Test
    void framesWithChecksumAndEscapes() {
        assertThat(new String(GdbPackets.frame("OK"), StandardCharsets.ISO_8859_1)).isEqualTo("$OK#9a");
        String framed = new String(GdbPackets.frame("a#b*"), StandardCharsets.ISO_8859_1);
        assertThat(framed).startsWith("$a}\u0003b}\n#");
        // What is framed reads back as it was.
        assertThat(GdbPackets.decode(framed.substring(1, framed.indexOf('#', 5)).getBytes(StandardCharsets.ISO_8859_1)))
                .isEqualTo("a#b*");
    }

    @Test
    void interruptByteAndOverlongPackets() throws IOException {
        assertThat(read("\u0003", new ByteArrayOutputStream())).isEqualTo(GdbPackets.INTERRUPT);
        ByteArrayOutputStream acks = new ByteArrayOutputStream();
        String huge = "$" + "m".repeat(GdbPackets.MAX_PACKET + 10) + "#00$?#3f";
        assertThat(read(huge, acks)).isEqualTo("?");
        assertThat(acks.toString(StandardCharsets.US_ASCII)).isEqualTo("-+");
    }
}
