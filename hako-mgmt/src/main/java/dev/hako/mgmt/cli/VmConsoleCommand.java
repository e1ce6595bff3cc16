package dev.hako.mgmt.cli;

import dev.hako.devices.backend.CharFrontend;
import dev.hako.vmm.host.StdioConsole;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code hako vm console NAME}: the VM's serial console on this terminal, over the server's WebSocket. The
 * terminal is raw as in {@code hako run}, and Ctrl-A X ends the console (not the VM); the recent output comes
 * first. It ends too when the server closes the connection, and when the VM's run ends (the server keeps a VM's
 * console across its runs, for the web console; a terminal session, as with {@code hako run}, is one run's):
 * the command then says how the VM ended, on standard error.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = "Attach this terminal to the VM's serial console (Ctrl-A X detaches; the VM runs on).")
final class VmConsoleCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    VmCommand parent;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

    private static final long WATCH_MILLIS = 300;
    /** How the VM's run ended, once it did; said after the terminal is back to normal. */
    private volatile String endMessage;
    /** Long enough for the server's console to hand over the last output (it flushes every 20 ms). */
    private static final long LAST_OUTPUT_MILLIS = 200;

    /** Ends the session once the VM has run and is no longer running or paused, telling how it ended. */
    private void awaitRunEnd(VmClient client, CountDownLatch ended) {
        boolean ran = false;
        try {
            while (ended.getCount() > 0) {
                JsonNode vm = client.call("GET", "/vms/" + name, null);
                String state = vm.path("state").asText();
                boolean active = state.equals("running") || state.equals("paused");
                if (ran && !active) {
                    TimeUnit.MILLISECONDS.sleep(LAST_OUTPUT_MILLIS);
                    String reason = vm.path("exit_reason").asText("");
                    endMessage = "hako: VM " + name + " is " + state + (reason.isEmpty() ? "" : ": " + reason);
                    ended.countDown();
                    return;
                }
                ran |= active;
                TimeUnit.MILLISECONDS.sleep(WATCH_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (CommandError e) {
            ended.countDown(); // the VM was deleted or the server went away: the session is over
        }
    }

    @Override
    public Integer call() throws Exception {
        CountDownLatch ended = new CountDownLatch(1);
        StdioConsole terminal = new StdioConsole(System.in, System.out, ended::countDown);
        Session[] session = new Session[1];
        try (VmClient client = new VmClient(parent.socket())) {
            session[0] = client.console(name, new TerminalSocket(terminal, ended));
            terminal.attach(new CharFrontend() {
                @Override
                public boolean receive(int b) {
                    session[0].sendBinary(ByteBuffer.wrap(new byte[] {(byte) b}), Callback.NOOP);
                    return true;
                }

                @Override
                public int receiveSpace() {
                    return Integer.MAX_VALUE;
                }
            });
            Thread watcher = Thread.ofVirtual().name("console-watch").start(() -> awaitRunEnd(client, ended));
            try (terminal) {
                terminal.start();
                ended.await();
            }
            watcher.interrupt();
            if (endMessage != null) {
                PrintWriter err = parent.spec.commandLine().getErr();
                err.println();
                err.println(endMessage);
                err.flush();
            }
            session[0].close();
            return 0;
        }
    }
}
