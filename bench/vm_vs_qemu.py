#!/usr/bin/env python3
"""Boot and compute benchmark: disco versus qemu-system-riscv64 -M virt, side
by side in one run, on the same kernel and initramfs.

For each system and each round it measures
  boot     time from process start to the guest's "disco-guest: init reached"
  compute  time from that line to the guest's sha256 result line
           (busybox generates 64 MiB in the guest and hashes it)
  peak     the process's peak RSS (wait4's ru_maxrss)
and prints medians and the ratios disco/QEMU. Absolute times on shared
machines are noise; the ratios are the result.
"""
import argparse, os, select, signal, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, timeout, markers):
    """Run cmd; return (dict marker->seconds since start, peak RSS KiB, rc)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    seen, buf = {}, b""
    deadline = t0 + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            break
        r, _, _ = select.select([p.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 65536)
        now = time.monotonic() - t0
        if not chunk:
            break
        buf += chunk
        for m in markers:
            if m not in seen and m.encode() in buf:
                seen[m] = now
        buf = buf[-4096:]
    _, status, ru = os.wait4(p.pid, 0)
    rc = os.waitstatus_to_exitcode(status)
    return seen, ru.ru_maxrss, rc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", default=os.environ.get("DISCO_GUEST_DIR",
                    os.path.join(os.environ.get("DISCO_CACHE", "/var/cache/disco"), "guest/default")))
    ap.add_argument("--disco", default=os.path.join(ROOT, "build/disco"))
    ap.add_argument("--qemu", default="qemu-system-riscv64")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=1)
    ap.add_argument("--mem", default="256M")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--opensbi", default="/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin",
                    help="also run disco under this firmware, like QEMU does ('' to skip)")
    a = ap.parse_args()
    kernel = os.path.join(a.guest, "Image")
    initrd = os.path.join(a.guest, "initramfs.cpio.gz")
    for f in (kernel, initrd, a.disco):
        if not os.path.exists(f):
            sys.exit(f"bench: missing {f} (run scripts/boot.sh once to build the guest)")
    append = "console=ttyS0 disco.run=sha256"
    systems = {
        "disco": [a.disco, "run", "--cpus", str(a.cpus), "--mem", a.mem,
                  "--kernel", kernel, "--initrd", initrd, "--append", append],
        "qemu": [a.qemu, "-M", "virt", "-smp", str(a.cpus), "-m", a.mem, "-nographic",
                 "-kernel", kernel, "-initrd", initrd, "-append", append],
    }
    if a.opensbi and os.path.exists(a.opensbi):
        systems["disco+opensbi"] = systems["disco"][:2] + ["--bios", a.opensbi] + systems["disco"][2:]
    init_m, done_m = "disco-guest: init reached", "disco-guest: sha256 "
    res = {k: {"boot": [], "compute": [], "peak": []} for k in systems}
    for rnd in range(a.rounds):
        for name, cmd in systems.items():   # interleaved, so drift hits both
            seen, peak, rc = run(cmd, a.timeout, [init_m, done_m])
            if init_m not in seen or done_m not in seen or rc != 0:
                sys.exit(f"bench: {name} round {rnd}: rc={rc}, markers seen: {sorted(seen)}")
            res[name]["boot"].append(seen[init_m])
            res[name]["compute"].append(seen[done_m] - seen[init_m])
            res[name]["peak"].append(peak / 1024.0)
            print(f"round {rnd} {name:13s} boot {seen[init_m]:7.2f}s  compute {seen[done_m] - seen[init_m]:7.2f}s"
                  f"  peak {peak / 1024.0:7.1f} MiB", flush=True)
    med = {k: {m: statistics.median(v) for m, v in r.items()} for k, r in res.items()}
    print(f"\nmedians over {a.rounds} rounds, {a.cpus} vCPU, {a.mem}; QEMU: {a.qemu} -M virt with its default"
          f" OpenSBI; disco: built-in SBI" + (f"; disco+opensbi: --bios {a.opensbi}" if "disco+opensbi" in med else ""))
    for name in [k for k in systems if k != "qemu"]:
        print(f"\n{'metric':10s} {name:>14s} {'qemu':>10s} {name + '/qemu':>20s}")
        for m, unit in (("boot", "s"), ("compute", "s"), ("peak", "MiB")):
            d, q = med[name][m], med["qemu"][m]
            print(f"{m:10s} {d:13.2f}{unit:3s} {q:7.2f}{unit:3s} {d / q:19.2f}x")


if __name__ == "__main__":
    main()
