package dev.hako.vmm.debug;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The framing of GDB's remote serial protocol (GDB manual, appendix E.1 "Overview"): {@code $payload#cs} with a
 * two-digit hexadecimal modulo-256 checksum, {@code +}/{@code -} acknowledgements (until QStartNoAckMode), the
 * {@code }} escape (the next byte XOR 0x20) and run-length encoding ({@code c*n}: n - 29 more copies of c), and
 * the lone 0x03 byte with which GDB interrupts a running target. A packet with a bad checksum is refused with
 * {@code -}; one longer than {@link #MAX_PACKET} is dropped whole; nothing a client sends throws anything but an
 * {@link IOException} for a closed connection.
 */
public final class GdbPackets {
    /** The largest packet accepted and the PacketSize offered to GDB. */
    public static final int MAX_PACKET = 16384;
    /** What {@link #read} returns for GDB's interrupt byte. */
    public static final String INTERRUPT = "\u0003";

    private final InputStream in;
    private final OutputStream out;
    private volatile boolean acknowledging = true;

    public GdbPackets(InputStream in, OutputStream out) {
        this.in = in;
        this.out = out;
    }

    /** After QStartNoAckMode: no more + and - either way. */
    public void stopAcknowledging() {
        acknowledging = false;
    }

    /** The next packet's payload, unescaped and expanded, or {@link #INTERRUPT}; null at the end of the stream. */
    public String read() throws IOException {
        while (true) {
            int b = in.read();
            if (b < 0) {
                return null;
            }
            if (b == 0x03) {
                return INTERRUPT;
            }
            if (b != '$') {
                continue; // acknowledgements and noise between packets
            }
            ByteArrayOutputStream payload = new ByteArrayOutputStream();
            int sum = 0;
            boolean tooLong = false;
            while ((b = in.read()) != '#') {
                if (b < 0) {
                    return null;
                }
                sum += b;
                if (payload.size() < MAX_PACKET) {
                    payload.write(b);
                } else {
                    tooLong = true;
                }
            }
            int high = Character.digit(in.read(), 16), low = Character.digit(in.read(), 16);
            boolean good = high >= 0 && low >= 0 && (high << 4 | low) == (sum & 0xFF) && !tooLong;
            if (acknowledging) {
                synchronized (out) {
                    out.write(good ? '+' : '-');
                    out.flush();
                }
            }
            if (!good) {
                continue;
            }
            String decoded = decode(payload.toByteArray());
            if (decoded != null) {
                return decoded;
            }
        }
    }

    /** Undoes escapes and run-length encoding; null for a malformed body (an escape or repeat with nothing). */
    static String decode(byte[] raw) {
        StringBuilder sb = new StringBuilder(raw.length);
        for (int i = 0; i < raw.length; i++) {
            int c = raw[i] & 0xFF;
            if (c == '}') {
                if (++i >= raw.length) {
                    return null;
                }
                sb.append((char) ((raw[i] & 0xFF) ^ 0x20));
            } else if (c == '*') {
                if (sb.isEmpty() || ++i >= raw.length || (raw[i] & 0xFF) < 29) {
                    return null;
                }
                char previous = sb.charAt(sb.length() - 1);
                sb.repeat(previous, (raw[i] & 0xFF) - 29);
            } else {
                sb.append((char) c);
            }
        }
        return sb.toString();
    }

    /** Sends {@code payload} (characters 0-255), escaping what the framing reserves. */
    public void write(String payload) throws IOException {
        synchronized (out) {
            out.write(frame(payload));
            out.flush();
        }
    }

    static byte[] frame(String payload) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(payload.length() + 4);
        b.write('$');
        int sum = 0;
        for (int i = 0; i < payload.length(); i++) {
            int c = payload.charAt(i) & 0xFF;
            if (c == '$' || c == '#' || c == '}' || c == '*') {
                b.write('}');
                sum += '}';
                c ^= 0x20;
            }
            b.write(c);
            sum += c;
        }
        b.writeBytes(String.format("#%02x", sum & 0xFF).getBytes(StandardCharsets.US_ASCII));
        return b.toByteArray();
    }
}
