package dev.hako.kvm;

import dev.hako.kvm.abi.KvmConstants;
import dev.hako.kvm.abi.KvmIoctls;
import dev.hako.sys.Errno;
import dev.hako.sys.Fcntl;
import dev.hako.sys.Ioctl;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this host's KVM can do for hako: whether /dev/kvm opens and speaks API 12, and whether it is the
 * PVM flavour (the kvm_pvm module), which runs small guest programs but not an unmodified Linux kernel.
 *
 * @param usable  /dev/kvm opens and answers as KVM API 12
 * @param pvm     the host's KVM is PVM (kvm_pvm is loaded)
 * @param reason  why KVM is unusable, or a description of it
 */
public record KvmProbe(boolean usable, boolean pvm, String reason) {
    public static final String DEVICE = "/dev/kvm";

    /** True when KVM can run any guest hako boots, including an unmodified Linux kernel. */
    public boolean runsUnmodifiedKernels() {
        return usable && !pvm;
    }

    /** Looks at this host. */
    public static KvmProbe host() {
        boolean pvm = Files.isDirectory(Path.of("/sys/module/kvm_pvm")) || procModulesMention("kvm_pvm");
        if (!Files.exists(Path.of(DEVICE))) {
            return new KvmProbe(false, pvm, DEVICE + " does not exist (no KVM on this host)");
        }
        int fd = Fcntl.open(DEVICE, Fcntl.O_RDWR | Fcntl.O_CLOEXEC);
        if (fd < 0) {
            return new KvmProbe(false, pvm, "cannot open " + DEVICE + ": " + Errno.describe(-fd));
        }
        try {
            long version = Ioctl.call(fd, KvmIoctls.GET_API_VERSION, 0);
            if (version != KvmConstants.API_VERSION) {
                return new KvmProbe(false, pvm, DEVICE + " speaks KVM API " + version + ", not "
                        + KvmConstants.API_VERSION);
            }
            return new KvmProbe(true, pvm, pvm ? "KVM is PVM (kvm_pvm loaded): it cannot run an unmodified kernel"
                    : "KVM API " + version);
        } finally {
            Fcntl.close(fd);
        }
    }

    private static boolean procModulesMention(String module) {
        try {
            Path modules = Path.of("/proc/modules");
            return Files.isReadable(modules) && Files.readAllLines(modules).stream()
                    .anyMatch(line -> line.startsWith(module + " "));
        } catch (java.io.IOException e) {
            return false;
        }
    }
}
