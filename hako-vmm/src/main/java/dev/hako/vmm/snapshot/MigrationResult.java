package dev.hako.vmm.snapshot;

/**
 * How a live migration went, as the source measured it.
 *
 * @param totalNanos    from the connection to the destination's acknowledgement
 * @param downtimeNanos from the pause of the source's guest to the destination's acknowledgement that its guest runs
 * @param rounds        pre-copy rounds while the guest ran (the first sends every page)
 * @param dataPages     pages sent with their bytes (zero pages go as a marker)
 * @param lastPages     pages sent while the guest was paused
 * @param bytesSent     bytes written to the connection
 */
public record MigrationResult(long totalNanos, long downtimeNanos, int rounds, long dataPages, long lastPages,
        long bytesSent) {
    /** One line for logs and the command line. */
    public String describe() {
        return String.format("%.1f ms in all, %.1f ms of downtime, %d pre-copy rounds, %d pages of data "
                + "(%d while paused), %.1f MiB sent", totalNanos / 1e6, downtimeNanos / 1e6, rounds, dataPages,
                lastPages, bytesSent / 1048576.0);
    }
}
