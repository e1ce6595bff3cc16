package dev.hako.devices.legacy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.core.bus.PioBus;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The port E9 console: bytes out unchanged, the readback value in, wider accesses as QEMU splits them. */
class IsaDebugconTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final PioBus bus = new PioBus();

    @Test
    void bytesWrittenReachTheBackendUnchanged() {
        bus.register(0xE9, 1, new IsaDebugcon(out::write, IsaDebugcon.DEFAULT_READBACK));
        for (byte b : "hi\n\u00e9".getBytes(StandardCharsets.UTF_8)) {
            bus.write(0, 0xE9, 1, b & 0xFF);
        }
        bus.write(0, 0xE9, 2, 0x4241);  // the low byte goes to the port, the high one to the next, unclaimed
        bus.write(0, 0xE9, 1, 0);
        assertThat(out.toByteArray()).containsExactly('h', 'i', '\n', 0xC3, 0xA9, 'A', 0);
    }

    @Test
    void aReadReturnsTheReadbackValue() {
        bus.register(0xE9, 1, new IsaDebugcon(out::write, IsaDebugcon.DEFAULT_READBACK));
        bus.register(0x402, 1, new IsaDebugcon(out::write, 0x5A));
        assertThat(bus.read(0, 0xE9, 1)).isEqualTo(0xE9);
        assertThat(bus.read(0, 0xE9, 2)).isEqualTo(0xFFE9);
        assertThat(bus.read(0, 0x402, 1)).isEqualTo(0x5A);
        assertThat(out.size()).isZero();
    }
}
