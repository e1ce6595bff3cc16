package dev.hako.mgmt.cli;

import dev.hako.devices.backend.CharFrontend;
import dev.hako.vmm.host.StdioConsole;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code hako vm console NAME}: the VM's serial console on this terminal, over the server's WebSocket. The
 * terminal is raw as in {@code hako run}, and Ctrl-A X ends the console (not the VM); the recent output comes
 * first. It ends too when the server closes the connection.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = "Attach this terminal to the VM's serial console (Ctrl-A X detaches; the VM runs on).")
final class VmConsoleCommand implements Callable<Integer> {
    @CommandLine.ParentCommand
    VmCommand parent;

    @Parameters(index = "0", paramLabel = "NAME")
    String name;

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
            try (terminal) {
                terminal.start();
                ended.await();
            }
            session[0].close();
            return 0;
        }
    }
}
