#!/usr/bin/env python3
"""Container lifecycle latency: disco's OCI runtime (build/disco-oci) versus
Debian's runc on the SAME bundle, interleaved (one disco iteration, one runc
iteration, ...), so drift of the machine hits both alike.

The bundle: a busybox root ($DISCO_ROOTFS, else scripts/rootfs.sh's cached
one), config.json from `runc spec` with terminal false and args ["true"].
Each runtime has its own --root (state) directory in a temp dir.

One iteration (timed as a whole, and per step):
    RT create --bundle B --pid-file P ID
    RT start ID
    wait for the init to exit: this process is a child subreaper
        (prctl(PR_SET_CHILD_SUBREAPER) through ctypes), so the orphaned init
        becomes our child and os.waitpid(pid from P) reaps it
    RT delete ID
With --run, `RT run --bundle B ID` (create+start+wait+delete in one command)
is timed too, interleaved the same way.

It prints total/mean/median ms per runtime and step and the ratio disco/runc
(medians), and tries crun once to report what it says on this host (crun 1.8
refuses hybrid cgroup layouts). Needs root.

    python3 bench/ct_lifecycle.py [-n 100] [--run] [--disco PATH] [--runc PATH]
"""
import argparse, ctypes, json, os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PR_SET_CHILD_SUBREAPER = 36


def default_rootfs():
    r = os.environ.get("DISCO_ROOTFS")
    if r and os.path.exists(os.path.join(r, "bin/busybox")):
        return r
    out = subprocess.run([os.path.join(ROOT, "scripts/rootfs.sh")], check=True,
                         capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def make_bundle(tmp, rootfs, runc):
    b = os.path.join(tmp, "bundle")
    os.makedirs(b)
    subprocess.run([runc, "spec", "--bundle", b], check=True)
    with open(os.path.join(b, "config.json")) as f:
        cfg = json.load(f)
    cfg["root"] = {"path": os.path.realpath(rootfs), "readonly": True}   # runc refuses symlinks
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    with open(os.path.join(b, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    return b


def run(cmd, errf):
    # stderr to a file, never a pipe: the init `create` leaves inherits it
    # and would hold a pipe open until it exits.
    errf.seek(0)
    errf.truncate()
    rc = subprocess.call(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errf)
    if rc != 0:
        errf.seek(0)
        raise RuntimeError(f"{' '.join(cmd)}: exit {rc}: {errf.read()[-400:]}")


def one_lifecycle(rt, state, bundle, cid, pidfile, errf):
    """Returns (create, start, wait, delete, total) in ms."""
    base = [rt, "--root", state]
    t0 = time.perf_counter()
    run(base + ["create", "--bundle", bundle, "--pid-file", pidfile, cid], errf)
    t1 = time.perf_counter()
    run(base + ["start", cid], errf)
    t2 = time.perf_counter()
    with open(pidfile) as f:
        pid = int(f.read().strip())
    os.waitpid(pid, 0)          # our child: we are the subreaper
    t3 = time.perf_counter()
    run(base + ["delete", cid], errf)
    t4 = time.perf_counter()
    return [(t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3, (t4 - t3) * 1e3, (t4 - t0) * 1e3]


def one_run(rt, state, bundle, cid, errf):
    t0 = time.perf_counter()
    run([rt, "--root", state, "run", "--bundle", bundle, cid], errf)
    return (time.perf_counter() - t0) * 1e3


def summary(name, xs):
    return (f"  {name:<8} total {sum(xs):9.1f} ms  mean {statistics.mean(xs):7.2f} ms  "
            f"median {statistics.median(xs):7.2f} ms")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100, help="iterations per runtime (default 100)")
    ap.add_argument("--run", action="store_true", help="also time `RT run`")
    ap.add_argument("--disco", default=os.path.join(ROOT, "build/disco-oci"))
    ap.add_argument("--runc", default=shutil.which("runc") or "/usr/sbin/runc")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("ct_lifecycle: needs root")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("ct_lifecycle: prctl(PR_SET_CHILD_SUBREAPER) failed")
    rootfs = default_rootfs()
    tmp = tempfile.mkdtemp(prefix="disco-bench-ct.")
    rts = {"disco": a.disco, "runc": a.runc}
    try:
        bundle = make_bundle(tmp, rootfs, a.runc)
        errf = open(os.path.join(tmp, "stderr"), "w+")
        states = {k: os.path.join(tmp, "state-" + k) for k in rts}
        steps = {k: [] for k in rts}
        runs = {k: [] for k in rts}
        # One warm-up each (page cache, cgroup parents).
        for k, rt in rts.items():
            one_lifecycle(rt, states[k], bundle, f"warm-{k}-{os.getpid()}", os.path.join(tmp, "pid"), errf)
        for i in range(a.n):
            for k, rt in rts.items():
                steps[k].append(one_lifecycle(rt, states[k], bundle, f"b{os.getpid()}-{i}", os.path.join(tmp, "pid"), errf))
            if a.run:
                for k, rt in rts.items():
                    runs[k].append(one_run(rt, states[k], bundle, f"r{os.getpid()}-{i}", errf))
        print(f"container lifecycle, {a.n} iterations each, interleaved; bundle: busybox, args [\"true\"]")
        print(f"  disco: {a.disco}\n  runc:  {a.runc} ({subprocess.run([a.runc, '--version'], capture_output=True, text=True).stdout.splitlines()[0]})")
        names = ["create", "start", "wait", "delete", "total"]
        med = {}
        for k in rts:
            print(f"{k}:")
            for j, nm in enumerate(names):
                xs = [s[j] for s in steps[k]]
                med[(k, nm)] = statistics.median(xs)
                print(summary(nm, xs))
            if a.run:
                med[(k, "run")] = statistics.median(runs[k])
                print(summary("run", runs[k]))
        print("ratio disco/runc (medians):")
        for nm in names + (["run"] if a.run else []):
            print(f"  {nm:<8} {med[('disco', nm)] / med[('runc', nm)]:.2f}x")
        crun = shutil.which("crun")
        if crun:
            p = subprocess.run([crun, "--root", os.path.join(tmp, "state-crun"), "run", "--bundle",
                                bundle, f"crun-probe-{os.getpid()}"], capture_output=True, text=True, timeout=30)
            said = (p.stderr or p.stdout).strip().splitlines()
            print(f"crun ({subprocess.run([crun, '--version'], capture_output=True, text=True).stdout.splitlines()[0]}): "
                  f"exit {p.returncode}: {said[-1] if said else '(nothing)'}")
            subprocess.run([crun, "--root", os.path.join(tmp, "state-crun"), "delete", "-f", f"crun-probe-{os.getpid()}"],
                           capture_output=True)
        else:
            print("crun: not installed")
    finally:
        for k, rt in rts.items():
            st = os.path.join(tmp, "state-" + k)
            if os.path.isdir(st):
                for cid in os.listdir(st):
                    subprocess.run([rt, "--root", st, "delete", "--force", cid], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
        # Reap whatever is left.
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


if __name__ == "__main__":
    main()
