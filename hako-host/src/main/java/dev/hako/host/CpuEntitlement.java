package dev.hako.host;

/**
 * A VM's share of the host's processors (issue 11's micro-partitioning): {@code entitlement} in cores, in steps of
 * 0.01 (a processing unit); {@code capped}: never more than that, else idle capacity too, shared among uncapped VMs
 * in proportion to {@code weight} (0-255). The scheduler enforces it; the host stores and validates it.
 */
public record CpuEntitlement(Double entitlement, Boolean capped, Integer weight) {
    public static final CpuEntitlement DEFAULT = new CpuEntitlement(1.0, true, 128);
    /** The least entitlement per vCPU, and the most (one core). */
    public static final double MIN_PER_VCPU = 0.05, MAX_PER_VCPU = 1.0;

    /** Checks the fields that are present; a wrong one is a {@link HostException} naming it. */
    public CpuEntitlement validate() {
        if (entitlement != null) {
            double units = entitlement * 100;
            if (!(entitlement >= MIN_PER_VCPU) || entitlement > CpuEntitlement.MAX_PER_VCPU * 64
                    || Math.abs(units - Math.rint(units)) > 1e-6) {
                throw HostException.badInput("cpu.entitlement", "entitlement " + entitlement + " is not a number "
                        + "of cores from " + MIN_PER_VCPU + " in steps of 0.01");
            }
        }
        if (weight != null && (weight < 0 || weight > 255)) {
            throw HostException.badInput("cpu.weight", "weight " + weight + " is outside 0..255");
        }
        return this;
    }

    /** Checks the entitlement against the VM's vCPUs: at least 0.05 and at most 1.0 per vCPU. */
    public CpuEntitlement validateFor(int vcpus) {
        validate();
        double e = entitlementOrDefault();
        if (e < MIN_PER_VCPU * vcpus - 1e-9 || e > MAX_PER_VCPU * vcpus + 1e-9) {
            throw HostException.badInput("cpu.entitlement", "entitlement " + e + " for " + vcpus + " vCPU(s) is "
                    + "outside " + MIN_PER_VCPU * vcpus + ".." + MAX_PER_VCPU * vcpus);
        }
        return this;
    }

    /** Fields absent here are taken from {@code base}. */
    public CpuEntitlement over(CpuEntitlement base) {
        return new CpuEntitlement(entitlement != null ? entitlement : base.entitlement(),
                capped != null ? capped : base.capped(), weight != null ? weight : base.weight());
    }

    public double entitlementOrDefault() {
        return entitlement != null ? entitlement : DEFAULT.entitlement();
    }
}
