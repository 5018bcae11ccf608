"""clitest - a small harness for end-to-end tests of the `ibackup` and
`ibackup-sim` commands: starts virtual devices and usbmuxd servers in a
private temporary folder, runs commands with timeouts, and reports each
test case as "ok NAME" or "FAIL NAME: why", ending with "N passed, N failed".

usage in a test file:
    import clitest
    @clitest.case
    def pair_denied(t):
        sim = t.sim(knobs=['trust=deny'])
        r = t.ibackup(['pair'], sim=sim)
        t.expect(r.code == 5, 'exit status 5', r)
    clitest.main()
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

IBACKUP = None
SIM = None
CASES = []
SKIP = 77


def case(fn):
    CASES.append(fn)
    return fn


class Failed(Exception):
    pass


class Result:
    def __init__(self, args, code, out, err):
        self.args, self.code, self.out, self.err = args, code, out, err

    def json(self):
        return json.loads(self.out)

    def json_lines(self):
        return [json.loads(l) for l in self.out.splitlines() if l.strip()]

    def __repr__(self):
        return (f'\n  $ {" ".join(self.args)}\n  exit {self.code}\n'
                f'  stdout: {self.out[-2000:]!r}\n  stderr: {self.err[-2000:]!r}')


class Proc:
    """A background process that prints READY <path> when it is up."""

    def __init__(self, args, env, log):
        self.args = args
        self.log = log
        self.logf = open(log, 'w')
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.logf,
                                  env=env, text=True)
        deadline = time.time() + 20
        line = ''
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if line.startswith('READY ') or line == '':
                break
        if not line.startswith('READY '):
            self.stop()
            raise Failed(f'{args[0]} did not start: {open(log).read()[-2000:]}')
        self.path = line.split(' ', 1)[1].strip()

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.logf.close()


class T:
    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f'ibt-{name}-')
        self.procs = []
        self.env = dict(os.environ)
        # Pair records and backups stay inside the test folder.
        self.env['XDG_CONFIG_HOME'] = os.path.join(self.dir, 'config')
        self.env['XDG_DATA_HOME'] = os.path.join(self.dir, 'data')
        self.env.pop('USBMUXD_SOCKET_ADDRESS', None)
        self.records = os.path.join(self.dir, 'records')

    def path(self, name):
        return os.path.join(self.dir, name)

    def sim(self, devices=1, knobs=(), seed=None):
        sock = self.path(f'sim{len(self.procs)}.sock')
        args = [SIM, '--listen', sock, '--devices', str(devices)]
        for k in knobs:
            args += ['--set', k]
        if seed is not None:
            args += ['--seed', str(seed)]
        p = Proc(args, self.env, sock + '.log')
        self.procs.append(p)
        return 'sim:' + p.path

    def muxd(self, transport):
        sock = self.path(f'muxd{len(self.procs)}.sock')
        args = [IBACKUP, '--transport', transport, '--pair-records', self.records,
                'muxd', '--socket', sock]
        p = Proc(args, self.env, sock + '.log')
        self.procs.append(p)
        return p.path

    def sim_control(self, transport, action, arg=None, udid=None):
        sock = transport.split(':', 1)[1]
        args = [SIM, 'control', '--socket', sock]
        if udid:
            args += ['-u', udid]
        args.append(action)
        if arg is not None:
            args.append(arg)
        return self.run(args)

    def run(self, args, env=None, timeout=60, stdin=None):
        try:
            p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                               env=env or self.env, input=stdin)
        except subprocess.TimeoutExpired as e:
            raise Failed(f'timed out after {timeout}s: {" ".join(args)}\n'
                         f'stdout: {e.stdout!r}\nstderr: {e.stderr!r}')
        return Result(args, p.returncode, p.stdout, p.stderr)

    def ibackup(self, args, sim=None, transport=None, muxd=None, udid=None,
                timeout=60, records=True, env=None, stdin=None):
        """Run ibackup. sim= a 'sim:PATH' transport; muxd= a usbmuxd socket
        (then --transport usbmuxd with USBMUXD_SOCKET_ADDRESS)."""
        full = [IBACKUP]
        e = dict(env or self.env)
        if muxd is not None:
            full += ['--transport', 'usbmuxd']
            e['USBMUXD_SOCKET_ADDRESS'] = 'UNIX:' + muxd
        elif sim is not None or transport is not None:
            full += ['--transport', sim or transport]
        if records and muxd is None:
            full += ['--pair-records', self.records]
        if udid:
            full += ['-u', udid]
        return self.run(full + list(args), env=e, timeout=timeout, stdin=stdin)

    def expect(self, cond, what, result=None):
        if not cond:
            raise Failed(what + (repr(result) if result is not None else ''))

    def cleanup(self, keep):
        for p in reversed(self.procs):
            p.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def have(tool):
    return shutil.which(tool) is not None


def main():
    global IBACKUP, SIM
    IBACKUP, SIM = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    passed = failed = 0
    for fn in CASES:
        if only and only not in fn.__name__:
            continue
        t = T(fn.__name__)
        ok = False
        try:
            fn(t)
            ok = True
            print(f'ok   {fn.__name__}', flush=True)
        except Failed as e:
            print(f'FAIL {fn.__name__}: {e}', flush=True)
        except Exception:
            print(f'FAIL {fn.__name__}: {traceback.format_exc()}', flush=True)
        finally:
            t.cleanup(keep=not ok)
            if not ok:
                print(f'     (files kept in {t.dir})')
        passed += ok
        failed += not ok
    print(f'{passed} passed, {failed} failed')
    sys.exit(1 if failed else 0)
