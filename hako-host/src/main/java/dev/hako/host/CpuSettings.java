package dev.hako.host;

import dev.hako.vmm.sched.CpuEntitlement;

/**
 * A VM's CPU settings as its definition and {@code PUT /vms/NAME/cpu} give them (issue 11's micro-partitioning):
 * {@code entitlement} in cores, in steps of 0.01 (a processing unit), 0.05 to 1.0 per vCPU; {@code capped}: never
 * more than that, else idle capacity too, shared among uncapped VMs in proportion to {@code weight} (0-255). A
 * field left out (null) keeps its value, or takes the default: a VM defined without settings is uncapped with a
 * whole core per vCPU and weight 128, so it runs like a VM of a hypervisor without partitions. The scheduler
 * enforces the {@link #toEntitlement} of these.
 */
public record CpuSettings(Double entitlement, Boolean capped, Integer weight) {
    public static final CpuSettings DEFAULT = new CpuSettings(null, false, CpuEntitlement.DEFAULT_WEIGHT);

    /** Checks the settings against the VM's vCPUs; a wrong field is a {@link HostException} naming it. */
    public CpuSettings validateFor(int vcpus) {
        toEntitlement(vcpus);
        return this;
    }

    /** Fields absent here are taken from {@code base}. */
    public CpuSettings over(CpuSettings base) {
        return new CpuSettings(entitlement != null ? entitlement : base.entitlement(),
                capped != null ? capped : base.capped(), weight != null ? weight : base.weight());
    }

    /**
     * What the scheduler enforces for a VM of {@code vcpus} vCPUs, defaults filled in; its checks (hundredths of a
     * core, 0.05 to 1.0 per vCPU, weight 0-255) are the settings' checks.
     */
    public CpuEntitlement toEntitlement(int vcpus) {
        CpuSettings s = over(DEFAULT);
        try {
            CpuEntitlement e = s.entitlement() == null ? CpuEntitlement.wholeCores(vcpus)
                    : CpuEntitlement.ofCores(s.entitlement(), s.capped(), s.weight());
            return new CpuEntitlement(e.units(), s.capped(), s.weight()).requireFits(vcpus);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            throw HostException.badInput(message.startsWith("weight") ? "cpu.weight" : "cpu.entitlement", message);
        }
    }
}
