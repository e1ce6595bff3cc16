package dev.hako.vmm.snapshot;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.hako.core.state.Snapshotable;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A snapshot's {@code machine.json}: one versioned document holding the {@link MachineSpec} to build the machine
 * again and every {@link Snapshotable}'s record by component id, each with the simple name of its record type:
 * <pre>{"format": 2, "machine": {...}, "components": {"clock": {"type": "ClockState", "state": {...}}, ...}}</pre>
 * Reading is strict, so that nothing is misread: a newer format is refused; an unknown field, a missing one, a
 * null for a number, a record of another type than the component saves, are refused; and every value read must
 * write back to exactly the JSON it came from (what a record would silently drop or default is caught there). A
 * state an older hako saved is first brought to this build's version ({@link StateUpgrades}).
 */
final class MachineDocument {
    /**
     * The format this build writes and the newest it reads. 2 added each disk's {@code frozen}: a hako that reads
     * only 1 must refuse a snapshot whose disks it would write into.
     */
    static final int FORMAT = 2;
    private static final Set<String> FIELDS = Set.of("format", "machine", "components");
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES,
                    DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES,
                    DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
                    DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();
    private static final StateUpgrades UPGRADES = new StateUpgrades(JSON);

    private final MachineSpec machine;
    private final ObjectNode components;
    private final String source;

    private MachineDocument(MachineSpec machine, ObjectNode components, String source) {
        this.machine = machine;
        this.components = components;
        this.source = source;
    }

    MachineSpec machine() {
        return machine;
    }

    /** The document of {@code machine} and its components' saved {@code states} (by id, in build order). */
    static byte[] write(MachineSpec machine, Map<String, Record> states) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.set("machine", JSON.valueToTree(machine));
        ObjectNode saved = root.putObject("components");
        states.forEach((id, state) -> {
            ObjectNode entry = saved.putObject(id);
            entry.put("type", state.getClass().getSimpleName());
            entry.set("state", JSON.valueToTree(state));
        });
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a state record does not convert to JSON", e);
        }
    }

    /** {@code machine} alone as JSON: what a migration sends first, for the destination to build the machine. */
    static byte[] writeSpec(MachineSpec machine) {
        try {
            return JSON.writeValueAsBytes(machine);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a machine spec does not convert to JSON", e);
        }
    }

    /** Parses a spec {@link #writeSpec} wrote, as strictly as a document's, read from {@code source}. */
    static MachineSpec readSpec(byte[] bytes, String source) throws SnapshotException {
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new SnapshotException(source + " is not JSON: " + e.getMessage());
        }
        return (MachineSpec) strictValue(node, JSON.constructType(MachineSpec.class), source);
    }

    /** Parses {@code bytes}, read from {@code source} (named in errors). */
    static MachineDocument read(byte[] bytes, String source) throws SnapshotException {
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new SnapshotException(source + " is not JSON: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new SnapshotException(source + " is not readable: " + e.getMessage());
        }
        if (root == null || !root.isObject() || !root.path("format").isInt()) {
            throw new SnapshotException(source + " is not a hako snapshot document (no format number)");
        }
        int format = root.get("format").intValue();
        if (format > FORMAT) {
            throw new SnapshotException(source + " has snapshot format " + format + ", newer than this hako reads ("
                    + FORMAT + "): restore it with the hako that wrote it");
        }
        if (format < 1) {
            throw new SnapshotException(source + " has snapshot format " + format + ", which no hako wrote");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!FIELDS.contains(name)) {
                throw new SnapshotException(source + " has an unknown field '" + name + "'");
            }
        }
        if (!root.path("components").isObject()) {
            throw new SnapshotException(source + " has no components");
        }
        if (format == 1) {
            upgradeFromFormat1(root.path("machine"));
        }
        MachineSpec machine = (MachineSpec) strictValue(root.path("machine"), JSON.constructType(MachineSpec.class),
                source + ": machine");
        return new MachineDocument(machine, (ObjectNode) root.get("components"), source);
    }

    /** A format 1 document's disks were all by reference: none frozen. */
    private static void upgradeFromFormat1(JsonNode machine) {
        for (JsonNode disk : machine.path("disks")) {
            if (disk instanceof ObjectNode fields && !fields.has("frozen")) {
                fields.put("frozen", false);
            }
        }
    }

    /** The ids of the saved components, in the order they were saved. */
    Set<String> ids() {
        Set<String> ids = new LinkedHashSet<>();
        components.fieldNames().forEachRemaining(ids::add);
        return ids;
    }

    /** The state saved for component {@code id}, as the record type {@code component} restores. */
    Record state(String id, Snapshotable<?> component) throws SnapshotException {
        JsonNode entry = components.get(id);
        if (entry == null) {
            throw new SnapshotException(source + " has no state for component '" + id + "'");
        }
        JavaType type = JSON.constructType(component.getClass()).findSuperType(Snapshotable.class).containedType(0);
        String expected = type.getRawClass().getSimpleName();
        if (!entry.isObject() || entry.size() != 2 || !entry.path("type").isTextual() || !entry.has("state")) {
            throw new SnapshotException(source + ": component '" + id + "' is not {type, state}");
        }
        if (!expected.equals(entry.get("type").textValue())) {
            throw new SnapshotException(source + ": component '" + id + "' holds a " + entry.get("type").textValue()
                    + ", this machine's restores a " + expected);
        }
        return (Record) strictValue(UPGRADES.upgrade(expected, entry.get("state")), type,
                source + ": component '" + id + "'");
    }

    private static Object strictValue(JsonNode node, JavaType type, String what) throws SnapshotException {
        Object value;
        JsonNode back;
        try {
            value = JSON.treeToValue(node, type);
            back = JSON.readTree(JSON.writeValueAsBytes(value));
        } catch (IOException | IllegalArgumentException e) {
            String detail = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
            throw new SnapshotException(what + " does not have the shape this hako saves ("
                    + firstLine(detail) + ")");
        }
        if (value == null || !back.equals(node)) {
            throw new SnapshotException(what + " does not have the shape this hako saves (it would not read back "
                    + "as written)");
        }
        return value;
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "no detail";
        }
        int nl = text.indexOf('\n');
        return nl < 0 ? text : text.substring(0, nl);
    }
}
