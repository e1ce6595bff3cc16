package dev.hako.core.state;

/**
 * A stateful machine component (a device, an interrupt controller, a vCPU) whose state can be taken out and put
 * into a freshly built component of the same configuration: the base of pause, snapshot, restore and migration.
 *
 * <p>The state is a record {@code S} whose first component is {@code int version} (the layout's version, checked
 * by {@link #restore}) and which has value equality: two saves of components in the same state are
 * {@code equals}, so arrays inside it are compared by content (records holding arrays override equals and
 * hashCode, or hold immutable lists). A save taken after a restore equals the state restored.
 *
 * <p>{@link #save} and {@link #restore} are called with the machine paused (no vCPU running, no device thread in
 * the middle of a request), except where a component documents that it locks for itself.
 */
public interface Snapshotable<S extends Record> {
    /** The component's state now. */
    S save();

    /**
     * Puts {@code state} into this component, which was just built with the configuration of the one saved.
     * Throws {@link IllegalArgumentException} for a version or shape this build does not know.
     */
    void restore(S state);
}
