package dev.hako.vmm.host;

import dev.hako.devices.backend.CharBackend;
import dev.hako.devices.backend.CharFrontend;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.concurrent.TimeUnit;

/**
 * The serial console on the host's standard input and output. When standard input is a terminal it is put in
 * raw mode (restored at exit) and Ctrl-A X ends the VM, as in QEMU; Ctrl-A Ctrl-A sends a Ctrl-A. With pipes,
 * bytes pass through untouched and the end of input is simply the end of input.
 */
public final class StdioConsole implements CharBackend, AutoCloseable {
    private static final int CTRL_A = 0x01;
    private final OutputStream out;
    private final InputStream in;
    private final Runnable quit;
    private final boolean terminal;
    private final byte[] buffer = new byte[8192];
    private int buffered;
    private volatile CharFrontend frontend;
    private String savedTerminalMode;
    private Thread reader;
    private Thread flusher;

    public StdioConsole(InputStream in, OutputStream out, Runnable quit) {
        this.in = in;
        this.out = out;
        this.quit = quit;
        this.terminal = System.console() != null && System.console().isTerminal();
    }

    /** Starts reading the host's input and flushing output; switches a terminal to raw mode. */
    public void start() {
        if (terminal) {
            savedTerminalMode = stty("-g").trim();
            stty("raw -echo");
            Runtime.getRuntime().addShutdownHook(new Thread(this::restoreTerminal));
        }
        reader = Thread.ofPlatform().name("console-in").daemon().start(this::readInput);
        flusher = Thread.ofPlatform().name("console-out").daemon().start(this::flushPeriodically);
    }

    /**
     * A stream for hako's own messages beside the guest's output: while the terminal is raw, a newline
     * needs a carriage return too, or the next line starts where this one ended.
     */
    public PrintStream messages(OutputStream target) {
        return new PrintStream(new FilterOutputStream(target) {
            @Override
            public void write(int b) throws IOException {
                if (b == '\n' && savedTerminalMode != null) {
                    out.write('\r');
                }
                out.write(b);
            }
        }, true);
    }

    @Override
    public void attach(CharFrontend frontend) {
        this.frontend = frontend;
    }

    @Override
    public void write(int b) {
        synchronized (buffer) {
            if (buffered == buffer.length) {
                flush();
            }
            buffer[buffered++] = (byte) b;
            if (b == '\n') {
                flush();
            }
        }
    }

    private void flush() {
        synchronized (buffer) {
            if (buffered == 0) {
                return;
            }
            try {
                out.write(buffer, 0, buffered);
                out.flush();
            } catch (IOException e) {
                // The host side is gone (a closed pipe): the guest's output has nowhere to go.
            }
            buffered = 0;
        }
    }

    private void flushPeriodically() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                break;
            }
            flush();
        }
        flush();
    }

    private void readInput() {
        boolean escape = false;
        try {
            int b;
            while ((b = in.read()) >= 0) {
                if (terminal && escape) {
                    escape = false;
                    if (b == 'x' || b == 'X') {
                        quit.run();
                        return;
                    }
                    if (b != CTRL_A) {
                        continue;
                    }
                } else if (terminal && b == CTRL_A) {
                    escape = true;
                    continue;
                }
                deliver(b);
            }
        } catch (IOException e) {
            // stdin closed
        }
    }

    private void deliver(int b) {
        CharFrontend f = frontend;
        while (f != null && !f.receive(b)) {
            try {
                TimeUnit.MILLISECONDS.sleep(1); // the UART's FIFO is full: the guest reads it soon
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void restoreTerminal() {
        if (savedTerminalMode != null) {
            stty(savedTerminalMode);
            savedTerminalMode = null;
        }
    }

    private static String stty(String args) {
        try {
            Process p = new ProcessBuilder("sh", "-c", "stty " + args + " < /dev/tty")
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes());
            p.waitFor();
            return output;
        } catch (IOException | InterruptedException e) {
            return "";
        }
    }

    @Override
    public void close() {
        if (flusher != null) {
            flusher.interrupt();
        }
        flush();
        restoreTerminal();
    }

}
