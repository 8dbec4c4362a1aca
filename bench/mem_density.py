#!/usr/bin/env python3
"""Memory density: N idle default guests (1 vCPU, --mem each) on one host, disco's
daemon (all guests in one sharing domain) versus N qemu-system-riscv64 -M virt
processes with the host's KSM on and tuned aggressively, side by side in one run.

For each N (--vms 8,32) it measures, once every guest is booted and idle and
page sharing has converged (disco: the daemon's PSS stops moving; QEMU: KSM's
pages_sharing stops moving):
  pss     total host memory: disco's daemon PSS; the sum of the QEMU
          processes' PSS (/proc/PID/smaps_rollup), with KSM off and then on
  exec    every disco guest answers `disco exec` (true) afterwards
Then, with --budget (default 1G), N = the largest --vms: the daemon runs with
--mem-budget BUDGET and every guest must boot and answer exec, with the pool's
usage within the budget.

Needs root for KSM (/sys/kernel/mm/ksm); without it the QEMU+KSM column is
skipped with the reason. The host's KSM settings are restored afterwards.
"""
import argparse, json, os, shutil, signal, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KSM = "/sys/kernel/mm/ksm"
INIT_M = b"disco-guest: init reached"


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])       # utime, stime


def cpu_pct(pids, seconds):
    """Host CPU of pids over a window, in % of one CPU."""
    c0, t0 = sum(cpu_ticks(p) for p in pids), time.monotonic()
    time.sleep(seconds)
    c1, t1 = sum(cpu_ticks(p) for p in pids), time.monotonic()
    return 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0)


def ksmd_pid():
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "ksmd":
                        return int(d)
            except OSError:
                pass
    return None


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def settle(sample, quiet_s, timeout, tolerance=0.01):
    """Poll sample() every second until it moved less than tolerance over
    quiet_s seconds (or timeout); returns the last value and seconds taken."""
    t0 = time.monotonic()
    hist = []
    while True:
        v = sample()
        now = time.monotonic()
        hist.append((now, v))
        old = [x for t, x in hist if now - t >= quiet_s]
        if old:
            ref = old[-1]
            if abs(v - ref) <= tolerance * max(abs(ref), 1):
                return v, now - t0
        if now - t0 > timeout:
            return v, now - t0
        time.sleep(1)


class Daemon:
    def __init__(self, a, extra):
        self.tmp = tempfile.mkdtemp(prefix="disco-density.")
        self.sock = os.path.join(self.tmp, "disco.sock")
        self.state = os.path.join(self.tmp, "state")
        self.env = dict(os.environ, DISCO_SOCKET=self.sock, DISCO_STATE_DIR=self.state)
        self.log = open(os.path.join(self.tmp, "daemon.log"), "wb")
        cmd = [a.disco, "daemon", "--socket", self.sock, "--state-dir", self.state, *extra]
        self.d = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                  stderr=subprocess.STDOUT, env=self.env)
        self.a = a
        wait_for(lambda: self.d.poll() is None and self.cli("list").returncode == 0, 30, "the daemon")

    def cli(self, *args, timeout=120):
        return subprocess.run([self.a.disco, *args], env=self.env, capture_output=True, timeout=timeout)

    def check(self, *args, timeout=120):
        r = self.cli(*args, timeout=timeout)
        if r.returncode:
            raise RuntimeError(f"disco {' '.join(args[:2])}: {r.stderr.decode().strip()}")
        return r.stdout.decode()

    def host_stats(self):
        return json.loads(self.check("stats", "--host", "--json"))["host"]

    def close(self):
        self.d.send_signal(signal.SIGTERM)
        try:
            self.d.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.d.kill()
            self.d.wait()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def run_disco(a, n, kernel, initrd, budget=None):
    extra = ["--mem-budget", budget] if budget else []
    d = Daemon(a, extra)
    try:
        names = [f"vm{i}" for i in range(1, n + 1)]
        for nm in names:
            d.check("create", nm, "--mem", a.mem, "--kernel", kernel, "--initrd", initrd,
                    "--share-domain", "bench")
        t0 = time.monotonic()
        d.check("start", *names, "--wait", "--timeout", str(int(a.timeout)), timeout=a.timeout + 60)
        t_boot = time.monotonic() - t0
        # Settled: the daemon's PSS (sharing, and idle vCPUs giving back their
        # decoded code every 30 s) stopped moving.
        pss, t_settle = settle(lambda: pss_kib(d.d.pid), a.quiet, a.timeout, 0.02)
        pss /= 1024.0
        hs = d.host_stats()
        cpu = cpu_pct([d.d.pid], a.cpu_window)
        ok = 0
        for nm in names:
            r = d.cli("exec", nm, "--timeout", "60", "--", "true", timeout=90)
            ok += r.returncode == 0
        hs_after = d.host_stats()
        return {"pss": pss, "boot": t_boot, "settle": t_settle, "exec_ok": ok, "host": hs, "cpu": cpu,
                "host_after": hs_after}
    finally:
        d.close()


class KsmSettings:
    KEYS = ["run", "pages_to_scan", "sleep_millisecs", "use_zero_pages", "merge_across_nodes"]

    def __init__(self):
        self.saved = {}
        for k in self.KEYS:
            try:
                with open(os.path.join(KSM, k)) as f:
                    self.saved[k] = f.read().strip()
            except OSError:
                pass

    @staticmethod
    def write(k, v):
        with open(os.path.join(KSM, k), "w") as f:
            f.write(str(v))

    @staticmethod
    def read(k):
        with open(os.path.join(KSM, k)) as f:
            return int(f.read().strip())

    def restore(self):
        # run must be 0 or 2 to change some knobs; unmerge (2) first, then restore.
        try:
            self.write("run", 2)
        except OSError:
            pass
        for k in ["pages_to_scan", "sleep_millisecs", "use_zero_pages", "merge_across_nodes", "run"]:
            if k in self.saved:
                try:
                    self.write(k, self.saved[k])
                except OSError:
                    pass


def run_qemu(a, n, kernel, initrd, ksm):
    cmd = [a.qemu, "-M", "virt", "-smp", "1", "-m", a.mem, "-nographic",
           "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0",
           "-device", "virtio-serial-device", "-chardev", "null,id=agent",
           "-device", "virtconsole,chardev=agent"]
    procs, init_at, lock = [], {}, threading.Lock()

    def reader(i, p):
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
    try:
        if ksm:
            ksm.write("run", 2)            # unmerge anything older, start from nothing
            ksm.write("run", 0)
        for i in range(n):
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            procs.append(p)
            threading.Thread(target=reader, args=(i, p), daemon=True).start()
        wait_for(lambda: len(init_at) == n or any(p.poll() is not None for p in procs),
                 a.timeout, "QEMU guests to reach init")
        if len(init_at) < n:
            raise RuntimeError(f"a QEMU process exited early: {[p.returncode for p in procs]}")
        time.sleep(a.quiet)                # idle, like disco's settle
        pss_off = sum(pss_kib(p.pid) for p in procs) / 1024.0
        res = {"pss_noksm": pss_off, "pss_ksm": None, "ksm_settle": None}
        if ksm:
            # Aggressive: scan 10000 pages every 10 ms, merge zero pages too.
            ksm.write("pages_to_scan", 10000)
            ksm.write("sleep_millisecs", 10)
            try:
                ksm.write("use_zero_pages", 1)
            except OSError:
                pass
            ksm.write("run", 1)
            _, t = settle(lambda: ksm.read("pages_sharing"), a.quiet, a.timeout, 0.02)
            res["pss_ksm"] = sum(pss_kib(p.pid) for p in procs) / 1024.0
            res["ksm_settle"] = t
            res["ksm_sharing"] = ksm.read("pages_sharing")
            kp = ksmd_pid()
            res["cpu_ksm"] = cpu_pct([p.pid for p in procs] + ([kp] if kp else []), a.cpu_window)
        return res
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        if ksm:
            ksm.write("run", 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", default=os.environ.get("DISCO_GUEST_DIR",
                    os.path.join(os.environ.get("DISCO_CACHE", "/var/cache/disco"), "guest/default")))
    ap.add_argument("--disco", default=os.path.join(ROOT, "build/disco"))
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    ap.add_argument("--vms", default="8,32", help="comma-separated guest counts")
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--budget", default="1G", help="budget for the last run ('' to skip it)")
    ap.add_argument("--quiet", type=float, default=40,
                    help="seconds a figure must stay within 2%% to count as settled (longer than"
                         " the 30 s decoded-code trim interval)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--cpu-window", type=float, default=10,
                    help="seconds over which the settled, idle guests' host CPU is measured")
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--no-disco", action="store_true", help="QEMU columns only (checking the anchor)")
    ap.add_argument("--budget-only", action="store_true", help="only the budget run")
    a = ap.parse_args()
    kernel = os.path.realpath(os.path.join(a.guest, "Image"))
    initrd = os.path.realpath(os.path.join(a.guest, "initramfs.cpio.gz"))
    for f in (kernel, initrd, a.disco):
        if not os.path.exists(f):
            sys.exit(f"bench: missing {f} (run scripts/boot.sh once to build the guest)")
    a.disco = os.path.realpath(a.disco)
    counts = [int(x) for x in a.vms.split(",") if x]
    ksm = None
    if not a.no_qemu:
        if not shutil.which(a.qemu):
            sys.exit(f"bench: {a.qemu} not found")
        if os.geteuid() == 0 and os.path.isdir(KSM):
            ksm = KsmSettings()
        else:
            print("bench: SKIP QEMU+KSM column: needs root and /sys/kernel/mm/ksm", flush=True)
    rows = []
    try:
        for n in counts:
            if a.budget_only:
                break
            r = None if a.no_disco else run_disco(a, n, kernel, initrd)
            if r:
                print(f"disco {n:3d} guests: PSS {r['pss']:8.1f} MiB ({r['pss'] / n:6.2f}/VM), boot {r['boot']:.1f}s,"
                  f" settled after {r['settle']:.0f}s, exec ok {r['exec_ok']}/{n}; pool used"
                  f" {r['host']['used'] / 2**20:.1f} MiB, saved {r['host']['saved'] / 2**20:.1f} MiB;"
                      f" idle CPU {r['cpu']:.2f}% of one CPU", flush=True)
            q = None
            if not a.no_qemu:
                q = run_qemu(a, n, kernel, initrd, ksm)
                ksm_s = (f"{q['pss_ksm']:8.1f} MiB ({q['pss_ksm'] / n:6.2f}/VM) after {q['ksm_settle']:.0f}s,"
                         f" idle CPU with ksmd {q['cpu_ksm']:.2f}% of one CPU"
                         if q["pss_ksm"] is not None else "skipped")
                print(f"qemu  {n:3d} guests: PSS {q['pss_noksm']:8.1f} MiB ({q['pss_noksm'] / n:6.2f}/VM)"
                      f" without KSM; with KSM {ksm_s}", flush=True)
            rows.append((n, r, q))
        budget_row = None
        if a.budget and not a.no_disco:
            n = max(counts)
            r = run_disco(a, n, kernel, initrd, budget=a.budget)
            budget_row = (n, r)
            print(f"disco {n:3d} guests in a {a.budget} budget: exec ok {r['exec_ok']}/{n}, pool used"
                  f" {r['host_after']['used'] / 2**20:.1f} of {r['host_after']['budget'] / 2**20:.0f} MiB,"
                  f" swapped {r['host_after']['swapped'] / 2**20:.1f} MiB, pressure events"
                  f" {r['host_after']['pressure_events']}, PSS {r['pss']:.1f} MiB", flush=True)
    finally:
        if ksm:
            ksm.restore()
    print(f"\n{len(rows)} run(s), guests of 1 vCPU and {a.mem}; host: {os.cpu_count()} CPUs")
    print(f"{'N':>3s} {'disco MiB/VM':>13s} {'qemu MiB/VM':>12s} {'qemu+KSM MiB/VM':>16s}"
          f" {'disco/qemu':>11s} {'disco/(qemu+KSM)':>17s}")
    for n, r, q in rows:
        d = r["pss"] / n if r else float("nan")
        qn = q["pss_noksm"] / n if q else float("nan")
        qk = q["pss_ksm"] / n if q and q["pss_ksm"] is not None else float("nan")
        print(f"{n:3d} {d:13.2f} {qn:12.2f} {qk:16.2f} {d / qn:11.3f} {d / qk:17.3f}")
    if budget_row:
        n, r = budget_row
        print(f"budget {a.budget}: {r['exec_ok']}/{n} guests answered exec;"
              f" pool used {r['host_after']['used'] / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
