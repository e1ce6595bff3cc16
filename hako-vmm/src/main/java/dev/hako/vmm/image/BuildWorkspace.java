package dev.hako.vmm.image;

import dev.hako.vmm.image.ImageBuildException.Reason;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The temporary directory one image build works in, and the host tool running there. It is made next to the
 * bundle directory it becomes ({@code .NAME.partial-RANDOM}), so that the finished bundle appears at once by
 * one rename; the build's scratch files (the system's root directory, the hook scripts) live in its
 * {@code .build/}, removed before the rename.
 *
 * <p>A build that fails or is cancelled leaves nothing: {@link #close} removes the directory, and
 * {@link #cancel} (from a shutdown hook on Ctrl-C) first stops the running tool and waits for it, since
 * mmdebstrap unmounts /proc, /sys and /dev from the system's root directory as it exits. Removal is
 * {@code rm -rf --one-file-system}, and is refused outright while anything is still mounted below the
 * directory, so a cleanup never reaches into the host's /proc or /dev.
 */
final class BuildWorkspace implements AutoCloseable {
    private static final int TAIL_LINES = 15;
    private static final long STOP_WAIT_SECONDS = 60;

    private final Path root;
    private final Path work;
    private final Consumer<String> progress;
    private Process running;
    private boolean cancelled;
    private boolean closed;
    private String leftBehind;

    /** What a tool printed last and how it ended. */
    record ToolRun(int status, List<String> tail) {
        String lastLine() {
            return tail.isEmpty() ? "" : tail.getLast();
        }
    }

    private BuildWorkspace(Path root, Consumer<String> progress) {
        this.root = root;
        this.work = root.resolve(".build");
        this.progress = progress;
    }

    /** A new workspace for the bundle {@code target} (which must not exist or be an empty directory). */
    static BuildWorkspace create(Path target, Consumer<String> progress) throws IOException {
        Path parent = target.toAbsolutePath().normalize().getParent();
        Files.createDirectories(parent);
        Path real = parent.toRealPath();
        String random = UUID.randomUUID().toString().substring(0, 8);
        Path root = real.resolve("." + target.getFileName() + ".partial-" + random);
        Files.createDirectory(root);
        BuildWorkspace workspace = new BuildWorkspace(root, progress);
        Files.createDirectory(workspace.work);
        return workspace;
    }

    /** Where the bundle's files go. */
    Path root() {
        return root;
    }

    /** Scratch space, removed before the bundle is committed. */
    Path work() {
        return work;
    }

    /**
     * Runs {@code command} to its end with standard input from /dev/null; each line of its output (stdout and
     * stderr together) goes to {@code lines}. A cancel stops it and makes this throw {@link Reason#INTERRUPTED}.
     */
    ToolRun run(List<String> command, Consumer<String> lines) throws IOException, ImageBuildException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        // English messages, which the builder reads to tell a network failure from others.
        builder.environment().put("LC_ALL", "C.UTF-8");
        Process process;
        synchronized (this) {
            if (cancelled) {
                throw interrupted();
            }
            try {
                process = builder.start();
            } catch (IOException e) {
                throw new IOException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
            }
            running = process;
        }
        Deque<String> tail = new ArrayDeque<>();
        try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (tail.size() == TAIL_LINES) {
                    tail.removeFirst();
                }
                tail.addLast(line);
                lines.accept(line);
            }
        } catch (IOException e) {
            // The stream closes under us when a cancel destroys the process; the exit status tells the rest.
        }
        int status;
        try {
            status = process.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroy();
            throw interrupted();
        }
        synchronized (this) {
            running = null;
            if (cancelled) {
                throw interrupted();
            }
        }
        return new ToolRun(status, new ArrayList<>(tail));
    }

    /** Removes the scratch space now (the system's root directory is large), before the bundle is finished. */
    void removeWork() throws IOException {
        if (!remove(work)) {
            throw new IOException(leftBehind);
        }
    }

    /** Makes the workspace the bundle {@code target}: one rename, after the scratch space is gone. */
    synchronized void commit(Path target) throws IOException, ImageBuildException {
        if (cancelled) {
            throw interrupted();
        }
        removeWork();
        Files.move(root, target, StandardCopyOption.ATOMIC_MOVE);
        closed = true;
    }

    /**
     * Stops the build from another thread (the shutdown hook of Ctrl-C): the running tool, then what it started,
     * get SIGTERM and time to clean up after themselves, then SIGKILL; then the workspace is removed, after
     * unmounting what a stopped mmdebstrap left mounted in it.
     */
    void cancel() {
        Process process;
        synchronized (this) {
            if (closed) {
                return;
            }
            cancelled = true;
            process = running;
        }
        progress.accept("interrupted: stopping and removing the partial build " + root);
        if (process != null) {
            // Its helpers too (apt, dpkg, maintainer scripts): once it exits they would be strays in the chroot.
            List<ProcessHandle> helpers = process.descendants().toList();
            stop(List.of(process.toHandle()));
            stop(helpers.stream().filter(ProcessHandle::isAlive).toList());
        }
        close();
    }

    /** SIGTERM, time to exit, then SIGKILL. */
    private static void stop(List<ProcessHandle> processes) {
        processes.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
        for (ProcessHandle process : processes) {
            try {
                process.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                process.destroyForcibly();
            }
        }
    }

    /** Removes the workspace unless it became the bundle. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (!remove(root)) {
            progress.accept(leftBehind);
        }
    }

    private boolean remove(Path directory) {
        if (!Files.exists(directory)) {
            return true;
        }
        // A tool stopped half-way may leave its mounts (mmdebstrap's /proc, /sys, /dev/pts in the chroot).
        List<Path> mounts = HostMounts.under(directory);
        for (Path mount : mounts.reversed()) {
            if (command(List.of("umount", mount.toString())) != 0) {
                command(List.of("umount", "--lazy", mount.toString()));
            }
        }
        mounts = HostMounts.under(directory);
        if (!mounts.isEmpty()) {
            leftBehind = "left " + directory + " in place: " + mounts.getFirst()
                    + " is still mounted there; unmount it (umount -R) and remove the directory";
            return false;
        }
        if (command(List.of("rm", "-rf", "--one-file-system", "--", directory.toString())) < 0) {
            leftBehind = "could not run rm to remove " + directory;
            return false;
        }
        if (Files.exists(directory)) {
            leftBehind = "could not remove all of " + directory + "; remove it by hand";
            return false;
        }
        return true;
    }

    /** Runs a short host command to its end, its output discarded: its exit status, or -1 if it cannot run. */
    private static int command(List<String> command) {
        try {
            return new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    synchronized boolean cancelled() {
        return cancelled;
    }

    static ImageBuildException interrupted() {
        return new ImageBuildException(Reason.INTERRUPTED, "interrupted; the partial build was removed");
    }
}
