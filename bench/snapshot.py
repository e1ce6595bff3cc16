#!/usr/bin/env python3
"""Snapshot and restore: how long a snapshot takes and how large it is, and how fast a guest is back.

For each guest size (default 512 and 2048 MiB) it boots the default guest (Debian's cloud kernel, hako's busybox
initramfs) in one `hako serve`, waits for its shell, then:
  - snapshots it through the API with {"stop": true} (pause, write, stay paused): the call's time, the memory
    file's size and the blocks it takes (sparse: pages never touched are holes), and machine.json's size;
  - restores it into the same server (POST /vms/NAME/restore): the server's own figure, time to the first guest
    instruction in a warm JVM;
  - restores it with `hako run --restore` in a new process: hako's figure with HAKO_DEBUG=1 (a new JVM), and the
    wall time from the command's start to that line.
Firecracker's anchor for restore: under 8 ms to the first instruction (5 ms at p90).
Usage: bench/snapshot.py [MIB ...]      (run from anywhere; it uses ./hako of this checkout)
"""
import os, re, shutil, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from density import HERE, call, power_off, served, started  # noqa: E402

SIZES = [int(a) for a in sys.argv[1:]] or [512, 2048]
RESTORED = re.compile(r"restored .* in ([0-9.]+) ms")


def main():
    rows = []
    with served("hako-snapshot-") as (work, sock, log_path, _):
        for mib in SIZES:
            name, snap = f"g{mib}", os.path.join(work, f"snap-{mib}")
            started(sock, name, {"memory_mib": mib, "vcpus": 1}).close()
            time.sleep(2)
            t0 = time.perf_counter()
            call(sock, "POST", f"/vms/{name}/snapshot", {"dir": snap, "stop": True})
            snapshot_s = time.perf_counter() - t0
            st = os.stat(os.path.join(snap, "memory"))
            document = os.path.getsize(os.path.join(snap, "machine.json"))
            call(sock, "POST", f"/vms/{name}/stop")
            before = open(log_path).read().count("restored")
            call(sock, "POST", f"/vms/{name}/restore", {"dir": snap})
            warm = None
            for _ in range(300):
                found = RESTORED.findall(open(log_path).read())
                if len(found) > before:
                    warm = float(found[-1])
                    break
                time.sleep(0.1)
            call(sock, "POST", f"/vms/{name}/stop")
            env = dict(os.environ, HAKO_DEBUG="1")
            t0 = time.perf_counter()
            cold = subprocess.Popen([os.path.join(HERE, "hako"), "run", "--restore", snap], env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            cold_ms = cold_wall = None
            for line in cold.stderr:
                m = RESTORED.search(line)
                if m:
                    cold_ms, cold_wall = float(m.group(1)), time.perf_counter() - t0
                    break
            power_off(cold)
            rows.append((mib, snapshot_s, st.st_size, st.st_blocks * 512, document, warm, cold_ms, cold_wall))
            call(sock, "DELETE", f"/vms/{name}")
            shutil.rmtree(snap, ignore_errors=True)
        print(f"{'guest':>8} {'snapshot':>9} {'memory file':>12} {'allocated':>10} {'machine.json':>12} "
              f"{'restore (server)':>17} {'restore (new process)':>22}")
        for mib, snap_s, size, allocated, document, warm, cold_ms, cold_wall in rows:
            cold = f"{cold_ms:.1f} ms ({cold_wall:.2f} s wall)" if cold_ms is not None else "-"
            print(f"{mib:>5} MiB {snap_s:>7.2f} s {size / 2**20:>8.0f} MiB {allocated / 2**20:>6.1f} MiB "
                  f"{document / 1024:>9.1f} KiB {(f'{warm:.1f} ms' if warm is not None else '-'):>17} {cold:>22}")
        print("(restore: to the first guest instruction, as hako measures it; Firecracker: under 8 ms)")


if __name__ == "__main__":
    main()
