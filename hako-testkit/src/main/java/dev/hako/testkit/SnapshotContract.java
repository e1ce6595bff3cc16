package dev.hako.testkit;

import dev.hako.core.state.Snapshotable;
import java.util.function.Supplier;

/**
 * The {@link Snapshotable} contract as a check: a component's save, restored into a freshly built one, saves
 * again to an equal record; and a record's equality really looks at its content (a save differs from the save of
 * a component in another state, when the caller supplies one).
 */
public final class SnapshotContract {
    private SnapshotContract() {
    }

    /** Saves {@code original}, restores into {@code fresh.get()}, saves again; returns the first save. */
    public static <S extends Record> S assertRoundTrip(Snapshotable<S> original, Supplier<? extends Snapshotable<S>> fresh) {
        S saved = original.save();
        check(saved.equals(original.save()) && saved.hashCode() == original.save().hashCode(),
                "two saves of an unchanged " + name(original) + " differ: its state record lacks value equality");
        Snapshotable<S> copy = fresh.get();
        copy.restore(saved);
        S again = copy.save();
        check(saved.equals(again), "a fresh " + name(original) + " restored from\n  " + saved
                + "\nsaves\n  " + again);
        return saved;
    }

    /** Asserts that {@code a} and {@code b}, components in different states, save to different records. */
    public static <S extends Record> void assertDistinguishes(Snapshotable<S> a, Snapshotable<S> b) {
        check(!a.save().equals(b.save()), "saves of " + name(a) + " in different states are equal");
    }

    private static String name(Object component) {
        return component.getClass().getSimpleName();
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError(message);
        }
    }
}
