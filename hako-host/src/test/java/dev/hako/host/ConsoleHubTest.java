package dev.hako.host;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.devices.backend.CharFrontend;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The console ring: recent output bounded, late viewers get it first, input in order, a full FIFO waited for. */
class ConsoleHubTest {
    @Test
    void aLateViewerGetsTheRecentOutputThenTheLiveOutputInOrder() {
        try (ConsoleHub hub = new ConsoleHub("t")) {
            ByteArrayOutputStream early = new ByteArrayOutputStream(), late = new ByteArrayOutputStream();
            hub.attach(early::writeBytes);
            type(hub, "boot log\n");
            hub.flush();
            late.writeBytes(hub.attach(late::writeBytes));
            type(hub, "# ");
            hub.flush();
            assertThat(early.toString(StandardCharsets.US_ASCII)).isEqualTo("boot log\n# ");
            assertThat(late.toString(StandardCharsets.US_ASCII)).isEqualTo("boot log\n# ");
        }
    }

    @Test
    void theRingKeepsOnlyTheLast64KiB() {
        try (ConsoleHub hub = new ConsoleHub("t")) {
            for (int i = 0; i < ConsoleHub.CAPACITY + 1000; i++) {
                hub.write('a' + i % 26);
            }
            byte[] recent = hub.recent();
            assertThat(recent).hasSize(ConsoleHub.CAPACITY);
            assertThat(recent[0]).isEqualTo((byte) ('a' + 1000 % 26));
            assertThat(recent[recent.length - 1]).isEqualTo((byte) ('a' + (ConsoleHub.CAPACITY + 999) % 26));
        }
    }

    @Test
    void aFailingViewerIsDroppedAndTheOthersGoOn() {
        try (ConsoleHub hub = new ConsoleHub("t")) {
            ByteArrayOutputStream good = new ByteArrayOutputStream();
            hub.attach(bytes -> {
                throw new IllegalStateException("closed socket");
            });
            hub.attach(good::writeBytes);
            type(hub, "x");
            hub.flush();
            type(hub, "y");
            hub.flush();
            assertThat(good.toString(StandardCharsets.US_ASCII)).isEqualTo("xy");
        }
    }

    @Test
    void inputWaitsForRoomAndIsRefusedWithoutAMachine() {
        try (ConsoleHub hub = new ConsoleHub("t")) {
            assertThat(hub.input(new byte[] {'a'})).isFalse();
            List<Integer> received = new ArrayList<>();
            int[] room = {2};
            hub.attach(new CharFrontend() {
                @Override
                public boolean receive(int b) {
                    if (room[0] == 0) {
                        room[0] = 2; // the guest reads its FIFO: the next try has room again
                        return false;
                    }
                    room[0]--;
                    received.add(b);
                    return true;
                }

                @Override
                public int receiveSpace() {
                    return room[0];
                }
            });
            assertThat(hub.input("hello".getBytes(StandardCharsets.US_ASCII))).isTrue();
            assertThat(received).containsExactly((int) 'h', (int) 'e', (int) 'l', (int) 'l', (int) 'o');
        }
    }

    private static void type(ConsoleHub hub, String text) {
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            hub.write(b & 0xFF);
        }
    }
}
