package dev.hako.mgmt.api;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Random and malformed requests at a server with no running VM: never a 5xx. */
class ApiFuzzTest {
    @TempDir
    Path state;

    @Test
    void randomRequestsNeverGetA5xx() throws Exception {
        try (ApiFixture api = new ApiFixture(state)) {
            api.unix("PUT", "/vms/fuzz-1", "{\"memory_mib\": 64, \"kernel\": \"/nonexistent\"}");
            new ApiFuzz(42).run(api, 1500);
        }
    }
}
