package dev.hako.vmm.machine;

import dev.hako.core.state.Snapshotable;

/**
 * Which vCPUs run guest code: the bootstrap processor from the start, each application processor once INIT and
 * SIPI started it. A vCPU's registers do not say whether it still waits for its SIPI, so a restored machine
 * learns it from here, or its running APs would wait for a SIPI that never comes again.
 */
final class VcpuStartup implements Snapshotable<VcpuStartupState> {
    private final VcpuThread[] threads;

    VcpuStartup(VcpuThread[] threads) {
        this.threads = threads;
    }

    @Override
    public VcpuStartupState save() {
        boolean[] started = new boolean[threads.length];
        for (int i = 0; i < threads.length; i++) {
            started[i] = threads[i].startedUp();
        }
        return new VcpuStartupState(VcpuStartupState.VERSION, started);
    }

    @Override
    public void restore(VcpuStartupState state) {
        if (state.version() != VcpuStartupState.VERSION) {
            throw new IllegalArgumentException("unsupported VcpuStartupState version " + state.version());
        }
        if (state.started().length != threads.length) {
            throw new IllegalArgumentException("the saved machine had " + state.started().length + " vCPUs, this one "
                    + threads.length);
        }
        for (int i = 0; i < threads.length; i++) {
            threads[i].restoreStartedUp(state.started()[i]);
        }
    }
}
