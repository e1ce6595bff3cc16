package dev.hako.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Definitions on disk: written whole, read back, leftovers of a crash ignored, bad files skipped with a line. */
class VmStoreTest {
    @TempDir
    Path dir;

    @Test
    void aDefinitionIsWrittenWholeAndReadBack() throws Exception {
        VmStore store = new VmStore(dir);
        VmDefinition web = new VmDefinition(null, null, "console=ttyS0", null, 256, 2,
                List.of(new VmDefinition.DiskSpec("/srv/web.qcow2", "qcow2", false)),
                List.of(new VmDefinition.NetDefinition("user", List.of("tcp:127.0.0.1:8080-:80"), null, null)),
                new CpuSettings(0.35, true, 128), true, null, null, null, null, null);
        store.save("web", web);
        store.save("web", web.withCpu(new CpuSettings(0.5, false, 64)));
        assertThat(Files.list(dir).map(p -> p.getFileName().toString())).containsExactly("web.json");
        VmDefinition back = store.loadAll(System.err).get("web");
        assertThat(back.cpu()).isEqualTo(new CpuSettings(0.5, false, 64));
        assertThat(back.withCpu(web.cpu())).isEqualTo(web);
        assertThat(Files.readString(dir.resolve("web.json"))).contains("\"memory_mib\" : 256", "\"hostfwd\"");
    }

    @Test
    void leftoversAndBadFilesAreSkipped() throws Exception {
        VmStore store = new VmStore(dir);
        store.save("good", new VmDefinition(null, null, null, null, 64, null, null, null, null, null, null, null,
                null, null, null));
        Files.writeString(dir.resolve("crash.json.tmp"), "{\"memory_m");
        Files.writeString(dir.resolve("bad.json"), "{\"memory_mib\": 1}");
        Files.writeString(dir.resolve("typo.json"), "{\"memory_mb\": 64}");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        assertThat(store.loadAll(new PrintStream(log, true, StandardCharsets.UTF_8))).containsOnlyKeys("good");
        assertThat(Files.exists(dir.resolve("crash.json.tmp"))).isFalse();
        assertThat(log.toString(StandardCharsets.UTF_8)).contains("bad.json").contains("typo.json");
        store.delete("good");
        assertThat(store.loadAll(System.err)).isEmpty();
        assertThatThrownBy(() -> store.save("../escape", null)).isInstanceOf(IllegalArgumentException.class);
    }
}
