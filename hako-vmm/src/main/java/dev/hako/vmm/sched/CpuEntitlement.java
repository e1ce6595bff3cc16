package dev.hako.vmm.sched;

/**
 * A machine's claim on the host's processors, in processing units of a hundredth of a core (IBM's
 * micro-partitioning): {@code units} 30 is 0.30 core. Capped, the machine never uses more; uncapped, it also
 * shares the capacity others leave idle, in proportion to its {@code weight} (0 to 255; 0 takes only the
 * entitlement). A machine needs at least {@link #MIN_UNITS_PER_VCPU} per vCPU and at most one core per vCPU
 * ({@link #requireFits}); messages name the field as the REST API spells it.
 */
public record CpuEntitlement(int units, boolean capped, int weight) {
    public static final int UNITS_PER_CORE = 100, MIN_UNITS_PER_VCPU = 5, MAX_WEIGHT = 255, DEFAULT_WEIGHT = 128;

    public CpuEntitlement {
        if (units <= 0) {
            throw new IllegalArgumentException("entitlement " + cores(units) + " is not positive");
        }
        if (weight < 0 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight " + weight + " is outside 0.." + MAX_WEIGHT);
        }
    }

    /** From cores as a user writes them (0.35); refuses what is not a whole number of hundredths. */
    public static CpuEntitlement ofCores(double cores, boolean capped, int weight) {
        double hundredths = cores * UNITS_PER_CORE;
        if (!Double.isFinite(cores) || cores <= 0 || hundredths > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("entitlement " + cores + " is not a positive number of cores");
        }
        long units = Math.round(hundredths);
        if (Math.abs(hundredths - units) > 1e-6) {
            throw new IllegalArgumentException("entitlement " + cores + " is not in hundredths of a core");
        }
        return new CpuEntitlement((int) units, capped, weight);
    }

    /** One whole core per vCPU, capped, the default weight: what an unscheduled machine gets from its host. */
    public static CpuEntitlement wholeCores(int vcpus) {
        return new CpuEntitlement(vcpus * UNITS_PER_CORE, true, DEFAULT_WEIGHT);
    }

    /** In cores. */
    public double cores() {
        return units / (double) UNITS_PER_CORE;
    }

    /** Throws unless a machine of {@code vcpus} may have this entitlement (0.05 to 1.00 core per vCPU). */
    public CpuEntitlement requireFits(int vcpus) {
        if (vcpus < 1) {
            throw new IllegalArgumentException("vcpus " + vcpus + " is not positive");
        }
        if (units < (long) vcpus * MIN_UNITS_PER_VCPU) {
            throw new IllegalArgumentException("entitlement " + cores(units) + " is below 0.05 per vCPU: " + vcpus
                    + " vCPUs need at least " + cores(vcpus * MIN_UNITS_PER_VCPU));
        }
        if (units > (long) vcpus * UNITS_PER_CORE) {
            throw new IllegalArgumentException("entitlement " + cores(units) + " is above 1.00 per vCPU: " + vcpus
                    + " vCPUs may have at most " + cores(vcpus * UNITS_PER_CORE));
        }
        return this;
    }

    /** Units as cores with two decimals ("0.35"). */
    static String cores(long units) {
        long magnitude = Math.abs(units);
        return String.format("%s%d.%02d", units < 0 ? "-" : "", magnitude / UNITS_PER_CORE,
                magnitude % UNITS_PER_CORE);
    }

    @Override
    public String toString() {
        return cores(units) + (capped ? " capped" : " uncapped, weight " + weight);
    }
}
