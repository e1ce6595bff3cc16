package dev.hako.vmm.image;

import dev.hako.vmm.image.ImageBuildException.Reason;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Whether the Debian mirror answers for the suite, asked before a build starts so that a host without network
 * hears it in seconds rather than from apt after mmdebstrap has set up. An http(s) mirror must serve
 * {@code dists/SUITE/InRelease} (through $http_proxy / $https_proxy if set, as apt would); a file: mirror must
 * hold it.
 */
final class MirrorProbe {
    private final Duration timeout;

    MirrorProbe(Duration timeout) {
        this.timeout = timeout;
    }

    void check(URI mirror, String suite) throws ImageBuildException {
        String release = "dists/" + suite + "/InRelease";
        String base = mirror.toString().endsWith("/") ? mirror.toString() : mirror + "/";
        URI url = URI.create(base + release);
        if ("file".equals(mirror.getScheme())) {
            if (!Files.isRegularFile(Path.of(url))) {
                throw new ImageBuildException(Reason.USAGE, "the mirror " + mirror + " has no " + release
                        + ": not a Debian mirror carrying " + suite);
            }
            return;
        }
        HttpClient.Builder client = HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NORMAL);
        proxy(mirror.getScheme()).ifPresent(client::proxy);
        int status;
        try (HttpClient http = client.build()) {
            HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).GET().build();
            status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            throw new ImageBuildException(Reason.NO_NETWORK, "cannot reach the Debian mirror " + mirror + " ("
                    + describe(e) + "): check the network, or pass --mirror URL");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ImageBuildException(Reason.INTERRUPTED, "interrupted while asking the mirror " + mirror);
        }
        if (status != 200) {
            throw new ImageBuildException(Reason.USAGE, "the mirror " + mirror + " answers HTTP " + status + " for "
                    + release + ": not a Debian mirror carrying " + suite);
        }
    }

    /** Why a connection failed, in words: HttpClient's exceptions often carry no message of their own. */
    private String describe(Throwable failure) {
        String message = null;
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof UnresolvedAddressException || t instanceof UnknownHostException) {
                return "host name not found";
            }
            if (t instanceof HttpTimeoutException) {
                return "no answer within " + timeout.toSeconds() + " s";
            }
            if (message == null && t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
        }
        if (message != null) {
            return message;
        }
        return failure instanceof ConnectException ? "connection refused" : failure.getClass().getSimpleName();
    }

    /** The proxy apt would take from the environment for {@code scheme}, if one is set. */
    private static Optional<ProxySelector> proxy(String scheme) {
        String value = System.getenv(scheme + "_proxy");
        if (value == null || value.isBlank()) {
            value = System.getenv(scheme.toUpperCase() + "_PROXY");
        }
        if (value == null || value.isBlank()) {
            return Optional.empty();
        }
        try {
            URI proxy = URI.create(value.contains("://") ? value : "http://" + value);
            if (proxy.getHost() == null) {
                return Optional.empty();
            }
            int port = proxy.getPort() > 0 ? proxy.getPort() : 80;
            return Optional.of(ProxySelector.of(new InetSocketAddress(proxy.getHost(), port)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
