package dev.hako.devices.legacy;

import dev.hako.core.bus.PioDevice;
import dev.hako.core.state.Snapshotable;

/**
 * QEMU's pvpanic device in its ISA form (QEMU docs/specs/pvpanic.rst, "ISA Interface"): one I/O port, 0x505 by
 * default, through which a guest kernel tells the host it has panicked. The platform describes it in ACPI as
 * {@code _HID "QEMU0001"} with the port in its {@code _CRS}; Linux's pvpanic-mmio driver binds to that.
 *
 * <p>Implemented: a read returns the events the device recognizes, bit 0 PANICKED ("a guest panic has happened
 * and should be processed by the host") and bit 1 CRASH_LOADED ("a guest panic has happened and will be handled
 * by the guest", i.e. a kdump kernel takes over); a write reports the events whose bits are set, unrecognized
 * bits ignored. PANICKED calls the panic callback, which ends the VM; CRASH_LOADED calls the crash-loaded
 * callback once and the guest runs on.
 *
 * <p>Not implemented: bit 2 (SHUTDOWN, a later addition to the spec: the guest powers off through ACPI anyway)
 * and the PCI form (pvpanic-pci, an MMIO BAR).
 *
 * <p>Guest control: the port's value. A hostile guest can only end its own VM or make the host log one line.
 */
public final class PvPanic implements PioDevice, Snapshotable<PvPanicState> {
    public static final int DEFAULT_PORT = 0x505;
    public static final int PORT_COUNT = 1;
    public static final int PANICKED = 1 << 0;
    public static final int CRASH_LOADED = 1 << 1;
    public static final int RECOGNIZED = PANICKED | CRASH_LOADED;

    private final Runnable panicked;
    private final Runnable crashLoaded;
    private int reported;

    /**
     * @param panicked called when the guest reports PANICKED (the VMM ends the VM)
     * @param crashLoaded called the first time the guest reports CRASH_LOADED (the VMM records it)
     */
    public PvPanic(Runnable panicked, Runnable crashLoaded) {
        this.panicked = panicked;
        this.crashLoaded = crashLoaded;
    }

    @Override
    public long read(int vcpu, long offset, int size) {
        return RECOGNIZED;
    }

    @Override
    public void write(int vcpu, long offset, int size, long value) {
        int events = (int) value & RECOGNIZED;
        int fresh = events & ~reported;
        reported |= events;
        if ((events & PANICKED) != 0) {
            panicked.run();
        } else if ((fresh & CRASH_LOADED) != 0) {
            crashLoaded.run();
        }
    }

    /** The events the guest has reported (PANICKED, CRASH_LOADED bits). */
    public int reported() {
        return reported;
    }

    @Override
    public PvPanicState save() {
        return new PvPanicState(PvPanicState.VERSION, reported);
    }

    @Override
    public void restore(PvPanicState state) {
        if (state.version() != PvPanicState.VERSION) {
            throw new IllegalArgumentException("pvpanic state version " + state.version() + ", this build reads "
                    + PvPanicState.VERSION);
        }
        if ((state.reported() & ~RECOGNIZED) != 0) {
            throw new IllegalArgumentException(String.format("pvpanic state reports unknown events %#x",
                    state.reported()));
        }
        reported = state.reported();
    }
}
