#!/usr/bin/env python3
"""Check the default guest's agent under QEMU, the reference machine.

    guest/agent/test-qemu.py [GUEST_DIR]     (default: $DISCO_CACHE/guest/default)

QEMU's virtconsole (on a virtio-serial-device) appears in the guest as a
virtio console, like disco's single-port one; its chardev is a unix socket
that this script speaks the agent protocol (src/vmm/agent.h) on. Two boots:
the interactive path (busybox init respawns the agent) and a disco.run=
script (the agent runs in the background; shutdown must interrupt the
script), and a reboot. Prints PASS/FAIL lines; exit status 1 if anything failed.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

failed = 0


def check(name, ok, why=''):
    global failed
    if ok:
        print('PASS: agent-qemu/' + name)
    else:
        failed += 1
        print('FAIL: agent-qemu/%s: %s' % (name, why))


class Guest:
    def __init__(self, d, append, tmp, extra=()):
        self.sock_path = os.path.join(tmp, 'ag.sock')
        self.log_path = os.path.join(tmp, 'console.log')
        self.log = open(self.log_path, 'wb')
        self.q = subprocess.Popen(
            ['qemu-system-riscv64', '-M', 'virt', '-m', '256M', '-nographic',
             '-kernel', d + '/Image', '-initrd', d + '/initramfs.cpio.gz', '-append', append,
             '-device', 'virtio-serial-device',
             '-chardev', 'socket,id=ag,path=%s,server=on,wait=off' % self.sock_path,
             '-device', 'virtconsole,chardev=ag'] + list(extra),
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        t = time.time()
        while not os.path.exists(self.sock_path):
            if time.time() - t > 30 or self.q.poll() is not None:
                raise RuntimeError('qemu did not create ' + self.sock_path)
            time.sleep(0.05)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(self.sock_path)
        self.s.settimeout(60)
        self.buf = b''
        self.next_id = 1

    def frame(self):
        while True:
            i = self.buf.find(b'\n')
            if i >= 0:
                t, fid, n = self.buf[:i].split(b' ')
                n = int(n)
                if len(self.buf) >= i + 1 + n:
                    p = self.buf[i + 1:i + 1 + n]
                    self.buf = self.buf[i + 1 + n:]
                    return t.decode(), int(fid), p
            d = self.s.recv(65536)
            if not d:
                raise EOFError('agent port closed')
            self.buf += d

    def request(self, typ, payload=b''):
        fid = self.next_id
        self.next_id += 1
        self.s.sendall(b'%s %d %d\n' % (typ.encode(), fid, len(payload)) + payload)
        return fid

    def exec(self, *argv):
        fid = self.request('exec', b''.join(a.encode() + b'\0' for a in argv))
        out, err = b'', b''
        while True:
            t, i, p = self.frame()
            if i != fid:
                continue
            if t == 'out':
                out += p
            elif t == 'err':
                err += p
            elif t == 'exit':
                return int(p), out, err
            else:
                return t, p, b''

    def simple(self, typ):
        fid = self.request(typ)
        while True:
            t, i, p = self.frame()
            if i == fid:
                return t, p

    def wait_exit(self, timeout):
        try:
            return self.q.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.q.kill()
            self.q.wait()
            return None


def interactive(d, tmp):
    g = Guest(d, 'console=ttyS0', tmp)
    t0 = time.time()
    t, i, p = g.frame()
    check('hello', (t, i, p) == ('hello', 0, b'disco-agent 1'), repr((t, i, p)))
    print('  hello after %.2fs' % (time.time() - t0))
    st, out, err = g.exec('uname', '-a')
    check('exec uname', st == 0 and out.startswith(b'Linux disco ') and b'riscv64' in out,
          repr((st, out, err)))
    st, out, err = g.exec('sh', '-c', 'echo e >&2; exit 3')
    check('exec exit 3', (st, out, err) == (3, b'', b'e\n'), repr((st, out, err)))
    st, out, err = g.exec('/no/such/cmd')
    check('exec missing', st == 127 and b'/no/such/cmd' in err, repr((st, out, err)))
    st, out, err = g.exec('seq', '1', '100000')
    check('exec big output', st == 0 and len(out) == 588895 and out.endswith(b'\n100000\n'),
          repr((st, len(out))))
    t, p = g.simple('meminfo')
    check('meminfo', t == 'meminfo' and p.startswith(b'MemTotal:'), repr((t, p[:40])))
    check('ping', g.simple('ping') == ('ok', b''))
    check('shutdown accepted', g.simple('shutdown') == ('ok', b''))
    t1 = time.time()
    rc = g.wait_exit(60)
    log = open(g.log_path, 'rb').read()
    check('shutdown powers off cleanly', rc == 0 and b'The system is going down' in log
          and b'reboot: Power down' in log, 'qemu rc %r' % rc)
    print('  powered off %.2fs after the request' % (time.time() - t1))


def run_script(d, tmp):
    # sha256 hashes for several seconds: the shutdown must not wait for it.
    g = Guest(d, 'console=ttyS0 disco.run=sha256', tmp)
    t, i, p = g.frame()
    check('run path: hello', t == 'hello', repr((t, i, p)))
    st, out, err = g.exec('cat', '/proc/1/cmdline')
    check('run path: exec', st == 0 and out == b'/bin/sh\0/init\0', repr((st, out, err)))
    check('run path: shutdown accepted', g.simple('shutdown') == ('ok', b''))
    t1 = time.time()
    rc = g.wait_exit(60)
    log = open(g.log_path, 'rb').read()
    dt = time.time() - t1
    check('run path: shutdown interrupts the script', rc == 0 and dt < 5
          and b'disco-guest: poweroff' in log and b'sha256 elapsed' not in log,
          'qemu rc %r after %.1fs' % (rc, dt))


def reboot(d, tmp):
    # -no-reboot: QEMU exits when the guest resets.
    g = Guest(d, 'console=ttyS0', tmp, ['-no-reboot'])
    g.frame()
    check('reboot accepted', g.simple('reboot') == ('ok', b''))
    rc = g.wait_exit(60)
    log = open(g.log_path, 'rb').read()
    check('reboot restarts cleanly', rc == 0 and b'The system is going down' in log
          and b'reboot: Restarting system' in log, 'qemu rc %r' % rc)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ.get('DISCO_CACHE', '/var/cache/disco'), 'guest', 'default')
    d = os.path.realpath(d)
    for f in ('Image', 'initramfs.cpio.gz'):
        if not os.path.exists(os.path.join(d, f)):
            print('SKIP: agent-qemu: no %s/%s (run guest/build.sh)' % (d, f))
            return 0
    with tempfile.TemporaryDirectory(prefix='disco-agent-qemu.') as tmp:
        interactive(d, tmp)
    with tempfile.TemporaryDirectory(prefix='disco-agent-qemu.') as tmp:
        run_script(d, tmp)
    with tempfile.TemporaryDirectory(prefix='disco-agent-qemu.') as tmp:
        reboot(d, tmp)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
