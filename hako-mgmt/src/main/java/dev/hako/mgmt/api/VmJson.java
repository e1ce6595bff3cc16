package dev.hako.mgmt.api;

import dev.hako.host.Host;
import dev.hako.host.VmStatus;
import dev.hako.vmm.machine.MachineStatistics;
import dev.hako.vmm.snapshot.MigrationResult;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A VM as the API shows it: {@code name, state, exit_status, exit_reason, config, usage}. */
final class VmJson {
    private VmJson() {}

    /** The VM after a migration, with {@code migration}: the times and amounts the source measured. */
    static Map<String, Object> of(Host.Migration m) {
        Map<String, Object> vm = of(m.status());
        MigrationResult r = m.result();
        Map<String, Object> migration = new LinkedHashMap<>();
        migration.put("total_ms", r.totalNanos() / 1e6);
        migration.put("downtime_ms", r.downtimeNanos() / 1e6);
        migration.put("rounds", r.rounds());
        migration.put("data_pages", r.dataPages());
        migration.put("paused_pages", r.lastPages());
        migration.put("bytes_sent", r.bytesSent());
        vm.put("migration", migration);
        return vm;
    }

    static Map<String, Object> of(VmStatus s) {
        Map<String, Object> vm = new LinkedHashMap<>();
        vm.put("name", s.name());
        vm.put("state", s.state().label());
        vm.put("exit_status", s.exitStatus());
        vm.put("exit_reason", s.exitReason());
        if (s.pausedReason() != null) {
            vm.put("paused_reason", s.pausedReason());
        }
        vm.put("config", s.definition());
        MachineStatistics stats = s.statistics();
        if (stats != null) {
            Map<String, Object> usage = new LinkedHashMap<>();
            usage.put("cpu_seconds", stats.cpuNanos() / 1e9);
            List<Map<String, Object>> vcpus = new ArrayList<>();
            for (MachineStatistics.Vcpu v : stats.vcpus()) {
                Map<String, Object> vcpu = new LinkedHashMap<>();
                vcpu.put("cpu_seconds", v.cpuNanos() / 1e9);
                vcpu.put("instructions", v.instructions() >= 0 ? v.instructions() : null);
                vcpus.add(vcpu);
            }
            usage.put("vcpus", vcpus);
            usage.put("instructions", stats.instructions() >= 0 ? stats.instructions() : null);
            MachineStatistics.Exits exits = stats.exits();
            usage.put("exits", Map.of("io", exits.io(), "mmio", exits.mmio(), "halt", exits.halt(), "kick",
                    exits.kick()));
            usage.put("disk_bytes_read", stats.diskBytesRead());
            usage.put("disk_bytes_written", stats.diskBytesWritten());
            usage.put("net_bytes_rx", stats.netBytesReceived());
            usage.put("net_bytes_tx", stats.netBytesSent());
            usage.put("memory_bytes", s.memoryBytes() - s.balloonBytes());
            usage.put("balloon_bytes", s.balloonBytes());
            if (s.cpu() != null) {
                usage.put("entitlement", s.cpu().entitlement().cores());
                usage.put("capped", s.cpu().entitlement().capped());
                usage.put("weight", s.cpu().entitlement().weight());
                usage.put("entitled_seconds", s.cpu().entitledNanos() / 1e9);
                usage.put("steal_seconds", s.cpu().stealNanos() / 1e9);
                usage.put("throttled", s.cpu().throttled());
            }
            vm.put("usage", usage);
        }
        return vm;
    }
}
