package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Each {@code with...} of {@link MachineConfig} replaces its one component and keeps every other: a copy that
 * forgot one (as {@code withDisks} once forgot {@code deterministic}) silently changes how the guest runs.
 */
class MachineConfigTest {
    @Test
    void everyWitherKeepsTheOtherComponents() {
        MachineConfig base = new MachineConfig(Path.of("/kernel"), Path.of("/initrd"), "console=ttyS0", 64L << 20, 1,
                "soft", List.of(), MachineConfig.DEFAULT_WATCHDOG).withDeterministic(true)
                .withIsaDevices(List.of(IsaDeviceSpec.parse("isa-debug-exit")));

        assertThat(base.withDisks(List.of())).isEqualTo(base);
        assertThat(base.withVirtio(base.virtio())).isEqualTo(base);
        assertThat(base.withPartition(base.partition())).isEqualTo(base);
        assertThat(base.withIsaDevices(base.isaDevices())).isEqualTo(base);
        assertThat(base.withDeterministic(true)).isEqualTo(base);
        assertThat(base.withDeterministic(false).deterministic()).isFalse();
    }
}
