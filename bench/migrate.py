#!/usr/bin/env python3
"""Live migration: total time and downtime of moving an idle and a busy guest between two hako processes.

It boots the default guest (Debian's cloud kernel, hako's busybox initramfs, soft CPU) in one `hako serve`, waits
for its shell, and migrates it (POST /vms/NAME/migrate) to a `hako run --incoming tcp:127.0.0.1:0` on this host:
  - idle: the shell waits for input;
  - busy: the guest rewrites 32 MiB of tmpfs with random bytes in a loop while it moves, so pre-copy rounds chase
    pages it dirties.
Each row is hako's own figures (the source measures them): total from the connection to the destination's
acknowledgement, downtime from the pause to that acknowledgement, pre-copy rounds, pages of data, MiB sent.
Usage: bench/migrate.py [MIB]      (default 256; run from anywhere; it uses ./hako of this checkout)
"""
import os, re, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from density import HERE, call, power_off, served, started  # noqa: E402

MIB = int(sys.argv[1]) if len(sys.argv) > 1 else 256
LISTENING = re.compile(r"waiting for a migration on 127\.0\.0\.1:(\d+)")
BUSY = "while true; do dd if=/dev/urandom of=/tmp/churn bs=1M count=32 2>/dev/null; done &\n"


def type_into(console, text):
    """Sends text to the guest as one masked WebSocket text frame (RFC 6455 §5.2)."""
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else \
        bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    console.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


def destination():
    """A `hako run --incoming` on a free loopback port, once it listens: (process, port)."""
    d = subprocess.Popen([os.path.join(HERE, "hako"), "run", "--incoming", "tcp:127.0.0.1:0"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in d.stderr:
        m = LISTENING.search(line)
        if m:
            return d, int(m.group(1))
    sys.exit("hako run --incoming did not listen")


def migrate(sock, name, busy):
    console = started(sock, name, {"memory_mib": MIB, "vcpus": 1, "accel": "soft"})
    if busy:
        type_into(console, BUSY)
        time.sleep(5)
    else:
        time.sleep(2)
    console.close()
    d, port = destination()
    try:
        moved = call(sock, "POST", f"/vms/{name}/migrate", {"to": f"127.0.0.1:{port}"})
    finally:
        power_off(d)
    call(sock, "DELETE", f"/vms/{name}")
    return moved["migration"]


def main():
    rows = []
    with served("hako-migrate-") as (_, sock, _log, _server):
        for kind in ("idle", "busy"):
            rows.append((kind, migrate(sock, kind, kind == "busy")))
    print(f"{'guest':>14} {'total':>10} {'downtime':>10} {'rounds':>7} {'data pages':>11} {'paused pages':>13} "
          f"{'sent':>10}")
    for kind, m in rows:
        print(f"{kind + f' {MIB} MiB':>14} {m['total_ms']:>7.1f} ms {m['downtime_ms']:>7.1f} ms {m['rounds']:>7} "
              f"{m['data_pages']:>11} {m['paused_pages']:>13} {m['bytes_sent'] / 2**20:>6.1f} MiB")
    print("(downtime: from the pause of the source's guest to the destination's acknowledgement that it runs)")


if __name__ == "__main__":
    main()
