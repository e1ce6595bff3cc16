package dev.hako.mgmt.cli;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.net.PasstBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The network a bundle boots with when the user asks for none: user networking with a free port of the host's
 * loopback forwarded to the guest's sshd, and the ssh command that logs in (with the bundle's own key, which
 * {@code hako image create} generated, when it is there).
 */
final class BundleNetwork {
    private BundleNetwork() {}

    /** A port nobody listens on at 127.0.0.1 now (passt binds it a moment later). */
    static int freeLoopbackPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw CommandError.unavailable("no free port on 127.0.0.1 for the guest's ssh: " + e.getMessage());
        }
    }

    static String sshCommand(Bundle bundle, int port) {
        Path key = bundle.directory().resolve(ImageCreateCommand.BUNDLE_KEY);
        return "ssh -p " + port + (Files.isReadable(key) ? " -i " + key.toAbsolutePath() : "")
                + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1";
    }
}
