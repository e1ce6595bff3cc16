package dev.hako.vmm.sched;

import java.util.ArrayList;
import java.util.List;

/**
 * The arithmetic of one dispatch window: how much CPU time each vCPU may use in it.
 *
 * <ul>
 * <li>Base: the partition's entitlement times the window, split evenly over its vCPUs. It is guaranteed,
 * whatever the others do, less what the vCPU overran before (its debt: a kick lands a little after the budget
 * ran out, and paying it back keeps the average exact; an overrun larger than a window is paid over several).
 * <li>Hungry: a vCPU that was throttled in the last window, or used at least 90% of its base (or has no last
 * window yet), wants more than its base.
 * <li>Spare: the capacity (cores times the window) less what the vCPUs will take of their bases: the whole base
 * of a hungry vCPU, what it used last time for the others. So an idle machine's entitlement goes to the busy.
 * <li>The spare goes to the hungry vCPUs of uncapped partitions with a weight above zero, in proportion to the
 * partition's weight (shared evenly by its hungry vCPUs), never beyond a whole window per vCPU; what one cannot
 * take is shared again among the rest (water filling).
 * </ul>
 */
final class WindowBudgets {
    private static final int HUNGRY_PERCENT = 90;

    private WindowBudgets() {}

    /** Sets {@code budget} (and {@code base}, {@code hungry}, {@code extra}) of every vCPU of {@code partitions}. */
    static void plan(List<Partition> partitions, long capacityNanos, long windowNanos) {
        long committed = 0;
        for (Partition p : partitions) {
            CpuEntitlement e = p.entitlement();
            long base = e.units() * windowNanos / CpuEntitlement.UNITS_PER_CORE / p.vcpuCount();
            for (ScheduledVcpu v : p.vcpus()) {
                v.base = base;
                v.extra = 0;
                v.hungry = v.lastUsed < 0 || v.lastThrottled || v.lastUsed * 100 >= base * HUNGRY_PERCENT;
                committed += v.hungry ? base : Math.min(base, v.lastUsed);
            }
        }
        shareSpare(partitions, Math.max(0, capacityNanos - committed), windowNanos);
        for (Partition p : partitions) {
            for (ScheduledVcpu v : p.vcpus()) {
                long allowance = v.base + v.extra;
                v.budget = Math.max(0, allowance - v.debt);
                v.debt = Math.max(0, v.debt - allowance); // what this window cannot pay back waits for the next
            }
        }
    }

    private static void shareSpare(List<Partition> partitions, long spare, long windowNanos) {
        List<ScheduledVcpu> takers = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (Partition p : partitions) {
            CpuEntitlement e = p.entitlement();
            if (e.capped() || e.weight() == 0) {
                continue;
            }
            long hungry = p.vcpus().stream().filter(v -> v.hungry).count();
            for (ScheduledVcpu v : p.vcpus()) {
                if (v.hungry && v.base < windowNanos) {
                    takers.add(v);
                    weights.add(e.weight() / (double) hungry);
                }
            }
        }
        while (spare > 0 && !takers.isEmpty()) {
            double total = weights.stream().mapToDouble(Double::doubleValue).sum();
            boolean someoneFull = false;
            for (int i = 0; i < takers.size(); i++) {
                ScheduledVcpu v = takers.get(i);
                long room = windowNanos - v.base - v.extra;
                if (room <= (long) (spare * weights.get(i) / total)) {
                    v.extra += room;
                    spare -= room;
                    takers.remove(i);
                    weights.remove(i);
                    someoneFull = true;
                    break;
                }
            }
            if (!someoneFull) {
                for (int i = 0; i < takers.size(); i++) {
                    takers.get(i).extra += (long) (spare * weights.get(i) / total);
                }
                spare = 0;
            }
        }
    }
}
