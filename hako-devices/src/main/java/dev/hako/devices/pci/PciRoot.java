package dev.hako.devices.pci;

import dev.hako.core.bus.BusAccess;
import dev.hako.core.bus.MmioBus;
import dev.hako.core.bus.MmioDevice;
import dev.hako.core.bus.PioBus;
import dev.hako.core.bus.PioDevice;
import dev.hako.core.irq.IrqLine;
import dev.hako.core.state.Snapshotable;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A PCI host bridge with one bus (bus 0) of 32 single-function slots, reached through configuration mechanism
 * #1 (PCI Local Bus Specification 3.0 §3.2.2.3.2: the CONFIG_ADDRESS register at port 0xCF8, dword only, and the
 * CONFIG_DATA window at 0xCFC-0xCFF, byte, word or dword) and through ECAM (PCI Express Base Specification §7.2.2:
 * one 4 KiB page per function, 1 MiB for bus 0, described to the OS by the ACPI MCFG table). Both reach the same
 * configuration spaces. The bridge itself is function 00:00.0 (class host bridge).
 *
 * <p>BARs: a function declares its BARs; the machine places them like firmware would ({@link #placeBar}), and
 * the root maps each BAR on the MMIO or port bus while its address is non-zero and the command register enables
 * that kind of decoding, so a guest that sizes (writes all ones), moves or disables a BAR sees the bus follow.
 * A BAR the guest puts over another device's range, across the end of the address space or outside the port
 * space is left unmapped (as a conflicting decode would be undefined on real hardware).
 *
 * <p>INTx: the interrupt pin of the function in slot {@code s} reaches GSI {@link #intxGsi}, the usual rotation
 * over four I/O APIC inputs 16-19, which the DSDT's _PRT describes. Not implemented: other buses and bridges,
 * multi-function devices, expansion ROMs, extended capabilities (0x100-0xFFF read as zero).
 *
 * <p>Guest control: the configuration address latch and every writable configuration bit of every function.
 * Configuration accesses are serialised here; they happen on vCPU threads and allocate nothing.
 */
public final class PciRoot implements Snapshotable<PciRootState> {
    public static final int CONFIG_ADDRESS_PORT = 0xCF8, CONFIG_DATA_PORT = 0xCFC, CONFIG_DATA_PORTS = 4;
    public static final int SLOTS = 32;
    public static final long ECAM_BUS_SIZE = 1L << 20;
    public static final int INTX_FIRST_GSI = 16, INTX_GSIS = 4;
    private static final int CONFIG_ENABLE = 1 << 31;
    private static final long UNMAPPED = -1;

    private final PioBus pio;
    private final MmioBus mmio;
    private final IntFunction<IrqLine> gsiLines;
    private final PciFunction[] slots = new PciFunction[SLOTS];
    private final long[][] mapped = new long[SLOTS][PciHeader.BAR_COUNT];
    private int configAddress;

    private final PioDevice configAddressPort = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (PciRoot.this) {
                return size == 4 ? configAddress & 0xFFFF_FFFFL : BusAccess.allOnes(size);
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            if (size == 4) {
                synchronized (PciRoot.this) {
                    configAddress = (int) value & 0x80FF_FFFC;
                }
            }
        }
    };

    private final PioDevice configDataPort = new PioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (PciRoot.this) {
                if ((configAddress & CONFIG_ENABLE) == 0) {
                    return BusAccess.allOnes(size);
                }
                return configRead(configAddress >>> 8 & 0xFFFF, (configAddress & 0xFC) + (int) offset, size);
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (PciRoot.this) {
                if ((configAddress & CONFIG_ENABLE) != 0) {
                    configWrite(configAddress >>> 8 & 0xFFFF, (configAddress & 0xFC) + (int) offset, size,
                            (int) value);
                }
            }
        }
    };

    private final MmioDevice ecam = new MmioDevice() {
        @Override
        public long read(int vcpu, long offset, int size) {
            synchronized (PciRoot.this) {
                if (size == 8) {
                    return configRead(ecamFunction(offset), (int) offset & 0xFFF, 4) & 0xFFFF_FFFFL
                            | (long) configRead(ecamFunction(offset), ((int) offset & 0xFFF) + 4, 4) << 32;
                }
                return configRead(ecamFunction(offset), (int) offset & 0xFFF, size) & BusAccess.allOnes(size);
            }
        }

        @Override
        public void write(int vcpu, long offset, int size, long value) {
            synchronized (PciRoot.this) {
                configWrite(ecamFunction(offset), (int) offset & 0xFFF, Math.min(size, 4), (int) value);
                if (size == 8) {
                    configWrite(ecamFunction(offset), ((int) offset & 0xFFF) + 4, 4, (int) (value >>> 32));
                }
            }
        }
    };

    /** @param gsiLines the interrupt controller's GSI inputs, for INTx routing */
    public PciRoot(PioBus pio, MmioBus mmio, IntFunction<IrqLine> gsiLines) {
        this.pio = pio;
        this.mmio = mmio;
        this.gsiLines = gsiLines;
        for (long[] bars : mapped) {
            Arrays.fill(bars, UNMAPPED);
        }
        attach(0, new PciHostBridge());
    }

    /** The GSI that INTx pin {@code pin} (1 = INTA#) of the function in {@code slot} drives. */
    public static int intxGsi(int slot, int pin) {
        return INTX_FIRST_GSI + ((slot + pin - 1) & (INTX_GSIS - 1));
    }

    public PioDevice configAddressPort() {
        return configAddressPort;
    }

    public PioDevice configDataPort() {
        return configDataPort;
    }

    /** The ECAM window of bus 0 ({@link #ECAM_BUS_SIZE} bytes). */
    public MmioDevice ecam() {
        return ecam;
    }

    /** Puts {@code function} in {@code slot} (1..31) as function 0; its BARs start unplaced. */
    public synchronized void attach(int slot, PciFunction function) {
        if (slot < 0 || slot >= SLOTS || slots[slot] != null) {
            throw new IllegalArgumentException("PCI slot " + slot + " is taken or does not exist");
        }
        PciConfigSpace config = function.config();
        for (int i = 0; i < PciHeader.BAR_COUNT; i++) {
            PciBar bar = function.bar(i);
            if (bar != null) {
                if (bar.kind() == PciBar.Kind.MEMORY_64 && (i == PciHeader.BAR_COUNT - 1 || function.bar(i + 1) != null)) {
                    throw new IllegalArgumentException("64-bit BAR " + i + " needs BAR " + (i + 1) + " free");
                }
                config.declareBar(i, bar);
            }
        }
        int pin = config.u8(PciHeader.INTERRUPT_PIN);
        if (pin >= 1 && pin <= 4) {
            config.set8(PciHeader.INTERRUPT_LINE, intxGsi(slot, pin));
            function.connectIntx(gsiLines.apply(intxGsi(slot, pin)));
        }
        slots[slot] = function;
    }

    public synchronized PciFunction function(int slot) {
        return slots[slot];
    }

    /** Firmware's part: puts BAR {@code index} of the function in {@code slot} at {@code address}. */
    public synchronized void placeBar(int slot, int index, long address) {
        PciFunction function = slots[slot];
        PciBar bar = function.bar(index);
        if (bar == null || (address & (bar.size() - 1)) != 0) {
            throw new IllegalArgumentException(String.format("BAR %d of slot %d cannot go at %#x", index, slot,
                    address));
        }
        function.config().placeBar(index, bar, address);
        decode(slot);
    }

    /** Firmware's part: turns on the decoding of the kinds of BAR the function in {@code slot} has. */
    public synchronized void enableDecoding(int slot) {
        PciFunction function = slots[slot];
        int command = function.config().u16(PciHeader.COMMAND);
        for (int i = 0; i < PciHeader.BAR_COUNT; i++) {
            PciBar bar = function.bar(i);
            if (bar != null) {
                command |= bar.isMemory() ? PciHeader.COMMAND_MEMORY : PciHeader.COMMAND_IO;
            }
        }
        function.config().set16(PciHeader.COMMAND, command);
        decode(slot);
    }

    /** Where BAR {@code index} of slot {@code slot} is decoded now, or -1 when it is not. */
    public synchronized long mappedAddress(int slot, int index) {
        return mapped[slot][index];
    }

    private static int ecamFunction(long offset) {
        return (int) (offset >>> 12) & 0xFF;  // device 19:15, function 14:12 on bus 0
    }

    /** {@code busDeviceFunction} is bus 15:8, device 7:3, function 2:0, as in CONFIG_ADDRESS bits 23:8. */
    private int configRead(int busDeviceFunction, int offset, int size) {
        PciFunction function = functionAt(busDeviceFunction);
        if (function == null) {
            return (int) BusAccess.allOnes(size);
        }
        function.configReading(offset, size);
        return function.config().read(offset, size);
    }

    private void configWrite(int busDeviceFunction, int offset, int size, int value) {
        PciFunction function = functionAt(busDeviceFunction);
        if (function == null) {
            return;
        }
        function.config().write(offset, size, value);
        int end = offset + size;
        if (offset < PciHeader.bar(PciHeader.BAR_COUNT) && end > PciHeader.COMMAND) {
            decode(busDeviceFunction >>> 3);
        }
        function.configWritten(offset, size);
    }

    private PciFunction functionAt(int busDeviceFunction) {
        if (busDeviceFunction >>> 8 != 0 || (busDeviceFunction & 7) != 0) {
            return null;
        }
        return slots[busDeviceFunction >>> 3];
    }

    /** Brings the buses in line with the function's BAR registers and command register. */
    private void decode(int slot) {
        PciFunction function = slots[slot];
        PciConfigSpace config = function.config();
        int command = config.u16(PciHeader.COMMAND);
        for (int i = 0; i < PciHeader.BAR_COUNT; i++) {
            PciBar bar = function.bar(i);
            if (bar == null) {
                continue;
            }
            boolean enabled = (command & (bar.isMemory() ? PciHeader.COMMAND_MEMORY : PciHeader.COMMAND_IO)) != 0;
            long address = config.barAddress(i, bar);
            long wanted = enabled && address != 0 ? address : UNMAPPED;
            if (wanted == mapped[slot][i]) {
                continue;
            }
            if (mapped[slot][i] != UNMAPPED) {
                if (bar.isMemory()) {
                    mmio.unregister(mapped[slot][i]);
                } else {
                    pio.unregister((int) mapped[slot][i], (int) bar.size());
                }
                mapped[slot][i] = UNMAPPED;
            }
            if (wanted != UNMAPPED && map(bar, wanted)) {
                mapped[slot][i] = wanted;
            }
        }
    }

    private boolean map(PciBar bar, long address) {
        if (bar.isMemory()) {
            return mmio.tryRegister(address, bar.size(), bar.memory());
        }
        return address + bar.size() <= PioBus.PORT_COUNT && pio.tryRegister((int) address, (int) bar.size(), bar.io());
    }

    @Override
    public synchronized PciRootState save() {
        Map<Integer, PciConfigSpaceState> functions = new HashMap<>();
        for (int slot = 0; slot < SLOTS; slot++) {
            if (slots[slot] != null) {
                functions.put(slot, slots[slot].config().save());
            }
        }
        return new PciRootState(PciRootState.VERSION, configAddress, functions);
    }

    @Override
    public synchronized void restore(PciRootState state) {
        if (state.version() != PciRootState.VERSION) {
            throw new IllegalArgumentException("PCI root state version " + state.version());
        }
        for (int slot = 0; slot < SLOTS; slot++) {
            if ((slots[slot] != null) != state.functions().containsKey(slot)) {
                throw new IllegalArgumentException("PCI slot " + slot + " is not populated as in the state");
            }
        }
        configAddress = state.configAddress();
        state.functions().forEach((slot, config) -> {
            slots[slot].config().restore(config);
            decode(slot);
        });
    }
}
