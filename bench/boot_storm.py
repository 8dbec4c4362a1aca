#!/usr/bin/env python3
"""Boot storm and idle fleet: N VMs of the default guest on one host, disco's
daemon versus N qemu-system-riscv64 -M virt processes, side by side in one run.

For each system and each round it measures
  boot     disco: wall time of one `disco start vm1..vmN --wait` (returns when
           every guest's agent is up, i.e. init ran and started it), and when
           the last console.log showed "disco-guest: init reached";
           QEMU: N processes started together, until the last console printed
           "disco-guest: init reached"
  idle     host CPU used by the N booted, idle guests over --idle-seconds
           (after --settle seconds): disco's daemon process; the sum of the N
           QEMU processes (utime + stime, /proc/PID/stat), in % of one CPU
  rss      at the end of the idle window: disco's daemon, the sum of QEMU's
           processes (VmRSS; peak = VmHWM)
and prints medians and the ratios disco/QEMU. Both systems run the same kernel
and initramfs with 1 vCPU and --mem each; QEMU gets a virtio-console too, so
the guest agent finds its port there as well. Absolute times on shared
machines are noise; the ratios are the result.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
INIT_M = b"disco-guest: init reached"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])       # utime, stime


def mem_kib(pid):
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def idle_window(pids, settle, seconds):
    """CPU (% of one CPU) of pids over a window, and their summed RSS/HWM (MiB)."""
    time.sleep(settle)
    c0, t0 = sum(cpu_ticks(p) for p in pids), time.monotonic()
    time.sleep(seconds)
    c1, t1 = sum(cpu_ticks(p) for p in pids), time.monotonic()
    mem = [mem_kib(p) for p in pids]
    return (100.0 * (c1 - c0) / CLK_TCK / (t1 - t0),
            sum(m[0] for m in mem) / 1024.0, sum(m[1] for m in mem) / 1024.0)


def run_disco(a, kernel, initrd):
    tmp = tempfile.mkdtemp(prefix="disco-storm.")
    sock, state = os.path.join(tmp, "disco.sock"), os.path.join(tmp, "state")
    env = dict(os.environ, DISCO_SOCKET=sock, DISCO_STATE_DIR=state)
    log = open(os.path.join(tmp, "daemon.log"), "wb")
    cmd = [a.disco, "daemon", "--socket", sock, "--state-dir", state]
    if a.workers:
        cmd += ["--workers", str(a.workers)]
    d = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env)

    def cli(*args, timeout=60):
        return subprocess.run([a.disco, *args], env=env, capture_output=True, timeout=timeout)
    try:
        wait_for(lambda: d.poll() is None and cli("list").returncode == 0, 30, "the daemon")
        names = [f"vm{i}" for i in range(1, a.vms + 1)]
        for n in names:
            r = cli("create", n, "--mem", a.mem, "--kernel", kernel, "--initrd", initrd)
            if r.returncode:
                raise RuntimeError(f"disco create {n}: {r.stderr.decode().strip()}")
        logs = [os.path.join(state, "vms", n, "console.log") for n in names]
        init_at = {}
        done = threading.Event()

        def watch():                       # when each console.log shows init
            while not done.is_set() and len(init_at) < len(logs):
                for lg in logs:
                    if lg not in init_at:
                        try:
                            with open(lg, "rb") as f:
                                if INIT_M in f.read():
                                    init_at[lg] = time.monotonic()
                        except FileNotFoundError:
                            pass
                time.sleep(0.01)
        w = threading.Thread(target=watch)
        t0 = time.monotonic()
        w.start()
        r = cli("start", *names, "--wait", "--timeout", str(int(a.timeout)), timeout=a.timeout + 30)
        t_agents = time.monotonic() - t0
        if r.returncode:
            raise RuntimeError(f"disco start --wait: {r.stderr.decode().strip()}")
        w.join(timeout=a.timeout)
        done.set()
        if len(init_at) < len(logs):
            raise RuntimeError(f"only {len(init_at)}/{len(logs)} console logs show init")
        t_init = max(init_at.values()) - t0
        cpu, rss, hwm = idle_window([d.pid], a.settle, a.idle_seconds)
        return {"init": t_init, "boot": t_agents, "idle": cpu, "rss": rss, "peak": hwm}
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=30)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


def run_qemu(a, kernel, initrd):
    cmd = [a.qemu, "-M", "virt", "-smp", "1", "-m", a.mem, "-nographic",
           "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0",
           "-device", "virtio-serial-device", "-chardev", "null,id=agent",
           "-device", "virtconsole,chardev=agent"]
    procs, init_at, lock = [], {}, threading.Lock()

    def reader(i, p):                     # drains the console for as long as it runs
        buf = b""
        while True:
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                return
            if i not in init_at:
                buf = (buf + chunk)[-4096:]
                if INIT_M in buf:
                    with lock:
                        init_at[i] = time.monotonic()
    t0 = time.monotonic()
    try:
        for i in range(a.vms):
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            threading.Thread(target=reader, args=(i, p), daemon=True).start()
        wait_for(lambda: len(init_at) == a.vms or any(p.poll() is not None for p in procs),
                 a.timeout, "QEMU guests to reach init")
        if len(init_at) < a.vms:
            raise RuntimeError(f"a QEMU process exited early: {[p.returncode for p in procs]}")
        t_init = max(init_at.values()) - t0
        cpu, rss, hwm = idle_window([p.pid for p in procs], a.settle, a.idle_seconds)
        return {"init": t_init, "boot": t_init, "idle": cpu, "rss": rss, "peak": hwm}
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", default=os.environ.get("DISCO_GUEST_DIR",
                    os.path.join(os.environ.get("DISCO_CACHE", "/var/cache/disco"), "guest/default")))
    ap.add_argument("--disco", default=os.path.join(ROOT, "build/disco"))
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    ap.add_argument("--vms", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--settle", type=float, default=3, help="seconds between boot and the idle window")
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--workers", type=int, default=0, help="disco daemon worker threads (0: its default)")
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()
    kernel = os.path.realpath(os.path.join(a.guest, "Image"))
    initrd = os.path.realpath(os.path.join(a.guest, "initramfs.cpio.gz"))
    for f in (kernel, initrd, a.disco):
        if not os.path.exists(f):
            sys.exit(f"bench: missing {f} (run scripts/boot.sh once to build the guest)")
    a.disco = os.path.realpath(a.disco)
    if not shutil.which(a.qemu):
        sys.exit(f"bench: {a.qemu} not found")
    systems = {"disco": run_disco, "qemu": run_qemu}
    res = {k: [] for k in systems}
    for rnd in range(a.rounds):
        for name, fn in systems.items():          # interleaved, so drift hits both
            try:
                r = fn(a, kernel, initrd)
            except (RuntimeError, subprocess.TimeoutExpired) as e:
                sys.exit(f"bench: {name} round {rnd}: {e}")
            res[name].append(r)
            extra = f" (agents up {r['boot']:.2f}s)" if name == "disco" else ""
            print(f"round {rnd} {name:6s} {a.vms} guests: all at init {r['init']:6.2f}s{extra}"
                  f"  idle CPU {r['idle']:6.2f}% of one CPU  RSS {r['rss']:7.1f} MiB (peak {r['peak']:7.1f})",
                  flush=True)
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in res.items()}
    print(f"\nmedians over {a.rounds} round(s), {a.vms} guests of 1 vCPU and {a.mem} each,"
          f" {a.idle_seconds:g} s idle window; host: {os.cpu_count()} CPUs")
    print(f"{'metric':28s} {'disco':>12s} {'qemu':>12s} {'disco/qemu':>11s}")
    rows = (("boot storm: all at init", "init", "s"),
            ("boot storm: agents up (*)", "boot", "s"),
            ("idle CPU (% of one CPU)", "idle", "%"),
            ("RSS after idle, all guests", "rss", "MiB"),
            ("peak RSS (VmHWM), all", "peak", "MiB"))
    for label, m, unit in rows:
        d, q = med["disco"][m], med["qemu"][m]
        ratio = f"{d / q:10.2f}x" if q > 0 else f"{'-':>11s}"
        print(f"{label:28s} {d:9.2f}{unit:3s} {q:9.2f}{unit:3s} {ratio}")
    print("(*) disco: until `start --wait` returned (every agent said hello); QEMU: at init (no agent link)")


if __name__ == "__main__":
    main()
