package dev.hako.host;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.machine.IsaDeviceSpec;
import dev.hako.vmm.machine.MachineConfig;
import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A VM of a host as its JSON definition says (the REST API's {@code PUT /vms/NAME} body and the state directory's
 * file). The core fields, whose names scripts rely on: {@code kernel, initrd, cmdline, bundle, memory_mib, vcpus,
 * disks[{path, format, readonly}], nets[{type, hostfwd[], tap}], cpu{entitlement, capped, weight}, autostart};
 * beside them {@code accel}, {@code watchdog_seconds}, {@code rng_bytes_per_second}, {@code balloon_mib} (the
 * balloon's initial size; absent: no balloon) and {@code devices} (QEMU's ISA test devices as {@code --device}
 * spells them; an isa-debugcon's {@code chardev=stdout} is the VM's console). Null is "not given" ({@link MachineRecipe} has the defaults).
 * {@link #validate} checks every field and names the first wrong one; unknown fields are refused by the reader.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmDefinition(String kernel, String initrd, String cmdline, String bundle,
        @JsonProperty("memory_mib") Integer memoryMib, Integer vcpus, List<DiskSpec> disks, List<NetDefinition> nets,
        CpuSettings cpu, Boolean autostart, String accel,
        @JsonProperty("watchdog_seconds") Double watchdogSeconds,
        @JsonProperty("rng_bytes_per_second") Long rngBytesPerSecond,
        @JsonProperty("balloon_mib") Integer balloonMib, List<String> devices) {

    /** A VM's name: a DNS label, lower case (it is a file name in the state directory and a URL segment). */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{0,62}");
    public static final int MIN_MEMORY_MIB = (int) (MachineConfig.MIN_MEMORY >> 20);
    public static final int MAX_MEMORY_MIB = (int) (MachineConfig.MAX_MEMORY >> 20);

    /** One disk: an image path, its format (raw or qcow2; absent: detected) and whether the guest may write it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record DiskSpec(String path, String format, Boolean readonly) {}

    /** One network card: {@code type} user (with QEMU-style {@code hostfwd} rules) or tap (with {@code tap}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record NetDefinition(String type, List<String> hostfwd, String tap, String mac) {
        /** As {@code --net} spells it. */
        String asOption() {
            StringBuilder text = new StringBuilder("tap".equals(type) ? "tap=" + tap : type);
            for (String rule : hostfwd == null ? List.<String>of() : hostfwd) {
                text.append(",hostfwd=").append(rule);
            }
            if (mac != null) {
                text.append(",mac=").append(mac);
            }
            return text.toString();
        }
    }

    public boolean autostarts() {
        return Boolean.TRUE.equals(autostart);
    }

    public CpuSettings cpuOrDefault() {
        return cpu != null ? cpu : CpuSettings.DEFAULT;
    }

    /** The same definition with {@code entitlement} as its cpu. */
    public VmDefinition withCpu(CpuSettings entitlement) {
        return new VmDefinition(kernel, initrd, cmdline, bundle, memoryMib, vcpus, disks, nets, entitlement,
                autostart, accel, watchdogSeconds, rngBytesPerSecond, balloonMib, devices);
    }

    /**
     * The same definition with each disk whose image a snapshot froze ({@code frozen}: image to overlay, absolute
     * paths) pointed at the overlay the VM went on with, as qcow2: its next boot must not write the frozen image.
     */
    public VmDefinition withDisksMoved(Map<Path, Path> frozen) {
        if (disks == null) {
            return this;
        }
        List<DiskSpec> moved = disks.stream().map(d -> {
            Path overlay = frozen.get(Path.of(d.path()).toAbsolutePath().normalize());
            return overlay == null ? d : new DiskSpec(overlay.toString(), "qcow2", d.readonly());
        }).toList();
        return new VmDefinition(kernel, initrd, cmdline, bundle, memoryMib, vcpus, moved, nets, cpu, autostart, accel,
                watchdogSeconds, rngBytesPerSecond, balloonMib, devices);
    }

    /** Checks every field; the first wrong one is a {@link HostException} naming it. */
    public VmDefinition validate() {
        pathField("kernel", kernel);
        pathField("initrd", initrd);
        pathField("bundle", bundle);
        if (cmdline != null && cmdline.length() > 4096) {
            throw HostException.badInput("cmdline", "the command line is longer than 4096 characters");
        }
        if (memoryMib != null && (memoryMib < MIN_MEMORY_MIB || memoryMib > MAX_MEMORY_MIB)) {
            throw HostException.badInput("memory_mib", "memory_mib " + memoryMib + " is outside "
                    + MIN_MEMORY_MIB + ".." + MAX_MEMORY_MIB);
        }
        if (vcpus != null && (vcpus < 1 || vcpus > MachineConfig.MAX_CPUS)) {
            throw HostException.badInput("vcpus", "vcpus " + vcpus + " is outside 1.." + MachineConfig.MAX_CPUS);
        }
        if (accel != null && !List.of("soft", "kvm", "auto").contains(accel)) {
            throw HostException.badInput("accel", "accel '" + accel + "' is not soft, kvm or auto");
        }
        if (watchdogSeconds != null && !(watchdogSeconds >= 0 && watchdogSeconds <= 365 * 86400)) {
            throw HostException.badInput("watchdog_seconds", "watchdog_seconds is a number of seconds from 0 "
                    + "(off) to a year");
        }
        if (rngBytesPerSecond != null && (rngBytesPerSecond < 0 || rngBytesPerSecond > 1L << 30)) {
            throw HostException.badInput("rng_bytes_per_second", "rng_bytes_per_second is outside 0..1G");
        }
        int memory = memoryMib != null ? memoryMib : (int) (MachineConfig.DEFAULT_MEMORY >> 20);
        if (balloonMib != null && (balloonMib < 0 || balloonMib > memory)) {
            throw HostException.badInput("balloon_mib", "balloon_mib " + balloonMib + " is outside 0.." + memory);
        }
        List<DiskSpec> diskList = disks == null ? List.of() : disks;
        for (int i = 0; i < diskList.size(); i++) {
            DiskSpec d = diskList.get(i);
            String field = "disks[" + i + "]";
            if (d == null || d.path() == null || d.path().isEmpty()) {
                throw HostException.badInput(field + ".path", field + " needs a path");
            }
            pathField(field + ".path", d.path());
            if (d.format() != null) {
                try {
                    DiskFormat.named(d.format());
                } catch (IOException e) {
                    throw HostException.badInput(field + ".format", e.getMessage());
                }
            }
        }
        List<NetDefinition> netList = nets == null ? List.of() : nets;
        for (int i = 0; i < netList.size(); i++) {
            NetDefinition n = netList.get(i);
            String field = "nets[" + i + "]";
            if (n == null || n.type() == null || !List.of("user", "tap", "none").contains(n.type())) {
                throw HostException.badInput(field + ".type", field + ".type is user, tap or none");
            }
            if ("tap".equals(n.type()) != (n.tap() != null)) {
                throw HostException.badInput(field + ".tap", "tap names the TAP device of a card of type tap, "
                        + "and only of one");
            }
            if (n.hostfwd() != null && (!"user".equals(n.type()) || n.hostfwd().contains(null))) {
                throw HostException.badInput(field + ".hostfwd", "hostfwd is a list of rules for type user");
            }
        }
        List<String> deviceList = devices == null ? List.of() : devices;
        for (int i = 0; i < deviceList.size(); i++) {
            try {
                IsaDeviceSpec.parse(String.valueOf(deviceList.get(i)));
            } catch (IllegalArgumentException e) {
                throw HostException.badInput("devices[" + i + "]", e.getMessage());
            }
        }
        if (cpu != null) {
            cpu.validateFor(vcpusOrDefault());
        }
        return this;
    }

    /** The vCPUs the VM gets: one unless it says otherwise. */
    public int vcpusOrDefault() {
        return vcpus != null ? vcpus : 1;
    }

    /** What {@link MachineRecipe} makes of it; {@code name} derives the MAC addresses. */
    public MachineRecipe recipe() {
        List<DiskOption> diskOptions = new ArrayList<>();
        int first = bundle != null ? 1 : 0;
        for (DiskSpec d : disks == null ? List.<DiskSpec>of() : disks) {
            DiskFormat format;
            try {
                format = d.format() == null ? null : DiskFormat.named(d.format());
            } catch (IOException e) {
                throw HostException.badInput("disks", e.getMessage());
            }
            diskOptions.add(new DiskOption(Path.of(d.path()), format, Boolean.TRUE.equals(d.readonly()),
                    "hako-disk" + (first + diskOptions.size())));
        }
        List<String> netOptions = new ArrayList<>();
        for (NetDefinition n : nets == null ? List.<NetDefinition>of() : nets) {
            netOptions.add(n.asOption());
        }
        Duration watchdog = watchdogSeconds == null ? MachineConfig.DEFAULT_WATCHDOG
                : Duration.ofNanos((long) (watchdogSeconds * 1e9));
        return new MachineRecipe(path(bundle), path(kernel), path(initrd), cmdline,
                memoryMib == null ? null : (long) memoryMib << 20, vcpus, accel == null ? "auto" : accel, watchdog,
                rngBytesPerSecond == null ? 0 : rngBytesPerSecond, balloonMib == null ? -1 : (long) balloonMib << 20,
                0, null, netOptions, diskOptions, devices == null ? List.of() : devices);
    }

    private static Path path(String text) {
        return text == null ? null : Path.of(text);
    }

    private static void pathField(String field, String value) {
        if (value == null) {
            return;
        }
        try {
            if (value.isEmpty() || value.indexOf('\0') >= 0) {
                throw new InvalidPathException(value, "empty or holds a NUL");
            }
            Path.of(value);
        } catch (InvalidPathException e) {
            throw HostException.badInput(field, field + " is not a path: " + e.getMessage());
        }
    }
}
