package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;

/**
 * Random and malformed requests: methods, paths (names good and bad, unknown segments), bodies (broken JSON,
 * wrong types, numbers out of range, unknown fields, deep nesting). The server must answer each with a JSON error
 * or a success, never a 5xx. It leaves a VM named {@code victim} alone unless told otherwise, so that a test can
 * check that a running VM was not disturbed; the VMs it defines name a kernel that does not exist, so none boots.
 */
final class ApiFuzz {
    private static final List<String> METHODS = List.of("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS");
    private static final List<String> NAMES = List.of("a", "fuzz-1", "Fuzz", "-x", "x".repeat(64), "a%2Fb", "..",
            "%00", "%ff", "%C3%A9", "a%20b", "fuzz-2", "a".repeat(63), "");
    private static final List<String> SUFFIXES = List.of("", "/start", "/pause", "/resume", "/shutdown", "/reset",
            "/stop", "/cpu", "/memory", "/console", "/snapshot", "/restore", "/nothing", "/start/again");
    private static final List<String> VALUES = List.of("0", "-1", "1e308", "-1e308", "9223372036854775808",
            "2147483648", "0.001", "NaN", "\"\"", "\"x\"", "null", "true", "[]", "{}", "[1,2]", "\"/nonexistent\"",
            "1.5", "255", "256", "0.05", "64", "3072", "3073", "{\"type\":\"user\"}", "[{\"type\":\"tap\"}]",
            "[{\"path\":null}]", "[null]", "\"\\u0000\"");
    private static final List<String> FIELDS = List.of("kernel", "initrd", "cmdline", "bundle", "memory_mib",
            "vcpus", "disks", "nets", "cpu", "autostart", "accel", "watchdog_seconds", "rng_bytes_per_second",
            "balloon_mib", "entitlement", "capped", "weight", "balloon_target_mib", "dir", "stop", "unknown", "");

    private final Random random;

    ApiFuzz(long seed) {
        this.random = new Random(seed);
    }

    /** Sends {@code count} random requests; every answer is checked. */
    void run(ApiFixture api, int count) throws Exception {
        for (int i = 0; i < count; i++) {
            String method = pick(METHODS);
            String path = path();
            // A HEAD request has no body (RFC 9110 9.3.2); Jetty's client cannot send one.
            String body = random.nextInt(5) == 0 || method.equals("HEAD") ? null : body();
            ApiFixture.Answer answer;
            try {
                answer = api.unix(method, path, body);
            } catch (java.util.concurrent.ExecutionException e) {
                // The server closes a connection after answering a malformed request; a request the client had
                // already put on it ends in EOF: send it again, on a new connection.
                try {
                    answer = api.unix(method, path, body);
                } catch (java.util.concurrent.ExecutionException again) {
                    throw new AssertionError(method + " " + path + " " + body + ": " + again.getCause(), again);
                }
            }
            assertThat(answer.status()).as(method + " " + path + " " + body + " -> " + answer.body())
                    .isLessThan(500);
            if (answer.status() >= 400 && !method.equals("HEAD")) {
                assertThat(answer.json()).as(method + " " + path + " " + body + " -> " + answer.status() + " "
                        + answer.body()).isNotNull();
                assertThat(answer.json().path("code").asText()).isNotBlank();
            }
        }
    }

    private String path() {
        return switch (random.nextInt(6)) {
            case 0 -> pick(List.of("/vms", "/metrics", "/openapi.json", "/", "/vms/", "//vms", "/vms//start"));
            default -> "/vms/" + pick(NAMES) + pick(SUFFIXES);
        };
    }

    private String body() {
        return switch (random.nextInt(8)) {
            case 0 -> garbage();
            case 1 -> "[".repeat(random.nextInt(2000)) + "]".repeat(random.nextInt(2000));
            case 2 -> "{\"cpu\":" + "{\"cpu\":".repeat(random.nextInt(50)) + "1" + "}".repeat(random.nextInt(60));
            default -> object();
        };
    }

    /** An object of random fields; its kernel never exists, so that no VM it defines can boot. */
    private String object() {
        StringBuilder json = new StringBuilder("{\"kernel\":\"/nonexistent/kernel\"");
        int fields = random.nextInt(4);
        for (int f = 0; f < fields; f++) {
            json.append(',');
            json.append('"').append(pick(FIELDS)).append("\":").append(pick(VALUES));
        }
        return json.append(random.nextInt(10) == 0 ? "" : "}").toString();
    }

    private String garbage() {
        byte[] bytes = new byte[random.nextInt(64)];
        random.nextBytes(bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private String pick(List<String> from) {
        return from.get(random.nextInt(from.size()));
    }
}
