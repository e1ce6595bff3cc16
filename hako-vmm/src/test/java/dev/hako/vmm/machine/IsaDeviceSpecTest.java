package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** {@code --device} as QEMU users write it: QEMU's defaults, its number syntax, and one line for a mistake. */
class IsaDeviceSpecTest {
    @Test
    void qemusDefaults() {
        assertThat(IsaDeviceSpec.parse("isa-debug-exit")).isEqualTo(new IsaDeviceSpec.DebugExit(0x501, 2));
        assertThat(IsaDeviceSpec.parse("isa-debugcon")).isEqualTo(new IsaDeviceSpec.Debugcon(0xE9, null, 0xE9));
    }

    @Test
    void settingsInHexOrDecimal() {
        assertThat(IsaDeviceSpec.parse("isa-debug-exit,iobase=0xf4,iosize=0x04"))
                .isEqualTo(new IsaDeviceSpec.DebugExit(0xF4, 4));
        assertThat(IsaDeviceSpec.parse("isa-debug-exit,iobase=244,iosize=1"))
                .isEqualTo(new IsaDeviceSpec.DebugExit(0xF4, 1));
        assertThat(IsaDeviceSpec.parse("isa-debugcon,iobase=0x402,chardev=/tmp/log,readback=0x5a"))
                .isEqualTo(new IsaDeviceSpec.Debugcon(0x402, Path.of("/tmp/log"), 0x5A));
        assertThat(((IsaDeviceSpec.Debugcon) IsaDeviceSpec.parse("isa-debugcon,chardev=stdout")).file()).isNull();
        assertThat(((IsaDeviceSpec.Debugcon) IsaDeviceSpec.parse("isa-debugcon,chardev=stdio")).file()).isNull();
    }

    @Test
    void mistakesQuoteWhatWasWritten() {
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debug-exit,iobase=0x10000"))
                .hasMessage("--device isa-debug-exit,iobase=0x10000: iobase must be a number from 0x0 to 0xffff, "
                        + "decimal or 0x-hex");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debug-exit,iosize=0"))
                .hasMessageContaining("iosize must be a number from 0x1");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debug-exit,iobase=0xffff,iosize=2"))
                .hasMessageContaining("its ports reach past 0xffff");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debug-exit,chardev=x"))
                .hasMessageContaining("isa-debug-exit has no setting 'chardev' (iobase, iosize)");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debugcon,iosize=4"))
                .hasMessageContaining("isa-debugcon has no setting 'iosize'");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("isa-debugcon,chardev="))
                .hasMessageContaining("chardev is stdout or a file");
        assertThatThrownBy(() -> IsaDeviceSpec.parse("virtio-foo"))
                .hasMessageStartingWith("--device virtio-foo: unknown device 'virtio-foo'");
    }
}
