package dev.hako.host;

import dev.hako.vmm.machine.MachineStatistics;

/**
 * A VM of a host as {@code GET /vms/NAME} shows it: its definition, state, the exit status and reason of its last
 * run (null while it never ended), why it is paused when hako paused it (null otherwise: a migration of unknown
 * outcome), its counters and its use of its CPU entitlement (null when it never ran).
 */
public record VmStatus(String name, VmDefinition definition, VmState state, Integer exitStatus, String exitReason,
        String pausedReason,
        MachineStatistics statistics, long memoryBytes, long balloonBytes, PartitionUsage cpu) {}
