package dev.hako.devices.pci;

import dev.hako.core.irq.MsiMessage;
import dev.hako.core.state.Snapshotable;
import java.util.function.Consumer;

/**
 * MSI-X for one PCI function (PCI Local Bus Specification 3.0 §6.8.2): the capability in configuration space
 * (table size, enable and function mask bits, table and PBA location) and the table and pending bit array that
 * live in one of the function's memory BARs, whose device forwards the right offsets to {@link #readTable},
 * {@link #writeTable} and {@link #readPba}.
 *
 * <p>{@link #signal} delivers a vector's message, or sets its pending bit while the vector or the whole function
 * is masked; unmasking delivers what was pending. Each vector's {@link MsiMessage} is built when the guest writes
 * its address or data, so signalling allocates nothing. Table accesses are dwords or qwords (§6.8.2: other sizes
 * are undefined; reads give the bytes of the dword, writes are dropped).
 *
 * <p>Guest control: every table entry and the two control bits. Not implemented: per-vector pending bits for
 * functions without MSI-X enabled (the caller falls back to INTx then).
 */
public final class MsixTable implements Snapshotable<MsixTableState> {
    public static final int ENTRY_SIZE = 16;
    public static final int VECTOR_CONTROL_MASKED = 1;
    private static final int ADDRESS_LOW = 0, ADDRESS_HIGH = 1, DATA = 2, VECTOR_CONTROL = 3;

    private final PciConfigSpace config;
    private final int capability;
    private final int vectors;
    private final Consumer<MsiMessage> sink;
    private final int[] table;
    private final long[] pending;
    private final MsiMessage[] messages;

    /**
     * Adds the capability to {@code config}: {@code vectors} entries with the table at {@code tableOffset} and the
     * PBA at {@code pbaOffset} (both 8-byte aligned) of BAR {@code bar}. Messages go to {@code sink}.
     */
    public MsixTable(PciConfigSpace config, int vectors, int bar, int tableOffset, int pbaOffset,
                     Consumer<MsiMessage> sink) {
        if (vectors < 1 || vectors > 2048 || ((tableOffset | pbaOffset) & 7) != 0) {
            throw new IllegalArgumentException("MSI-X with " + vectors + " vectors, table " + tableOffset);
        }
        this.config = config;
        this.vectors = vectors;
        this.sink = sink;
        this.table = new int[vectors * 4];
        this.pending = new long[(vectors + 63) / 64];
        this.messages = new MsiMessage[vectors];
        for (int v = 0; v < vectors; v++) {
            table[v * 4 + VECTOR_CONTROL] = VECTOR_CONTROL_MASKED;
            messages[v] = new MsiMessage(0, 0);
        }
        capability = config.addCapability(PciHeader.CAP_ID_MSIX, PciHeader.MSIX_CAP_LENGTH);
        config.set16(capability + PciHeader.MSIX_CONTROL, vectors - 1);
        config.writable(capability + PciHeader.MSIX_CONTROL, 2,
                PciHeader.MSIX_CONTROL_ENABLE | PciHeader.MSIX_CONTROL_FUNCTION_MASK);
        config.set32(capability + PciHeader.MSIX_TABLE, tableOffset | bar);
        config.set32(capability + PciHeader.MSIX_PBA, pbaOffset | bar);
    }

    public int vectors() {
        return vectors;
    }

    /** The table's size in bytes. */
    public int tableSize() {
        return vectors * ENTRY_SIZE;
    }

    /** The PBA's size in bytes. */
    public int pbaSize() {
        return pending.length * 8;
    }

    /** MSI-X enable: the function signals by message instead of INTx. */
    public boolean enabled() {
        return (config.u16(capability + PciHeader.MSIX_CONTROL) & PciHeader.MSIX_CONTROL_ENABLE) != 0;
    }

    private boolean functionMasked() {
        return (config.u16(capability + PciHeader.MSIX_CONTROL) & PciHeader.MSIX_CONTROL_FUNCTION_MASK) != 0;
    }

    /** Signals {@code vector}; a vector outside the table (e.g. virtio's NO_VECTOR) signals nothing. */
    public synchronized void signal(int vector) {
        if (vector < 0 || vector >= vectors) {
            return;
        }
        if (functionMasked() || (table[vector * 4 + VECTOR_CONTROL] & VECTOR_CONTROL_MASKED) != 0) {
            pending[vector >>> 6] |= 1L << vector;
        } else {
            sink.accept(messages[vector]);
        }
    }

    public synchronized boolean isPending(int vector) {
        return (pending[vector >>> 6] & 1L << vector) != 0;
    }

    /** The guest changed the configuration space: a cleared function mask delivers pending vectors. */
    public synchronized void configWritten() {
        deliverPending();
    }

    public synchronized long readTable(long offset, int size) {
        if (offset < 0 || offset + size > tableSize()) {
            return 0;
        }
        if (size == 8) {
            return table[(int) offset >>> 2] & 0xFFFF_FFFFL | (long) table[((int) offset >>> 2) + 1] << 32;
        }
        long dword = table[(int) offset >>> 2] & 0xFFFF_FFFFL;
        return (dword >>> (8 * (offset & 3))) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1);
    }

    public synchronized void writeTable(long offset, int size, long value) {
        if (offset < 0 || offset + size > tableSize() || (size != 4 && size != 8) || (offset & (size - 1)) != 0) {
            return;
        }
        writeDword((int) offset >>> 2, (int) value);
        if (size == 8) {
            writeDword(((int) offset >>> 2) + 1, (int) (value >>> 32));
        }
    }

    public synchronized long readPba(long offset, int size) {
        if (offset < 0 || offset + size > pbaSize()) {
            return 0;
        }
        long qword = pending[(int) offset >>> 3];
        long value = qword >>> (8 * (offset & 7));
        return size == 8 ? value : value & ((1L << (8 * size)) - 1);
    }

    private void writeDword(int index, int value) {
        int vector = index >>> 2;
        int field = index & 3;
        table[index] = field == VECTOR_CONTROL ? value & VECTOR_CONTROL_MASKED : value;
        if (field == VECTOR_CONTROL) {
            deliverPending();
        } else {
            messages[vector] = message(vector);
        }
    }

    private MsiMessage message(int vector) {
        int at = vector * 4;
        return new MsiMessage((long) table[at + ADDRESS_HIGH] << 32 | table[at + ADDRESS_LOW] & 0xFFFF_FFFFL,
                table[at + DATA]);
    }

    private void deliverPending() {
        if (!enabled() || functionMasked()) {
            return;
        }
        for (int vector = 0; vector < vectors; vector++) {
            if (isPending(vector) && (table[vector * 4 + VECTOR_CONTROL] & VECTOR_CONTROL_MASKED) == 0) {
                pending[vector >>> 6] &= ~(1L << vector);
                sink.accept(messages[vector]);
            }
        }
    }

    @Override
    public synchronized MsixTableState save() {
        return new MsixTableState(MsixTableState.VERSION, table.clone(), pending.clone());
    }

    @Override
    public synchronized void restore(MsixTableState state) {
        if (state.version() != MsixTableState.VERSION || state.table().length != table.length
                || state.pending().length != pending.length) {
            throw new IllegalArgumentException("MSI-X state of another version or table size");
        }
        System.arraycopy(state.table(), 0, table, 0, table.length);
        System.arraycopy(state.pending(), 0, pending, 0, pending.length);
        for (int v = 0; v < vectors; v++) {
            messages[v] = message(v);
        }
    }
}
