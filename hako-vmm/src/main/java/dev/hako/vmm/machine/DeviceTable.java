package dev.hako.vmm.machine;

import dev.hako.core.state.Snapshotable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The machine's components by id ("com1", "pit", "pci", "virtio-blk0", ...), in the order they were built: the
 * one place that knows what the machine holds, for lookups, snapshots (every {@link Snapshotable} in it) and
 * shutdown. Ids are unique.
 */
public final class DeviceTable {
    private final Map<String, Object> components = new LinkedHashMap<>();

    /** Adds {@code component} under {@code id} and returns it. */
    public <T> T add(String id, T component) {
        if (!id.matches("[a-z][a-z0-9-]*")) {
            throw new IllegalArgumentException("component id '" + id + "' is not lower-case letters, digits, '-'");
        }
        if (components.putIfAbsent(id, component) != null) {
            throw new IllegalStateException("component id '" + id + "' is already taken by " + components.get(id));
        }
        return component;
    }

    public <T> T get(String id, Class<T> type) {
        Object c = components.get(id);
        if (c == null) {
            throw new IllegalArgumentException("no component '" + id + "'");
        }
        return type.cast(c);
    }

    public boolean contains(String id) {
        return components.containsKey(id);
    }

    /** Every component in build order. */
    public Map<String, Object> all() {
        return Collections.unmodifiableMap(components);
    }

    /** The components that save and restore state, in build order. */
    public Map<String, Snapshotable<?>> snapshotables() {
        Map<String, Snapshotable<?>> out = new LinkedHashMap<>();
        components.forEach((id, c) -> {
            if (c instanceof Snapshotable<?> s) {
                out.put(id, s);
            }
        });
        return out;
    }
}
