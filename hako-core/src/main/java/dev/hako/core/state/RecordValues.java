package dev.hako.core.state;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;

/**
 * Value equality for state records that hold arrays: a record's generated equals compares arrays by identity, so a
 * state record overrides equals and hashCode with these, which compare every component and arrays by content
 * (deeply, so arrays of nested records compare through the records' own equals). Not for hot paths: it reads the
 * components reflectively.
 */
public final class RecordValues {
    private RecordValues() {
    }

    public static boolean equals(Record self, Object other) {
        if (self == other) {
            return true;
        }
        if (other == null || other.getClass() != self.getClass()) {
            return false;
        }
        return Arrays.deepEquals(components(self), components((Record) other));
    }

    public static int hashCode(Record self) {
        return Arrays.deepHashCode(components(self));
    }

    private static Object[] components(Record r) {
        RecordComponent[] parts = r.getClass().getRecordComponents();
        Object[] values = new Object[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                values[i] = parts[i].getAccessor().invoke(r);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("state record " + r.getClass().getName() + " is not readable", e);
            }
        }
        return values;
    }
}
