package dev.hako.mgmt.cli;

import dev.hako.vmm.image.Bundle;
import dev.hako.vmm.net.PasstBackend;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The ssh command that logs in to a bundle booted with the network it gets when the user asks for none (user
 * networking with a free port of the host's loopback forwarded to the guest's sshd, chosen by
 * {@link dev.hako.host.MachineRecipe}) (with the bundle's own key, which
 * {@code hako image create} generated, when it is there).
 */
final class BundleNetwork {
    private BundleNetwork() {}

    static String sshCommand(Bundle bundle, int port) {
        Path key = bundle.directory().resolve(ImageCreateCommand.BUNDLE_KEY);
        return "ssh -p " + port + (Files.isReadable(key) ? " -i " + key.toAbsolutePath() : "")
                + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1";
    }
}
