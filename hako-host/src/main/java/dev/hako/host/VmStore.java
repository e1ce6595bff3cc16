package dev.hako.host;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.hako.vmm.host.HostFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * The VM definitions of a host, one JSON file per VM ({@code NAME.json}) in the state directory. A file is
 * written atomically: into a temporary file in the same directory, forced to disk, renamed over the old one, and
 * the directory forced too, so that a crash leaves either the old definition or the new one, never half of one.
 * A leftover temporary file (a crash before the rename) is ignored and removed.
 */
public final class VmStore {
    private static final String SUFFIX = ".json", TEMPORARY = ".tmp";
    /** The JSON reader and writer of definitions: unknown fields are refused, so a typo is not silently lost. */
    public static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private final Path directory;

    public VmStore(Path directory) throws IOException {
        Files.createDirectories(directory);
        this.directory = directory;
    }

    public Path directory() {
        return directory;
    }

    /** Every stored definition by name; a file that does not parse is reported on {@code log} and skipped. */
    public Map<String, VmDefinition> loadAll(PrintStream log) throws IOException {
        Map<String, VmDefinition> all = new TreeMap<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory)) {
            for (Path file : files) {
                String fileName = file.getFileName().toString();
                if (fileName.endsWith(TEMPORARY)) {
                    Files.deleteIfExists(file);
                    continue;
                }
                if (!fileName.endsWith(SUFFIX)) {
                    continue;
                }
                String name = fileName.substring(0, fileName.length() - SUFFIX.length());
                if (!VmDefinition.NAME.matcher(name).matches()) {
                    continue;
                }
                try {
                    all.put(name, JSON.readValue(file.toFile(), VmDefinition.class).validate());
                } catch (JacksonException | HostException e) {
                    log.println("hako: " + file + " is not a VM definition, skipped: " + e.getMessage());
                }
            }
        }
        return all;
    }

    /** Writes {@code name}'s definition atomically (see the class comment). */
    public void save(String name, VmDefinition definition) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(definition);
        Path target = file(name);
        Path temporary = directory.resolve(name + SUFFIX + TEMPORARY);
        try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer buffer = ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            out.force(true);
        }
        try {
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        HostFile.syncDirectory(directory);
    }

    public void delete(String name) throws IOException {
        Files.deleteIfExists(file(name));
        HostFile.syncDirectory(directory);
    }

    private Path file(String name) {
        if (!VmDefinition.NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a VM name");
        }
        return directory.resolve(name + SUFFIX);
    }
}
