package dev.hako.vmm.machine;

import dev.hako.vmm.host.StdioConsole;
import dev.hako.vmm.image.disk.DiskFormat;
import dev.hako.vmm.image.disk.DiskImages;
import java.nio.file.Path;
import java.util.List;

/**
 * The child JVM of {@link DiskCrashIT}: one machine on the soft CPU with a qcow2 disk and the serial console on
 * standard input and output, wired as {@code hako run --kernel K --initrd I --append C --disk D} wires it (hako's
 * CLI lives in hako-mgmt, which this module's tests cannot start). It exists to be killed with SIGKILL, so
 * nothing here cleans up more than {@code hako run} would.
 */
public final class StdioMachine {
    private StdioMachine() {}

    /** Arguments: kernel, initrd, command line, memory in bytes, vCPUs, qcow2 disk. */
    public static void main(String[] args) throws Exception {
        MachineConfig config = new MachineConfig(Path.of(args[0]), Path.of(args[1]), args[2],
                Long.parseLong(args[3]), Integer.parseInt(args[4]), "soft",
                List.of(new Disk(DiskImages.open(Path.of(args[5]), DiskFormat.QCOW2, false), "hako-crash-0")));
        Machine[] machine = new Machine[1];
        StdioConsole console = new StdioConsole(System.in, System.out, () -> machine[0].stop("quit from the console"));
        machine[0] = Machine.create(config, console, console.messages(System.err));
        int status;
        try (Machine m = machine[0]; console) {
            console.start();
            status = m.run();
        }
        System.exit(status);
    }
}
