package dev.hako.vmm.machine;

import dev.hako.core.accel.Accelerator;
import dev.hako.kvm.KvmAccelerator;
import dev.hako.kvm.KvmException;
import dev.hako.kvm.KvmProbe;
import dev.hako.soft.SoftAccelerator;
import java.io.PrintStream;

/**
 * Turns {@code --accel soft|kvm|auto} into an accelerator. {@code auto} takes KVM where the host's KVM can
 * run the guest (an unmodified Linux kernel) and the soft CPU otherwise, saying why in one line: no
 * /dev/kvm, no access to it, or a PVM-based KVM (kvm_pvm), which runs only PVM-aware kernels. {@code kvm}
 * asked for explicitly where it cannot run the guest is refused with the same reason.
 */
final class AcceleratorChoice {
    static final String SOFT = "soft", KVM = "kvm", AUTO = "auto";

    private AcceleratorChoice() {}

    static boolean isKnown(String accel) {
        return SOFT.equals(accel) || KVM.equals(accel) || AUTO.equals(accel);
    }

    /**
     * Refuses {@code kvm} where the host's KVM cannot run the guest, before anything is built: a KVM that is
     * there but cannot run an unmodified kernel (PVM) would take it and never run it.
     */
    static void requireAvailable(String accel) {
        if (KVM.equals(accel)) {
            requireKvmThatRunsGuests(KvmProbe.host());
        }
    }

    private static void requireKvmThatRunsGuests(KvmProbe probe) {
        if (!probe.usable()) {
            throw new IllegalArgumentException("--accel kvm: " + probe.reason());
        }
        if (probe.pvm()) {
            throw new IllegalArgumentException("--accel kvm: " + probe.reason() + "; use --accel soft (or auto)");
        }
    }

    static Accelerator forName(String accel, PrintStream log) {
        return forName(accel, SOFT.equals(accel) ? null : KvmProbe.host(), log);
    }

    /** With what {@code probe} found out about the host's KVM (unused, may be null, for soft). */
    static Accelerator forName(String accel, KvmProbe probe, PrintStream log) {
        return switch (accel) {
            case SOFT -> new SoftAccelerator();
            case KVM -> {
                requireKvmThatRunsGuests(probe);
                try {
                    yield KvmAccelerator.open();
                } catch (KvmException e) {
                    throw new IllegalArgumentException("--accel kvm: " + e.getMessage(), e);
                }
            }
            case AUTO -> {
                if (probe.runsUnmodifiedKernels()) {
                    yield KvmAccelerator.open();
                }
                log.println("hako: --accel auto chose the soft CPU: " + probe.reason());
                yield new SoftAccelerator();
            }
            default -> throw new IllegalArgumentException(
                    "accelerator '" + accel + "' is not available (soft, kvm, auto)");
        };
    }
}
