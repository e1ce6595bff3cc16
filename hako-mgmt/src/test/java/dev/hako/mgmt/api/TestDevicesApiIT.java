package dev.hako.mgmt.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.hako.mgmt.cli.MultibootKernels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * QEMU's test devices in a served VM's definition: the Multiboot test kernel prints on an isa-debugcon whose
 * chardev=stdout is the VM's console, and its isa-debug-exit write ends the VM, whose exit status the API shows.
 */
class TestDevicesApiIT {
    @TempDir
    Path state;
    @TempDir
    Path build;

    @Test
    void aDefinitionsTestDevicesReachTheConsoleAndTheExitStatus() throws Exception {
        Path kernel = MultibootKernels.elf(build);
        Path module = Files.writeString(build.resolve("module.txt"), "served module");
        try (ApiFixture api = new ApiFixture(state)) {
            ApiFixture.Answer created = api.unix("PUT", "/vms/mb", """
                    {"kernel": "%s", "initrd": "%s one", "cmdline": "served", "memory_mib": 64, "accel": "soft",
                     "devices": ["isa-debug-exit,iobase=0xf4,iosize=4", "isa-debugcon,chardev=stdout"]}"""
                    .formatted(kernel, module));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
            assertThat(created.json().path("config").path("devices")).hasSize(2);
            ApiFixture.Answer started = api.unix("POST", "/vms/mb/start", null);
            assertThat(started.status()).as(started.body()).isEqualTo(200);
            JsonNode vm = api.unix("GET", "/vms/mb", null).json();
            for (int i = 0; i < 600 && vm.path("state").asText().equals("running"); i++) {
                Thread.sleep(100);
                vm = api.unix("GET", "/vms/mb", null).json();
            }
            assertThat(vm.path("state").asText()).as(vm.toString()).isEqualTo("crashed");
            assertThat(vm.path("exit_status").asInt()).isEqualTo(((0x10 + 1) << 1) | 1);
            assertThat(vm.path("exit_reason").asText()).contains("isa-debug-exit");
            try (ConsoleViewer console = ConsoleViewer.open(api.overSocket, "mb")) {
                console.await(Pattern.compile(Pattern.quote("cmdline [" + kernel + " served]") + "\\s+"
                        + Pattern.quote("module 0 [" + module + " one] 13 bytes page-aligned [served module]")), 0, 30);
            }
        }
    }
}
