package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The web console's files over TCP: served without the token (they hold no VM's data), nothing else is, and the
 * console WebSocket takes the token as {@code ?token=} only when it is the server's token.
 */
class ConsolePageTest {
    @TempDir
    Path state;
    private ApiFixture api;

    @BeforeEach
    void start() throws Exception {
        api = new ApiFixture(state);
        assertThat(api.unix("PUT", "/vms/web", "{\"memory_mib\": 64}").status()).isEqualTo(201);
    }

    @AfterEach
    void stop() throws Exception {
        api.close();
    }

    @Test
    void thePageItsScriptAndXtermAreServedWithoutTheToken() throws Exception {
        ApiFixture.Answer page = api.tcp("GET", "/", null, null);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.body()).contains("<table id=\"vms\">").contains("/webjars/xterm/4.9.0/lib/xterm.js")
                .contains("/console/console.js");
        ApiFixture.Answer script = api.tcp("GET", "/console/console.js", null, null);
        assertThat(script.status()).isEqualTo(200);
        assertThat(script.body()).contains("new Terminal(");
        assertThat(api.tcp("GET", "/console/console.css", null, null).status()).isEqualTo(200);
        ApiFixture.Answer xterm = api.tcp("GET", "/webjars/xterm/4.9.0/lib/xterm.js", null, null);
        assertThat(xterm.status()).isEqualTo(200);
        assertThat(xterm.body()).contains("Terminal");
        assertThat(api.tcp("GET", "/webjars/xterm/4.9.0/css/xterm.css", null, null).status()).isEqualTo(200);
    }

    @Test
    void onlyThoseFilesAreServed() throws Exception {
        for (String path : new String[] {"/console/nope.js", "/console/../api/openapi.json",
                "/webjars/xterm/4.9.0/package.json", "/console/",
                "/console/.hidden.js", "/webjars/xterm/4.9.0/src/browser/tsconfig.json"}) {
            assertThat(api.tcp("GET", path, null, null).status()).as(path).isIn(400, 401, 404);
        }
        assertThat(api.tcp("POST", "/", null, null).status()).as("POST /").isEqualTo(401);
        assertThat(api.tcp("GET", "/vms", null, null).status()).isEqualTo(401);
        assertThat(api.tcp("GET", "/vms?token=" + ApiFixture.TOKEN, null, null).status())
                .as("?token= is for the console's WebSocket only").isEqualTo(401);
    }

    @Test
    void theConsoleWebSocketTakesTheTokenFromTheQuery() throws Exception {
        assertThat(upgrade("/vms/web/console")).startsWith("HTTP/1.1 401");
        assertThat(upgrade("/vms/web/console?token=wrong")).startsWith("HTTP/1.1 401");
        assertThat(upgrade("/vms/web/console", "Authorization: Bearer " + ApiFixture.TOKEN + "\r\n"))
                .startsWith("HTTP/1.1 101");
        assertThat(upgrade("/vms/web/console?token=" + ApiFixture.TOKEN)).startsWith("HTTP/1.1 101");
        assertThat(upgrade("/vms/nope/console?token=" + ApiFixture.TOKEN)).startsWith("HTTP/1.1 404");
    }

    /** The answer (status line first) to a WebSocket upgrade request for {@code target} over TCP. */
    private String upgrade(String target) throws IOException {
        return upgrade(target, "");
    }

    private String upgrade(String target, String extraHeaders) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", api.server.tcpPort())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                    + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            byte[] answer = new byte[4096];
            int n = in.read(answer);
            return new String(answer, 0, Math.max(n, 0), StandardCharsets.US_ASCII);
        }
    }
}
