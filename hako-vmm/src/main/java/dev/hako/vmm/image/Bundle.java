package dev.hako.vmm.image;

import dev.hako.vmm.image.disk.DiskFormat;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hako.vmm.machine.MachineConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.regex.Pattern;

/**
 * A bootable bundle: a directory holding a kernel, its initrd, one disk and {@code bundle.json}, which names those
 * files (plain names inside the directory, never paths) and gives the kernel command line, the disk's format and
 * the machine's default memory and vCPUs. {@code hako image create} writes bundles; {@code hako run DIR} boots
 * them. An example:
 *
 * <pre>{@code
 * {
 *   "hakoBundle" : 1,
 *   "kernel" : "vmlinuz",
 *   "initrd" : "initrd.img",
 *   "cmdline" : "root=UUID=... ro console=ttyS0 panic=-1",
 *   "disk" : { "file" : "disk.raw", "format" : "raw" },
 *   "memoryMiB" : 1024,
 *   "cpus" : 1,
 *   "about" : { "system" : "Debian 12 (bookworm)", ... }
 * }
 * }</pre>
 *
 * {@code about} is for people: free-form strings that hako does not interpret. Other unknown fields are ignored,
 * so that a newer hako can add optional ones; an incompatible change raises {@code hakoBundle}.
 */
public record Bundle(Path directory, String kernel, String initrd, String cmdline, BundleDisk disk, int memoryMiB,
                     int cpus, SequencedMap<String, String> about) {
    public static final String FILE = "bundle.json";
    public static final int VERSION = 1;
    public static final int MIN_MEMORY_MIB = 64;
    public static final int MAX_MEMORY_MIB = (int) (MachineConfig.MAX_MEMORY >> 20);

    private static final Pattern FILE_NAME = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._+-]*");
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public Bundle {
        requireValid(nameProblem(kernel), "kernel");
        requireValid(nameProblem(initrd), "initrd");
        requireValid(nameProblem(disk.file()), "disk file");
        requireValid(cmdlineProblem(cmdline), "cmdline");
        requireValid(memoryProblem(memoryMiB), "memoryMiB");
        requireValid(cpusProblem(cpus), "cpus");
        about = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(about));
    }

    public Path kernelFile() {
        return directory.resolve(kernel);
    }

    public Path initrdFile() {
        return directory.resolve(initrd);
    }

    public Path diskFile() {
        return directory.resolve(disk.file());
    }

    public long memoryBytes() {
        return (long) memoryMiB << 20;
    }

    /** The bundle in {@code directory}, checked: bad JSON, a wrong type or a missing file is one line naming it. */
    public static Bundle load(Path directory) throws BundleFormatException {
        if (!Files.isDirectory(directory)) {
            throw new BundleFormatException(directory + ": not a directory (a bundle is a directory with "
                    + FILE + ", made by hako image create)");
        }
        Path file = directory.resolve(FILE);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new BundleFormatException(file + ": missing; " + directory
                    + " is not a bundle made by hako image create");
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new BundleFormatException(file + ": not valid JSON" + where + ": "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new BundleFormatException(file + ": cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new BundleFormatException(file + ": must hold one JSON object");
        }
        Fields fields = new Fields(file, root);
        int version = fields.integer(root, "hakoBundle");
        if (version != VERSION) {
            throw new BundleFormatException(file + ": bundle version " + version + " is not one this hako reads ("
                    + VERSION + ")");
        }
        JsonNode diskNode = fields.object(root, "disk");
        String formatName = fields.text(diskNode, "disk.format");
        DiskFormat format;
        try {
            format = DiskFormat.named(formatName);
        } catch (IOException e) {
            throw new BundleFormatException(file + ": \"disk.format\" must be \"raw\" or \"qcow2\", not \""
                    + formatName + "\"");
        }
        Bundle bundle = new Bundle(directory,
                fields.checkedText(root, "kernel", Bundle::nameProblem),
                fields.checkedText(root, "initrd", Bundle::nameProblem),
                fields.checkedText(root, "cmdline", Bundle::cmdlineProblem),
                new BundleDisk(fields.checkedText(diskNode, "disk.file", Bundle::nameProblem), format),
                fields.checkedInteger(root, "memoryMiB", Bundle::memoryProblem),
                fields.checkedInteger(root, "cpus", Bundle::cpusProblem),
                fields.about(root));
        bundle.requireFile(bundle.kernel, "the kernel");
        bundle.requireFile(bundle.initrd, "the initrd");
        bundle.requireFile(bundle.disk.file(), "the disk");
        return bundle;
    }

    /** bundle.json's text for this bundle. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("hakoBundle", VERSION);
        root.put("kernel", kernel);
        root.put("initrd", initrd);
        root.put("cmdline", cmdline);
        ObjectNode diskNode = root.putObject("disk");
        diskNode.put("file", disk.file());
        diskNode.put("format", disk.format().qemuName());
        root.put("memoryMiB", memoryMiB);
        root.put("cpus", cpus);
        ObjectNode aboutNode = root.putObject("about");
        about.forEach(aboutNode::put);
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (JacksonException e) {
            throw new IllegalStateException("a tree of strings and numbers always serializes", e);
        }
    }

    /** Writes {@code bundle.json} into the directory: a temporary file renamed over it, never half a file. */
    public void write() throws IOException {
        Path temporary = Files.createTempFile(directory, "." + FILE + ".", ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-r--r--")));
        try {
            Files.writeString(temporary, toJson(), StandardCharsets.UTF_8);
            Files.move(temporary, directory.resolve(FILE), StandardCopyOption.ATOMIC_MOVE,
                    StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
        }
    }

    private void requireFile(String name, String role) throws BundleFormatException {
        if (!Files.isRegularFile(directory.resolve(name))) {
            throw new BundleFormatException(directory.resolve(name) + ": missing (" + FILE + " names it as "
                    + role + ")");
        }
    }

    private static void requireValid(String problem, String field) {
        if (problem != null) {
            throw new IllegalArgumentException(field + " " + problem);
        }
    }

    private static String nameProblem(String name) {
        if (name == null || !FILE_NAME.matcher(name).matches()) {
            return "must be a file name inside the bundle directory (letters, digits, . _ + -), not \"" + name + "\"";
        }
        return null;
    }

    private static String cmdlineProblem(String cmdline) {
        return cmdline.indexOf('\n') >= 0 || cmdline.indexOf('\r') >= 0 ? "must be one line" : null;
    }

    private static String memoryProblem(int mib) {
        return mib < MIN_MEMORY_MIB || mib > MAX_MEMORY_MIB
                ? "must be from " + MIN_MEMORY_MIB + " to " + MAX_MEMORY_MIB + " (MiB), not " + mib : null;
    }

    private static String cpusProblem(int cpus) {
        return cpus < 1 || cpus > MachineConfig.MAX_CPUS
                ? "must be from 1 to " + MachineConfig.MAX_CPUS + ", not " + cpus : null;
    }

    /** Typed reads from bundle.json, each failure one line naming the file and the field. */
    private record Fields(Path file, JsonNode root) {
        JsonNode field(JsonNode parent, String name) throws BundleFormatException {
            JsonNode node = parent.get(name.substring(name.lastIndexOf('.') + 1));
            if (node == null || node.isNull()) {
                throw new BundleFormatException(file + ": \"" + name + "\" is missing");
            }
            return node;
        }

        String text(JsonNode parent, String name) throws BundleFormatException {
            JsonNode node = field(parent, name);
            if (!node.isTextual()) {
                throw wrongType(name, "a string", node);
            }
            return node.textValue();
        }

        int integer(JsonNode parent, String name) throws BundleFormatException {
            JsonNode node = field(parent, name);
            if (!node.isIntegralNumber() || !node.canConvertToInt()) {
                throw wrongType(name, "a whole number", node);
            }
            return node.intValue();
        }

        JsonNode object(JsonNode parent, String name) throws BundleFormatException {
            JsonNode node = field(parent, name);
            if (!node.isObject()) {
                throw wrongType(name, "an object", node);
            }
            return node;
        }

        int checkedInteger(JsonNode parent, String name, IntFunction<String> check) throws BundleFormatException {
            int value = integer(parent, name);
            String problem = check.apply(value);
            if (problem != null) {
                throw new BundleFormatException(file + ": \"" + name + "\" " + problem);
            }
            return value;
        }

        String checkedText(JsonNode parent, String name, Function<String, String> check)
                throws BundleFormatException {
            String value = text(parent, name);
            String problem = check.apply(value);
            if (problem != null) {
                throw new BundleFormatException(file + ": \"" + name + "\" " + problem);
            }
            return value;
        }

        SequencedMap<String, String> about(JsonNode parent) throws BundleFormatException {
            SequencedMap<String, String> about = new LinkedHashMap<>();
            JsonNode node = parent.get("about");
            if (node == null) {
                return about;
            }
            if (!node.isObject()) {
                throw wrongType("about", "an object", node);
            }
            for (Map.Entry<String, JsonNode> entry : node.properties()) {
                if (!entry.getValue().isTextual()) {
                    throw wrongType("about." + entry.getKey(), "a string", entry.getValue());
                }
                about.put(entry.getKey(), entry.getValue().textValue());
            }
            return about;
        }

        private BundleFormatException wrongType(String name, String expected, JsonNode node) {
            String shown = node.toString();
            if (shown.length() > 40) {
                shown = shown.substring(0, 37) + "...";
            }
            return new BundleFormatException(file + ": \"" + name + "\" must be " + expected + ", not " + shown);
        }
    }
}
