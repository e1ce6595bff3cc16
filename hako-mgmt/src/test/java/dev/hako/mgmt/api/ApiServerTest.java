package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hako.host.Host;
import dev.hako.host.VmStore;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API without a running VM: every endpoint's errors, the socket's mode, the token, the OpenAPI document. */
class ApiServerTest {
    @TempDir
    Path state;
    ApiFixture api;

    @BeforeEach
    void start() throws Exception {
        api = new ApiFixture(state);
    }

    @AfterEach
    void stop() throws Exception {
        api.close();
    }

    @Test
    void theSocketIsTheOwnersOnly() throws Exception {
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(api.socket))).isEqualTo("rw-------");
    }

    @Test
    void tcpNeedsTheToken() throws Exception {
        assertThat(api.tcp("GET", "/vms", null, null).status()).isEqualTo(401);
        ApiFixture.Answer wrong = api.tcp("GET", "/vms", null, "Bearer nope");
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.json().path("code").asText()).isEqualTo("unauthorized");
        assertThat(api.tcp("GET", "/metrics", null, "Basic " + ApiFixture.TOKEN).status()).isEqualTo(401);
        assertThat(api.tcp("GET", "/vms", null, "Bearer " + ApiFixture.TOKEN).status()).isEqualTo(200);
        assertThat(api.unix("GET", "/vms", null).status()).isEqualTo(200);
    }

    @Test
    void theOpenApiDocumentListsExactlyTheServersRoutes() throws Exception {
        ApiFixture.Answer doc = api.unix("GET", "/openapi.json", null);
        assertThat(doc.status()).isEqualTo(200);
        assertThat(doc.json().path("openapi").asText()).isEqualTo("3.1.0");
        Set<String> documented = new TreeSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.json().path("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (Iterator<String> methods = path.getValue().fieldNames(); methods.hasNext(); ) {
                String method = methods.next();
                if (!method.equals("parameters")) {
                    documented.add(method.toUpperCase() + " " + path.getKey());
                }
            }
        }
        assertThat(documented).isEqualTo(new TreeSet<>(ApiHandler.ROUTES));
    }

    @Test
    void definitionsAreCreatedListedShownAndDeleted() throws Exception {
        ApiFixture.Answer created = api.unix("PUT", "/vms/web-1",
                "{\"memory_mib\": 128, \"vcpus\": 2, \"cpu\": {\"entitlement\": 0.5, \"capped\": true, "
                        + "\"weight\": 100}, \"nets\": [{\"type\": \"user\", \"hostfwd\": [\"tcp:127.0.0.1:2222-:22\"]}],"
                        + " \"disks\": [{\"path\": \"/nonexistent.qcow2\", \"format\": \"qcow2\", \"readonly\": true}]}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().path("state").asText()).isEqualTo("defined");
        assertThat(Files.exists(state.resolve("web-1.json"))).isTrue();
        assertThat(api.unix("PUT", "/vms/web-1", "{}").status()).isEqualTo(409);
        assertThat(api.unix("GET", "/vms", null).json()).hasSize(1);
        JsonNode shown = api.unix("GET", "/vms/web-1", null).json();
        assertThat(shown.path("config").path("cpu").path("entitlement").asDouble()).isEqualTo(0.5);
        assertThat(shown.path("config").path("nets").get(0).path("hostfwd").get(0).asText())
                .isEqualTo("tcp:127.0.0.1:2222-:22");
        ApiFixture.Answer cpu = api.unix("PUT", "/vms/web-1/cpu", "{\"entitlement\": 0.35}");
        assertThat(cpu.status()).as(cpu.body()).isEqualTo(200);
        assertThat(cpu.json().path("config").path("cpu").path("entitlement").asDouble()).isEqualTo(0.35);
        assertThat(cpu.json().path("config").path("cpu").path("weight").asInt()).isEqualTo(100);
        assertThat(Files.readString(state.resolve("web-1.json"))).contains("0.35");
        assertThat(api.unix("DELETE", "/vms/web-1", null).status()).isEqualTo(204);
        assertThat(api.unix("GET", "/vms/web-1", null).status()).isEqualTo(404);
        assertThat(Files.exists(state.resolve("web-1.json"))).isFalse();
    }

    @Test
    void everyEndpointsErrors() throws Exception {
        api.unix("PUT", "/vms/idle", "{\"memory_mib\": 64}");
        expect(api.unix("GET", "/vms/nope", null), 404, "not_found", "name");
        expect(api.unix("DELETE", "/vms/nope", null), 404, "not_found", "name");
        expect(api.unix("PUT", "/vms/Bad_Name", "{}"), 400, "bad_request", "name");
        expect(api.unix("PUT", "/vms/x", "{\"memory_mb\": 64}"), 400, "bad_request", "memory_mb");
        expect(api.unix("PUT", "/vms/x", "{\"memory_mib\": 1}"), 400, "bad_request", "memory_mib");
        expect(api.unix("PUT", "/vms/x", "{\"memory_mib\": \"64\"}"), 400, "bad_request", "memory_mib");
        expect(api.unix("PUT", "/vms/x", "{\"vcpus\": 0}"), 400, "bad_request", "vcpus");
        expect(api.unix("PUT", "/vms/x", "{\"nets\": [{\"type\": \"wifi\"}]}"), 400, "bad_request", "nets[0].type");
        expect(api.unix("PUT", "/vms/x", "{\"disks\": [{\"format\": \"vmdk\", \"path\": \"/a\"}]}"), 400,
                "bad_request", "disks[0].format");
        expect(api.unix("PUT", "/vms/x", "{\"cpu\": {\"entitlement\": 0.01}}"), 400, "bad_request",
                "cpu.entitlement");
        expect(api.unix("PUT", "/vms/x", "{\"cpu\": {\"entitlement\": 2.0}}"), 400, "bad_request",
                "cpu.entitlement");
        expect(api.unix("PUT", "/vms/x", "{\"cpu\": {\"weight\": 256}}"), 400, "bad_request", "cpu.weight");
        expect(api.unix("PUT", "/vms/x", "{\"devices\": [\"isa-debugcon\", \"isa-debug-exit,iosize=0\"]}"), 400,
                "bad_request", "devices[1]");
        expect(api.unix("PUT", "/vms/x", "{"), 400, "bad_request", null);
        expect(api.unix("PUT", "/vms/x", null), 400, "bad_request", null);
        expect(api.unix("PUT", "/vms/x", "[]"), 400, "bad_request", null);
        expect(api.unix("PUT", "/vms/x", "{} {}"), 400, "bad_request", null);
        for (String action : new String[] {"pause", "resume", "shutdown", "reset", "stop"}) {
            expect(api.unix("POST", "/vms/idle/" + action, null), 409, "conflict", null);
            expect(api.unix("POST", "/vms/nope/" + action, null), 404, "not_found", "name");
        }
        expect(api.unix("POST", "/vms/nope/start", null), 404, "not_found", "name");
        expect(api.unix("PUT", "/vms/idle/cpu", "{\"capped\": \"yes\"}"), 400, "bad_request", "capped");
        expect(api.unix("PUT", "/vms/idle/cpu", "{\"entitlement\": 0.123}"), 400, "bad_request",
                "cpu.entitlement");
        expect(api.unix("PUT", "/vms/nope/cpu", "{\"entitlement\": 0.5}"), 404, "not_found", "name");
        expect(api.unix("PUT", "/vms/idle/memory", "{\"balloon_target_mib\": 32}"), 409, "conflict", null);
        expect(api.unix("PUT", "/vms/idle/memory", "{}"), 400, "bad_request", "balloon_target_mib");
        expect(api.unix("PUT", "/vms/idle/memory", "{\"balloon_target_mib\": -1}"), 400, "bad_request",
                "balloon_target_mib");
        expect(api.unix("GET", "/vms/idle/console", null), 400, "bad_request", null);
        expect(api.unix("GET", "/vms/nope/console", null), 404, "not_found", "name");
        expect(api.unix("POST", "/vms/idle", null), 405, "method_not_allowed", null);
        expect(api.unix("DELETE", "/vms", null), 405, "method_not_allowed", null);
        expect(api.unix("GET", "/nothing/here", null), 404, "not_found", null);
        expect(api.unix("PUT", "/vms/x", "{\"pad\": \"" + "a".repeat(ApiHandler.MAX_BODY) + "\"}"), 413,
                "too_large", null);
        ApiFixture.Answer metrics = api.unix("GET", "/metrics", null);
        assertThat(metrics.status()).isEqualTo(200);
        assertThat(metrics.body()).contains("hako_vm_state{vm=\"idle\",state=\"defined\"} 1");
    }

    @Test
    void startingAVmWhoseKernelIsMissingIsABadRequest() throws Exception {
        api.unix("PUT", "/vms/broken", "{\"kernel\": \"/nonexistent/bzImage\", \"initrd\": \"/nonexistent/i\"}");
        ApiFixture.Answer start = api.unix("POST", "/vms/broken/start", null);
        assertThat(start.status()).as(start.body()).isEqualTo(400);
        assertThat(api.unix("GET", "/vms/broken", null).json().path("state").asText()).isEqualTo("defined");
    }

    @Test
    void aRestartedHostKnowsItsVms() throws Exception {
        api.unix("PUT", "/vms/kept", "{\"memory_mib\": 64, \"autostart\": false}");
        Files.writeString(state.resolve("junk.json"), "{not json");
        Files.writeString(state.resolve("half.json.tmp"), "{\"memo");
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        try (Host again = new Host(new VmStore(state), quiet)) {
            assertThat(again.list()).extracting(s -> s.name()).containsExactly("kept");
            assertThat(again.status("kept").definition().memoryMib()).isEqualTo(64);
        }
        assertThat(Files.exists(state.resolve("half.json.tmp"))).isFalse();
    }

    private static void expect(ApiFixture.Answer answer, int status, String code, String field) {
        assertThat(answer.status()).as(answer.body()).isEqualTo(status);
        assertThat(answer.json()).as(answer.body()).isNotNull();
        assertThat(answer.json().path("code").asText()).as(answer.body()).isEqualTo(code);
        assertThat(answer.json().path("message").asText()).isNotBlank();
        if (field != null) {
            assertThat(answer.json().path("field").asText()).as(answer.body()).isEqualTo(field);
        }
    }
}
