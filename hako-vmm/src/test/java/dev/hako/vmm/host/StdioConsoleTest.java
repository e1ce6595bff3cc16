package dev.hako.vmm.host;

import static org.assertj.core.api.Assertions.assertThat;

import dev.hako.devices.backend.CharFrontend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Piped input: every byte waits until the guest's UART takes it, and the end of input arrives as Ctrl-D once
 * the guest is quiet, and again after the guest prints and falls quiet once more.
 */
class StdioConsoleTest {
    /** A UART that refuses the first offers (its port not open yet), then takes everything. */
    private static final class LateListener implements CharFrontend {
        final LinkedBlockingQueue<Integer> received = new LinkedBlockingQueue<>();
        final AtomicInteger refusals = new AtomicInteger(200);

        @Override
        public boolean receive(int b) {
            if (refusals.getAndDecrement() > 0) {
                return false;
            }
            received.add(b);
            return true;
        }

        @Override
        public int receiveSpace() {
            return refusals.get() > 0 ? 0 : 16;
        }
    }

    @Test
    void inputWaitsForTheGuestAndItsEndBecomesCtrlDWhenTheGuestIsQuiet() throws Exception {
        LateListener uart = new LateListener();
        ByteArrayInputStream in = new ByteArrayInputStream("ls\n".getBytes(StandardCharsets.US_ASCII));
        try (StdioConsole console = new StdioConsole(in, new ByteArrayOutputStream(), () -> { })) {
            console.attach(uart);
            console.start();
            assertThat(uart.received.poll(5, TimeUnit.SECONDS)).isEqualTo((int) 'l');
            assertThat(uart.received.poll(5, TimeUnit.SECONDS)).isEqualTo((int) 's');
            assertThat(uart.received.poll(5, TimeUnit.SECONDS)).isEqualTo((int) '\n');
            assertThat(uart.received.poll(5, TimeUnit.SECONDS)).isEqualTo(StdioConsole.END_OF_INPUT);
            assertThat(uart.received.poll(StdioConsole.QUIET_MILLIS * 3, TimeUnit.MILLISECONDS))
                    .as("no second Ctrl-D while the guest says nothing").isNull();
            for (char c : "# ".toCharArray()) {
                console.write(c); // a prompt
            }
            long printed = System.nanoTime();
            assertThat(uart.received.poll(5, TimeUnit.SECONDS)).isEqualTo(StdioConsole.END_OF_INPUT);
            assertThat(System.nanoTime() - printed).as("only once the guest fell quiet")
                    .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(StdioConsole.QUIET_MILLIS));
        }
    }
}
