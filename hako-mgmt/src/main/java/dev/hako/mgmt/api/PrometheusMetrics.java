package dev.hako.mgmt.api;

import dev.hako.host.VmState;
import dev.hako.host.VmStatus;
import dev.hako.vmm.machine.MachineStatistics;
import java.util.List;
import java.util.Locale;

/**
 * {@code GET /metrics} in Prometheus' text exposition format (version 0.0.4): per VM its state, per vCPU the
 * host CPU time, the guest instructions retired (soft CPU), the vCPUs' exits by kind, disk and network bytes,
 * the CPU entitlement and what came of it, and guest memory (RAM less what the balloon holds). A VM that is not running reports its last run's counters.
 */
final class PrometheusMetrics {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private PrometheusMetrics() {}

    static String render(List<VmStatus> vms) {
        StringBuilder out = new StringBuilder();
        header(out, "hako_vm_state", "gauge", "1 for the state the VM is in, 0 for the others.");
        for (VmStatus vm : vms) {
            for (VmState state : VmState.values()) {
                out.append("hako_vm_state{vm=\"").append(vm.name()).append("\",state=\"").append(state.label())
                        .append("\"} ").append(vm.state() == state ? 1 : 0).append('\n');
            }
        }
        header(out, "hako_vm_vcpu_seconds_total", "counter", "Host CPU time of each vCPU's thread.");
        for (VmStatus vm : vms) {
            MachineStatistics s = vm.statistics();
            for (int i = 0; s != null && i < s.vcpus().size(); i++) {
                out.append("hako_vm_vcpu_seconds_total{vm=\"").append(vm.name()).append("\",vcpu=\"").append(i)
                        .append("\"} ").append(seconds(s.vcpus().get(i).cpuNanos())).append('\n');
            }
        }
        header(out, "hako_vm_instructions_total", "counter", "Guest instructions retired (soft CPU only).");
        for (VmStatus vm : vms) {
            if (vm.statistics() != null && vm.statistics().instructions() >= 0) {
                sample(out, "hako_vm_instructions_total", vm.name(), null, vm.statistics().instructions());
            }
        }
        header(out, "hako_vm_exits_total", "counter",
                "Why the vCPUs left the guest: io and mmio (a device model's access), halt, kick (scheduler, "
                        + "interrupt, pause).");
        for (VmStatus vm : vms) {
            if (vm.statistics() != null) {
                long[] counts = vm.statistics().exits().counts();
                for (int k = 0; k < counts.length; k++) {
                    out.append("hako_vm_exits_total{vm=\"").append(vm.name()).append("\",kind=\"")
                            .append(MachineStatistics.Exits.KINDS.get(k)).append("\"} ").append(counts[k])
                            .append('\n');
                }
            }
        }
        header(out, "hako_vm_disk_bytes_total", "counter", "Bytes the guest read from and wrote to its disks.");
        for (VmStatus vm : vms) {
            if (vm.statistics() != null) {
                sample(out, "hako_vm_disk_bytes_total", vm.name(), "read", vm.statistics().diskBytesRead());
                sample(out, "hako_vm_disk_bytes_total", vm.name(), "write", vm.statistics().diskBytesWritten());
            }
        }
        header(out, "hako_vm_net_bytes_total", "counter", "Bytes of frames the guest received and sent.");
        for (VmStatus vm : vms) {
            if (vm.statistics() != null) {
                sample(out, "hako_vm_net_bytes_total", vm.name(), "rx", vm.statistics().netBytesReceived());
                sample(out, "hako_vm_net_bytes_total", vm.name(), "tx", vm.statistics().netBytesSent());
            }
        }
        header(out, "hako_vm_cpu_entitlement_cores", "gauge",
                "The CPU entitlement in force, in cores (running VMs; capped=\"true\" never gets more).");
        for (VmStatus vm : vms) {
            if (vm.cpu() != null && vm.state().active()) {
                out.append("hako_vm_cpu_entitlement_cores{vm=\"").append(vm.name()).append("\",capped=\"")
                        .append(vm.cpu().entitlement().capped()).append("\"} ")
                        .append(String.format(Locale.ROOT, "%.2f", vm.cpu().entitlement().cores())).append('\n');
            }
        }
        header(out, "hako_vm_cpu_entitled_seconds_total", "counter", "CPU time the entitlement promised.");
        header(out, "hako_vm_steal_seconds_total", "counter",
                "Time the vCPUs were runnable but held back by the scheduler (the guest's steal time).");
        header(out, "hako_vm_throttled_total", "counter", "How often a vCPU was throttled at its budget.");
        for (VmStatus vm : vms) {
            if (vm.cpu() != null) {
                out.append("hako_vm_cpu_entitled_seconds_total{vm=\"").append(vm.name()).append("\"} ")
                        .append(seconds(vm.cpu().entitledNanos())).append('\n');
                out.append("hako_vm_steal_seconds_total{vm=\"").append(vm.name()).append("\"} ")
                        .append(seconds(vm.cpu().stealNanos())).append('\n');
                sample(out, "hako_vm_throttled_total", vm.name(), null, vm.cpu().throttled());
            }
        }
        header(out, "hako_vm_memory_bytes", "gauge", "Guest RAM of a running VM less what its balloon holds.");
        for (VmStatus vm : vms) {
            sample(out, "hako_vm_memory_bytes", vm.name(), null, vm.memoryBytes() - vm.balloonBytes());
        }
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String metric, String vm, String dir, long value) {
        out.append(metric).append("{vm=\"").append(vm).append('"');
        if (dir != null) {
            out.append(",dir=\"").append(dir).append('"');
        }
        out.append("} ").append(value).append('\n');
    }

    private static String seconds(long nanos) {
        return String.format(Locale.ROOT, "%.6f", nanos / 1e9);
    }
}
