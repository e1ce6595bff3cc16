package dev.hako.mgmt.cli;

import dev.hako.host.Host;
import dev.hako.host.VmStore;
import dev.hako.mgmt.api.ApiServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hako serve}: one process that hosts many VMs, driven by the REST API on a UNIX socket (and TCP with a
 * bearer token when asked). Runs until it is killed (SIGTERM, Ctrl-C), then stops its VMs; their definitions stay
 * in the state directory, and the next server starts those marked autostart.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Host many VMs in one process, driven by a REST API (see `hako vm` for its client).",
        footerHeading = "%nExamples:%n",
        footer = {"  hako serve &",
                "  hako vm create web --memory 256M && hako vm start web && hako vm console web",
                "  curl --unix-socket $XDG_RUNTIME_DIR/hako.sock http://localhost/vms",
                "  hako serve --listen 127.0.0.1:8080     TCP too; the token is in STATE/token"})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--socket", paramLabel = "PATH",
            description = "The API's UNIX socket, made 0600 (default: $XDG_RUNTIME_DIR/hako.sock, else STATE/hako.sock).")
    Path socket;

    @Option(names = "--listen", paramLabel = "HOST:PORT",
            description = "Also serve the API on TCP; every request then needs Authorization: Bearer TOKEN.")
    String listen;

    @Option(names = "--state", paramLabel = "DIR",
            description = "Where VM definitions live (default: $XDG_STATE_HOME/hako, else ~/.local/state/hako).")
    Path state;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "The bearer token for --listen (default: STATE/token, generated 0600 when missing).")
    Path tokenFile;

    @Override
    public Integer call() throws Exception {
        Path stateDir = state != null ? state : defaultState();
        InetSocketAddress address = listen != null ? address(listen) : null;
        Path socketPath = socket != null ? socket : defaultSocket(stateDir);
        VmStore store;
        try {
            store = new VmStore(stateDir);
        } catch (IOException e) {
            throw CommandError.usage("--state " + stateDir + ": " + e.getMessage());
        }
        String token = address == null ? null : token(stateDir);
        Host host = new Host(store, System.err);
        ApiServer server;
        try {
            server = new ApiServer(host, socketPath, address, token, System.err);
        } catch (IOException e) {
            host.close();
            throw CommandError.unavailable("cannot serve on " + socketPath + (address != null ? " and " + listen : "")
                    + ": " + e.getMessage());
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                // the process is ending anyway
            }
            host.close();
            stopped.countDown();
        }));
        System.err.println("hako: serving on " + socketPath + (address != null ? " and http://" + listen : "")
                + ", state in " + stateDir);
        host.autostart();
        stopped.await();
        return 0;
    }

    static Path defaultState() {
        String xdg = System.getenv("XDG_STATE_HOME");
        return xdg != null && !xdg.isBlank() ? Path.of(xdg, "hako")
                : Path.of(System.getProperty("user.home"), ".local", "state", "hako");
    }

    /** $XDG_RUNTIME_DIR/hako.sock, else in the state directory. */
    static Path defaultSocket(Path stateDir) {
        String runtime = System.getenv("XDG_RUNTIME_DIR");
        return runtime != null && !runtime.isBlank() ? Path.of(runtime, "hako.sock") : stateDir.resolve("hako.sock");
    }

    private static InetSocketAddress address(String text) {
        int colon = text.lastIndexOf(':');
        try {
            int port = Integer.parseInt(text.substring(colon + 1));
            if (colon > 0 && port >= 0 && port <= 65535) {
                return new InetSocketAddress(text.substring(0, colon), port);
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw CommandError.usage("--listen " + text + ": expected HOST:PORT, e.g. 127.0.0.1:8080");
    }

    /** The token from --token-file, else STATE/token, made (random, 0600) when missing. */
    private String token(Path stateDir) throws IOException {
        if (tokenFile != null) {
            try {
                return ApiServer.readToken(tokenFile);
            } catch (IOException e) {
                throw CommandError.usage("--token-file " + tokenFile + ": " + e.getMessage());
            }
        }
        Path file = stateDir.resolve("token");
        byte[] random = new byte[32];
        new SecureRandom().nextBytes(random);
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.writeString(file, HexFormat.of().formatHex(random) + "\n", StandardCharsets.US_ASCII);
        } catch (FileAlreadyExistsException e) {
            // made by an earlier server: keep it, so clients keep working
        }
        return ApiServer.readToken(file);
    }
}
