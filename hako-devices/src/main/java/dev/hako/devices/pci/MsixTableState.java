package dev.hako.devices.pci;

import java.util.Arrays;

/** The MSI-X table (four dwords per vector) and pending bits; enable and mask live in configuration space. */
public record MsixTableState(int version, int[] table, long[] pending) {
    public static final int VERSION = 1;

    public MsixTableState {
        table = table.clone();
        pending = pending.clone();
    }

    @Override
    public int[] table() {
        return table.clone();
    }

    @Override
    public long[] pending() {
        return pending.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MsixTableState s && s.version == version && Arrays.equals(s.table, table)
                && Arrays.equals(s.pending, pending);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(table) * 31 + Arrays.hashCode(pending) + version;
    }

    @Override
    public String toString() {
        return "MsixTableState[version=" + version + ", " + table.length / 4 + " vectors]";
    }
}
