#!/usr/bin/env python3
"""Many VMs in one `hako serve`: density, idle cost and how fast VMs come up.

Starts a server on a private state directory and socket, then creates N VMs (default 50) of MIB MiB each
(default 96: Debian's cloud kernel asks for 16 MiB + 51 MiB to decompress itself, so 64 MiB cannot boot it) with
the default guest (Debian's cloud kernel and hako's busybox initramfs), each uncapped at 0.05 core so that
admission control (which counts capped entitlements) lets them all in, and starts them all. Measures:
  - create-to-first-instruction (the first time GET /vms/NAME shows retired instructions) and create-to-/init
    (the busybox shell's prompt on the VM's console WebSocket), for the first VM while the server is empty and
    for the last one while the others idle;
  - VMs created (PUT + POST start answered) per second;
  - once all are at their shell and idle: the server's resident memory per VM beyond the guest pages each VM
    touched (Firecracker's anchor is under 5 MiB of VMM overhead per microVM), and the server's CPU use over
    10 s (all VMs idle).
Usage: bench/density.py [N [MIB]]      (run from anywhere; it uses ./hako of this checkout)
"""
import base64, contextlib, http.client, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 50
MEMORY_MIB = int(sys.argv[2]) if len(sys.argv) > 2 else 96
PROMPT = re.compile(rb"built-in shell")  # busybox sh starts: its banner (the prompt waits for input)


class UnixHttp(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


def call(sock, method, path, body=None):
    c = UnixHttp(sock)
    c.request(method, path, body=None if body is None else json.dumps(body),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        sys.exit(f"{method} {path}: {r.status} {data.decode(errors='replace')}")
    return json.loads(data) if data else None


class Console:
    """A minimal WebSocket client (RFC 6455) for GET /vms/NAME/console: reads until it has seen the prompt."""

    def __init__(self, sock_path, name):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(1)
        self.sock.connect(sock_path)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /vms/{name}/console HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            sys.exit(f"console of {name}: {head.decode(errors='replace')}")
        self.text = b""

    def poll(self):
        """Reads what has arrived; true once the prompt was seen."""
        try:
            chunk = self.sock.recv(65536)
            if chunk:
                self.buffer += chunk
        except socket.timeout:
            pass
        while len(self.buffer) >= 2:
            length = self.buffer[1] & 0x7F
            at = 2
            if length == 126:
                length, at = int.from_bytes(self.buffer[2:4], "big"), 4
            elif length == 127:
                length, at = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < at + length:
                break
            opcode = self.buffer[0] & 0x0F
            if opcode in (1, 2, 0):
                self.text = (self.text + self.buffer[at:at + length])[-4096:]
            self.buffer = self.buffer[at + length:]
        return PROMPT.search(self.text) is not None

    def close(self):
        self.sock.close()


def started(sock, name, definition, seconds=600):
    """Defines VM name, starts it and waits for its shell: its console, still open."""
    call(sock, "PUT", f"/vms/{name}", definition)
    call(sock, "POST", f"/vms/{name}/start")
    console = Console(sock, name)
    deadline = time.time() + seconds
    while not console.poll():
        if time.time() > deadline:
            sys.exit(f"{name} did not reach its shell")
    return console


def power_off(process):
    """Ends a `hako run` child whose console is its stdin: poweroff -f, then a kill if it takes over a minute."""
    process.stdin.write("poweroff -f\n")
    process.stdin.close()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """CPU seconds per thread kind (the thread's name with its digits taken out)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{tid}/comm").read().strip()
            seconds = cpu_seconds(f"{pid}/task/{tid}")
        except OSError:
            continue
        kind = re.sub(r"[0-9]+", "N", name)
        out[kind] = out.get(kind, 0.0) + seconds
    return out


def memory(pid):
    """(resident KiB of the whole process, resident KiB of the guests' RAM mappings)."""
    total = guests = 0
    size = rss = 0
    for line in open(f"/proc/{pid}/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            size = end - start
        elif line.startswith("Rss:"):
            rss = int(line.split()[1])
            total += rss
            if size == MEMORY_MIB << 20:
                guests += rss
    return total, guests


@contextlib.contextmanager
def served(prefix):
    """A `hako serve` of this checkout on a private state directory and socket, once it answers: yields (the
    directory, the socket's path, the server's log, its process); ends it and removes the directory after
    (KEEP=1 keeps it)."""
    work = tempfile.mkdtemp(prefix=prefix)
    sock = os.path.join(work, "hako.sock")
    log_path = os.path.join(work, "serve.log")
    log = open(log_path, "w")
    server = subprocess.Popen([os.path.join(HERE, "hako"), "serve", "--socket", sock, "--state",
                               os.path.join(work, "state")], stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(6000):  # the launcher may build hako first
            if os.path.exists(sock) or server.poll() is not None:
                break
            time.sleep(0.1)
        if not os.path.exists(sock):
            sys.exit("hako serve did not start:\n" + open(log_path).read()[-2000:])
        yield work, sock, log_path, server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if os.environ.get("KEEP"):
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    with served("hako-density-") as (_, sock, _, server):
        pid = server.pid  # the launcher execs the JVM
        time.sleep(2)
        base_total, _ = memory(pid)
        started = time.perf_counter()
        creating = 0.0
        consoles = []

        def create(i, measure):
            """Creates and starts VM i; when measuring, waits for it: (to first instruction, to its shell)."""
            nonlocal creating
            name = f"vm{i:03d}"
            t0 = time.perf_counter()
            call(sock, "PUT", f"/vms/{name}", {"memory_mib": MEMORY_MIB, "vcpus": 1,
                                                "cpu": {"entitlement": 0.05, "capped": False, "weight": 128}})
            call(sock, "POST", f"/vms/{name}/start")
            creating += time.perf_counter() - t0
            console = Console(sock, name)
            consoles.append(console)
            if not measure:
                return None
            first_insn = None
            while True:
                if first_insn is None:
                    usage = call(sock, "GET", f"/vms/{name}").get("usage") or {}
                    if usage.get("instructions"):
                        first_insn = time.perf_counter() - t0
                if console.poll():
                    return first_insn, time.perf_counter() - t0
                if time.perf_counter() - t0 > 900:
                    sys.exit(f"{name} did not reach its shell")

        def await_all():
            pending = list(consoles)
            deadline = time.perf_counter() + 1800
            while pending and time.perf_counter() < deadline:
                pending = [c for c in pending if not c.poll()]
            if pending:
                sys.exit(f"{len(pending)} VMs did not reach their shell")

        first = create(0, True)
        for i in range(1, COUNT - 1):
            create(i, False)
        await_all()
        time.sleep(5)  # the boots' last work settles: the others idle
        last = create(COUNT - 1, True)
        all_up = time.perf_counter() - started
        time.sleep(10)  # let the boots' last work settle
        c0, t0, threads0 = cpu_seconds(pid), time.perf_counter(), thread_cpu(pid)
        time.sleep(10)
        idle_cores = (cpu_seconds(pid) - c0) / (time.perf_counter() - t0)
        threads = thread_cpu(pid)
        by_kind = sorted(((threads[k] - threads0.get(k, 0.0)) / 10, k) for k in threads)
        if os.environ.get("NMT"):  # HAKO_JAVA_OPTS=-XX:NativeMemoryTracking=summary NMT=1 bench/density.py
            subprocess.run([os.path.join(os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"),
                                         "bin", "jcmd"), str(pid), "VM.native_memory", "summary"])
        total, guests = memory(pid)
        overhead = (total - base_total - guests) / COUNT / 1024
        for c in consoles:
            c.close()
        print(f"VMs: {COUNT} of {MEMORY_MIB} MiB (default guest, uncapped 0.05 core each), all at their shell "
              f"after {all_up:.1f} s")
        print(f"create-to-first-instruction: first VM {first[0]:.2f} s, last VM (others idle) {last[0]:.2f} s")
        print(f"create-to-shell (/init ran):  first VM {first[1]:.2f} s, last VM (others idle) {last[1]:.2f} s")
        print(f"VMs created and started per second: {COUNT / creating:.1f} (PUT and POST start answered, while the "
              f"others boot)")
        print(f"server resident memory: {base_total / 1024:.0f} MiB empty, {total / 1024:.0f} MiB with the VMs, "
              f"of which guest pages touched {guests / 1024:.0f} MiB ({guests / 1024 / COUNT:.1f} MiB per VM)")
        print(f"VMM memory per VM beyond its guest pages: {overhead:.1f} MiB (Firecracker: under 5 MiB)")
        print(f"idle CPU of the whole server with {COUNT} idle VMs: {idle_cores:.3f} core "
              f"({idle_cores / COUNT * 1000:.2f} millicores per VM); by thread kind:")
        for cores, kind in reversed(by_kind):
            if cores >= 0.001:
                print(f"  {kind:24s} {cores:.3f} core")


if __name__ == "__main__":
    main()
