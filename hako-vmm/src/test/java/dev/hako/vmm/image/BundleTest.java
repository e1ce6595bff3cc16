package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.SequencedMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** bundle.json read back as written, and each kind of bad bundle refused with one line that names the file. */
class BundleTest {
    private static final String VALID = """
            {
              "hakoBundle" : 1,
              "kernel" : "vmlinuz",
              "initrd" : "initrd.img",
              "cmdline" : "root=UUID=0 ro console=ttyS0",
              "disk" : { "file" : "disk.raw", "format" : "raw" },
              "memoryMiB" : 1024,
              "cpus" : 2,
              "about" : { "system" : "Debian 12 (bookworm)" },
              "addedByANewerHako" : [ 1, 2 ]
            }
            """;

    @TempDir
    Path dir;

    @BeforeEach
    void files() throws IOException {
        Files.writeString(dir.resolve("vmlinuz"), "kernel");
        Files.writeString(dir.resolve("initrd.img"), "initrd");
        Files.writeString(dir.resolve("disk.raw"), "disk");
    }

    @Test
    void loadsWhatBundleJsonSays() throws Exception {
        Files.writeString(dir.resolve(Bundle.FILE), VALID);
        Bundle bundle = Bundle.load(dir);
        assertThat(bundle.kernelFile()).isEqualTo(dir.resolve("vmlinuz"));
        assertThat(bundle.initrdFile()).isEqualTo(dir.resolve("initrd.img"));
        assertThat(bundle.diskFile()).isEqualTo(dir.resolve("disk.raw"));
        assertThat(bundle.disk().format()).isEqualTo(DiskFormat.RAW);
        assertThat(bundle.cmdline()).isEqualTo("root=UUID=0 ro console=ttyS0");
        assertThat(bundle.memoryBytes()).isEqualTo(1L << 30);
        assertThat(bundle.cpus()).isEqualTo(2);
        assertThat(bundle.about()).containsEntry("system", "Debian 12 (bookworm)");
    }

    @Test
    void writesWhatItLoads() throws Exception {
        SequencedMap<String, String> about = new LinkedHashMap<>();
        about.put("kernel", "6.1.0-57-cloud-amd64");
        about.put("login", "root on ttyS0");
        Files.writeString(dir.resolve("disk.qcow2"), "disk");
        Bundle written = new Bundle(dir, "vmlinuz", "initrd.img", "root=/dev/vda console=ttyS0",
                new BundleDisk("disk.qcow2", DiskFormat.QCOW2), 512, 1, about);
        written.write();
        assertThat(Bundle.load(dir)).isEqualTo(written);
        assertThat(Files.readString(dir.resolve(Bundle.FILE))).contains("\"format\" : \"qcow2\"");
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
        }
    }

    @Test
    void aDirectoryWithoutBundleJsonIsNotABundle() {
        assertThatThrownBy(() -> Bundle.load(dir)).isInstanceOf(BundleFormatException.class)
                .hasMessage(dir.resolve("bundle.json") + ": missing; " + dir
                        + " is not a bundle made by hako image create");
    }

    @Test
    void aFileIsNotABundle() {
        assertThatThrownBy(() -> Bundle.load(dir.resolve("vmlinuz"))).isInstanceOf(BundleFormatException.class)
                .hasMessageStartingWith(dir.resolve("vmlinuz") + ": not a directory");
    }

    @Test
    void badJsonSaysWhere() throws IOException {
        Files.writeString(dir.resolve(Bundle.FILE), "{\n  \"kernel\" : \"vmlinuz\",\n  \"cpus\" : }\n");
        assertThatThrownBy(() -> Bundle.load(dir)).isInstanceOf(BundleFormatException.class)
                .hasMessageStartingWith(dir.resolve("bundle.json") + ": not valid JSON at line 3")
                .hasMessageNotContaining("\n");
    }

    @Test
    void emptyFileIsNotAnObject() throws IOException {
        Files.writeString(dir.resolve(Bundle.FILE), "");
        assertThatThrownBy(() -> Bundle.load(dir)).hasMessage(dir.resolve("bundle.json") + ": must hold one JSON object");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            "cpus" : 2,                          | "cpus" : "two",                         | "cpus" must be a whole number, not "two"
            "cpus" : 2,                          | "cpus" : 2.5,                           | "cpus" must be a whole number, not 2.5
            "cpus" : 2,                          | "cpus" : 0,                             | "cpus" must be from 1 to
            "cpus" : 2,                          |                                         | "cpus" is missing
            "memoryMiB" : 1024,                  | "memoryMiB" : 99999999999,              | "memoryMiB" must be a whole number, not 99999999999
            "memoryMiB" : 1024,                  | "memoryMiB" : 8,                        | "memoryMiB" must be from 64 to
            "kernel" : "vmlinuz",                | "kernel" : "../../etc/shadow",          | "kernel" must be a file name inside the bundle directory
            "kernel" : "vmlinuz",                | "kernel" : "/boot/vmlinuz",             | "kernel" must be a file name inside the bundle directory
            "kernel" : "vmlinuz",                | "kernel" : ["vmlinuz"],                 | "kernel" must be a string, not ["vmlinuz"]
            "initrd" : "initrd.img",             | "initrd" : null,                        | "initrd" is missing
            "cmdline" : "root=UUID=0 ro console=ttyS0", | "cmdline" : "a\\nb",             | "cmdline" must be one line
            "format" : "raw"                     | "format" : "vmdk"                       | "disk.format" must be "raw" or "qcow2", not "vmdk"
            "file" : "disk.raw",                 | "file" : 7,                             | "disk.file" must be a string, not 7
            "disk" : { "file" : "disk.raw", "format" : "raw" }, | "disk" : "disk.raw",     | "disk" must be an object, not "disk.raw"
            "hakoBundle" : 1,                    | "hakoBundle" : 2,                       | bundle version 2 is not one this hako reads (1)
            "hakoBundle" : 1,                    |                                         | "hakoBundle" is missing
            "system" : "Debian 12 (bookworm)"    | "system" : 12                           | "about.system" must be a string, not 12
            """)
    void wrongFieldsAreNamed(String valid, String wrong, String expected) throws IOException {
        String json = VALID.replace(valid, wrong == null ? "" : wrong);
        assertThat(json).isNotEqualTo(VALID);
        Files.writeString(dir.resolve(Bundle.FILE), json);
        assertThatThrownBy(() -> Bundle.load(dir)).isInstanceOf(BundleFormatException.class)
                .hasMessageStartingWith(dir.resolve("bundle.json") + ": " + expected)
                .hasMessageNotContaining("\n");
    }

    @ParameterizedTest
    @CsvSource({"vmlinuz, the kernel", "initrd.img, the initrd", "disk.raw, the disk"})
    void missingFilesAreNamed(String file, String role) throws IOException {
        Files.writeString(dir.resolve(Bundle.FILE), VALID);
        Files.delete(dir.resolve(file));
        assertThatThrownBy(() -> Bundle.load(dir)).isInstanceOf(BundleFormatException.class)
                .hasMessage(dir.resolve(file) + ": missing (bundle.json names it as " + role + ")");
    }

    @Test
    void aDirectoryWhereTheDiskShouldBeIsMissingTheDisk() throws IOException {
        Files.writeString(dir.resolve(Bundle.FILE), VALID);
        Files.delete(dir.resolve("disk.raw"));
        Files.createDirectory(dir.resolve("disk.raw"));
        assertThatThrownBy(() -> Bundle.load(dir)).hasMessageContaining("disk.raw: missing");
    }
}
