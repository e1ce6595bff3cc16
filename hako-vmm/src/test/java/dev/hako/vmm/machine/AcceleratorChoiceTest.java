package dev.hako.vmm.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.hako.kvm.KvmProbe;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/**
 * --accel kvm asked for where the host's KVM cannot run an unmodified kernel is refused at once with the reason
 * (it used to warn, then spin without output); auto takes the soft CPU there and says why.
 */
class AcceleratorChoiceTest {
    private static final KvmProbe PVM = new KvmProbe(true, true,
            "KVM is PVM (kvm_pvm loaded): it cannot run an unmodified kernel");
    private static final KvmProbe MISSING = new KvmProbe(false, false, "/dev/kvm does not exist (no KVM on this host)");

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(log, true);

    @Test
    void kvmOnAPvmHostIsRefusedWithTheReason() {
        assertThatThrownBy(() -> AcceleratorChoice.forName("kvm", PVM, out))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("--accel kvm: KVM is PVM (kvm_pvm loaded): it cannot run an unmodified kernel; "
                        + "use --accel soft (or auto)");
    }

    @Test
    void kvmWithoutKvmIsRefusedWithTheReason() {
        assertThatThrownBy(() -> AcceleratorChoice.forName("kvm", MISSING, out))
                .hasMessage("--accel kvm: /dev/kvm does not exist (no KVM on this host)");
    }

    @Test
    void autoOnAPvmHostTakesTheSoftCpuAndSaysWhy() {
        assertThat(AcceleratorChoice.forName("auto", PVM, out).name()).isEqualTo("soft");
        assertThat(log.toString()).contains("--accel auto chose the soft CPU: KVM is PVM");
    }
}
