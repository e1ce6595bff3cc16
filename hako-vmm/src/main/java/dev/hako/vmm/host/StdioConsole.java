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
 * bytes pass through untouched, each waiting (in the pipe and here) until the guest's UART takes it: nothing
 * typed ahead is lost. The end of piped input becomes a Ctrl-D, what a terminal's user types to end a session,
 * sent once the guest has fallen quiet (printed nothing for {@link #QUIET_MILLIS} ms: a shell waiting at its
 * prompt), and again each time the guest prints and falls quiet again, because a Ctrl-D that reaches a tty
 * while a command runs is taken as that command's end of input (or, typed ahead, read back by the shell's line
 * editor as a NUL). A shell at its prompt exits (the default guest then powers off), so a scripted session
 * ends by itself. (QEMU instead keeps running, and a script that does not power the guest off never ends.)
 */
public final class StdioConsole implements CharBackend, AutoCloseable {
    private static final int CTRL_A = 0x01;
    /** ASCII EOT: the terminal's VEOF character, Ctrl-D. */
    public static final int END_OF_INPUT = 0x04;
    /** How long the guest prints nothing before the end of piped input is sent (again). */
    public static final long QUIET_MILLIS = 500;
    private final OutputStream out;
    private final InputStream in;
    private final Runnable quit;
    private final boolean terminal;
    private final byte[] buffer = new byte[8192];
    private int buffered;
    private volatile CharFrontend frontend;
    private volatile long lastOutputNanos = System.nanoTime();
    private volatile boolean outputSinceEndOfInput;
    private volatile boolean closed;
    private String savedTerminalMode;
    private Thread reader;
    private Thread flusher;
    /** False for a deterministic guest: piped input, and its end, would reach it at host-timed moments. */
    private boolean readsPipedInput = true;

    public StdioConsole(InputStream in, OutputStream out, Runnable quit) {
        this.in = in;
        this.out = out;
        this.quit = quit;
        this.terminal = System.console() != null && System.console().isTerminal();
    }

    /**
     * Before {@link #start}: standard input that is not a terminal is not read at all, and its end sends no
     * Ctrl-D, so a guest that runs a script of its own gets no byte whose arrival depends on host timing.
     */
    public void ignorePipedInput() {
        readsPipedInput = false;
    }

    /** Starts reading the host's input and flushing output; switches a terminal to raw mode. */
    public void start() {
        if (terminal) {
            savedTerminalMode = stty("-g").trim();
            stty("raw -echo");
            Runtime.getRuntime().addShutdownHook(new Thread(this::restoreTerminal));
        }
        if (terminal || readsPipedInput) {
            reader = Thread.ofPlatform().name("console-in").daemon().start(this::readInput);
        }
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
        lastOutputNanos = System.nanoTime();
        outputSinceEndOfInput = true;
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
                if (!deliver(b)) {
                    return;
                }
            }
        } catch (IOException e) {
            // stdin closed: the same as its end
        }
        if (!terminal) {
            endOfInput();
        }
    }

    /** Ctrl-D whenever the guest falls quiet after printing something (or at once, the first time). */
    private void endOfInput() {
        outputSinceEndOfInput = true;
        long quiet = TimeUnit.MILLISECONDS.toNanos(QUIET_MILLIS);
        while (!closed) {
            long silentFor = System.nanoTime() - lastOutputNanos;
            if (outputSinceEndOfInput && silentFor >= quiet) {
                outputSinceEndOfInput = false;
                if (!deliver(END_OF_INPUT)) {
                    return;
                }
                continue;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(Math.max(quiet - silentFor, TimeUnit.MILLISECONDS.toNanos(20)));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Hands one byte to the guest, waiting while its UART holds the line (port closed, FIFO full); false when the
     * console closed or the thread was interrupted first.
     */
    private boolean deliver(int b) {
        CharFrontend f = frontend;
        while (f != null && !f.receive(b)) {
            if (closed) {
                return false;
            }
            try {
                TimeUnit.MILLISECONDS.sleep(1);
            } catch (InterruptedException e) {
                return false;
            }
        }
        return true;
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
        closed = true;
        if (flusher != null) {
            flusher.interrupt();
        }
        flush();
        restoreTerminal();
    }

}
