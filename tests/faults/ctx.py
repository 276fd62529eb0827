"""One scenario run: a fresh network, servers, controller, writer, sampler; the checks.

A Ctx is built per run (nothing is shared between runs) and always torn down.
"""
from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import threading
import time

import faultlab as F
from faultlab import lab, now_ms, wait_for


class Bins:
    def __init__(self, build_dir):
        self.myorch = os.environ.get('MYORCH_BIN') or os.path.join(build_dir, 'myorch')
        self.seqwriter = os.environ.get('MYORCH_SEQWRITER') or os.path.join(build_dir, 'seqwriter')
        for b in (self.myorch, self.seqwriter):
            if not os.access(b, os.X_OK):
                raise F.FaultError('%s not found: build first (cmake --build build) or set MYORCH_BIN/--build' % b)


# Controller settings used by every scenario (see README.md for why these values).
GLOBAL_CONFIG = {
    'poll_interval_ms': 500,
    'connect_timeout_ms': 3000,    # > a MySQL connect at 400 ms RTT (~3 RTT) plus a lost SYN (1 s)
    'read_timeout_ms': 2000,
    'log_level': 'debug',
}
CLUSTER_CONFIG = {}            # --set-cluster: extra [cluster.lab] keys for every scenario
SEMI_SYNC_WAIT_POINT = os.environ.get('MYORCH_FAULTS_WAIT_POINT', 'AFTER_SYNC')
SLAVE_NET_TIMEOUT = 4          # replicas notice a silent primary after 4 s (heartbeat 0.1 s)
FENCE_BOUND_MS = 3000        # a demoted primary that comes back writable is read-only within this
WRITER_RATE = 300              # rows/s of the main writer (seqwriter --rate)
# HA lab (issue 14): controllers c1..c3 on hosts orch1..orch3 (10.77.0.11-13), etcd members on
# etcd1..etcd3 (10.77.0.31-33).
HA_CONTROLLERS = 3
HA_LEASE_TTL_MS = 2000         # the smallest etcd_lease_ttl_ms: handoffs within seconds
HA_CONFIG = {
    'coordination': 'etcd',
    'etcd_prefix': '/myorch-faults',
    'etcd_lease_ttl_ms': HA_LEASE_TTL_MS,
}


class Controller:
    """One `myorch run` of the HA lab: its host, config, state, log and event stream."""

    def __init__(self, ctx, name, host, config):
        self.ctx, self.name, self.host, self.config = ctx, name, host, config
        self.log_path = os.path.join(ctx.dir, 'daemon-%s.log' % name)
        self.events_path = os.path.join(ctx.dir, 'events-%s.jsonl' % name)
        self.p = None
        self.events_p = None
        self.env = None
        self.stopped = False       # SIGSTOPped by the harness

    def alive(self):
        return self.p is not None and self.p.poll() is None


class Writer:
    def __init__(self, ctx, name, host, targets, follow=True, start=1, rate=WRITER_RATE):
        self.ctx, self.name = ctx, name
        self.out = os.path.join(ctx.dir, 'writer-%s.json' % name)
        argv = [ctx.bins.seqwriter, '--target', ','.join(targets), '--user', 'app',
                '--password-file', ctx.lab.app_password_file, '--out', self.out, '--start', str(start)]
        if follow:
            argv.append('--follow')
        if rate:
            argv += ['--rate', str(rate)]
        self.p = ctx.net.popen(host, argv, log_path=os.path.join(ctx.dir, 'writer-%s.log' % name))
        self.result = None

    def stop(self):
        if self.result is not None:
            return self.result
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError('writer %s did not stop on SIGTERM' % self.name)
        with open(self.out) as f:
            self.result = json.loads(f.read())
        return self.result


class Sampler(threading.Thread):
    """Every 100 ms: which servers are writable (read_only=0, via the unix socket), and of
    those, which the writer host can reach (process running, not stopped, no fault in force
    between them). Two or more at once = two writable primaries an application could use."""

    def __init__(self, ctx, interval=0.1):
        super().__init__(daemon=True)
        self.ctx, self.interval = ctx, interval
        self.stop_ev = threading.Event()
        self.samples = []          # (t_ms, writable, writable_reachable)
        self.conns = {}

    def ro(self, i):
        c = self.conns.get(i)
        try:
            if c is None:
                c = self.conns[i] = F.MiniConn(self.ctx.lab.server(i)['socket'], timeout=0.5)
            return c.value('SELECT @@read_only')
        except Exception:  # noqa: BLE001
            if c is not None:
                c.close()
            self.conns.pop(i, None)
            return None

    def run(self):
        L, net = self.ctx.lab, self.ctx.net
        while not self.stop_ev.is_set():
            t = now_ms()
            w, wr = [], []
            for i in L.indexes:
                if not L.alive(i):
                    self.conns.pop(i, None)
                    continue
                if self.ro(i) == '0':
                    w.append(i)
                    if net.reachable('writer', L.host(i)) and L.alive(i):
                        wr.append(i)
            self.samples.append((t, w, wr))
            self.stop_ev.wait(self.interval)
        for c in self.conns.values():
            c.close()

    def stop(self):
        self.stop_ev.set()
        self.join(5)

    def dual_windows(self):
        """[(start_ms, length_ms, servers)] where >= 2 reachable servers were writable."""
        out, cur = [], None
        for t, _, wr in self.samples:
            if len(wr) >= 2:
                if cur is None:
                    cur = [t, t, set(wr)]
                cur[1] = t
                cur[2] |= set(wr)
            elif cur is not None:
                out.append((cur[0], cur[1] - cur[0] + int(self.interval * 1000), sorted(cur[2])))
                cur = None
        if cur is not None:
            out.append((cur[0], cur[1] - cur[0] + int(self.interval * 1000), sorted(cur[2])))
        return out


class Ctx:
    def __init__(self, sid, name, workdir, bins, verbose=False):
        self.sid, self.name, self.dir, self.bins, self.verbose = sid, name, workdir, bins, verbose
        os.makedirs(workdir, exist_ok=True)
        self.net = None
        self.lab = None
        self.daemon = None
        self.events_p = None
        self.ha = False
        self.ctls = {}              # HA lab: name -> Controller
        self.etcd = None
        self.writers = {}
        self.sampler = None
        self.config = os.path.join(workdir, 'myorch.ini')
        self.daemon_log = os.path.join(workdir, 'daemon.log')
        self.events_path = os.path.join(workdir, 'events.jsonl')
        self.injected = []          # (t_ms, what)
        self.returns = []           # (t_ms, server): a demoted primary brought back writable on purpose
        self.metrics = {'failover_ms': None, 'lost': 0, 'dual_ms': 0, 'notes': []}
        self.rng = random.Random()
        self.run_no = 1             # which run of this scenario (the runner sets it)
        self.log_fh = open(os.path.join(workdir, 'harness.log'), 'a')

    # ------------------------------------------------------------ logging
    def log(self, msg, *a):
        line = '%s %s' % (time.strftime('%H:%M:%S'), msg % a if a else msg)
        self.log_fh.write(line + '\n')
        self.log_fh.flush()
        if self.verbose:
            print('    ' + line, flush=True)

    def note(self, msg, *a):
        self.metrics['notes'].append(msg % a if a else msg)
        self.log('note: ' + (msg % a if a else msg))

    # ------------------------------------------------------------ setup
    def setup(self, servers=3, cluster_extra='', global_extra=None, semi_sync=True, before_daemon=None,
              daemon_env=None, topology='star', ha=False, ctl_env=None, first=None):
        """ha: the HA lab (3 etcd members, 3 controllers with coordination = etcd, each on its
        own host); ctl_env: {controller name: extra environment} for its first start; first: a
        controller started alone until it holds the cluster's lock, then the others."""
        self.ha = ha
        self.net = F.Net()
        self.net.setup()
        for i in range(1, servers + 1):
            self.net.add_host('db%d' % i, i)
        if ha:
            for k in range(1, HA_CONTROLLERS + 1):
                self.net.add_host('orch%d' % k, 10 + k)
            for k in range(1, 4):
                self.net.add_host('etcd%d' % k, 30 + k)
            self.etcd = F.NsEtcd(os.path.join(self.dir, 'etcd'), self.net)
            t = time.monotonic()
            self.etcd.up()
            self.log('etcd up in %.1fs', time.monotonic() - t)
        else:
            self.net.add_host('orch', 10)
        self.net.add_host('writer', 20)
        self.lab = F.NsLab(os.path.join(self.dir, 'lab'), self.net, slave_net_timeout=SLAVE_NET_TIMEOUT,
                            semi_sync_wait_point=SEMI_SYNC_WAIT_POINT)
        t = time.monotonic()
        self.lab.up(servers=servers, semi_sync=semi_sync, topology=topology)
        self.log('lab up in %.1fs', time.monotonic() - t)
        if before_daemon:
            before_daemon()
        g = dict(GLOBAL_CONFIG)
        if ha:
            g.update(HA_CONFIG)
            g['etcd_endpoints'] = self.etcd.endpoints
        g.update(global_extra or {})
        if ha:
            for k in range(1, HA_CONTROLLERS + 1):
                name = 'c%d' % k
                self.ctls[name] = Controller(self, name, 'orch%d' % k, os.path.join(self.dir, 'myorch-%s.ini' % name))
            self.config = self.ctls['c1'].config
        for c in (self.ctls.values() if ha else [None]):
            state = os.path.join(self.dir, 'state-' + c.name if c else 'state')
            os.makedirs(state, mode=0o700, exist_ok=True)
            text = '[myorch]\nstate_dir = %s\n' % state
            if c:
                text += 'controller_name = %s\n' % c.name
            text += ''.join('%s = %s\n' % kv for kv in g.items())
            text += self._cluster_section(servers, cluster_extra, c)
            F.write_private(c.config if c else self.config, text)
        if ha:
            if first:
                self.start_ctls([first], env=ctl_env)
                wait_for(lambda: (self.coordination(first)['locks'].get('lab') or {}).get('held_here'), timeout=30,
                         what='%s holds the lock' % first)
            self.start_ctls([n for n in self.ctls if n != first], env=ctl_env)
            for c in self.ctls.values():
                wait_for(lambda: self.topology(c.name)['reachable'] == servers, timeout=30,
                         what='every server discovered by %s' % c.name)
                wait_for(lambda: self.analysis(c.name) == 'ok', timeout=30, what='analysis ok on %s' % c.name)
            self.wait_ha_ready()
            for c in self.ctls.values():
                self.start_events(c)
        else:
            self.start_daemon(env=daemon_env)
            wait_for(lambda: self.topology()['reachable'] == servers, timeout=30, what='every server discovered')
            wait_for(lambda: self.analysis() == 'ok', timeout=30, what='analysis ok')
            self.start_events()
        self.sampler = Sampler(self)
        self.sampler.start()
        time.sleep(0.3)    # the event subscriber is connected (PUB drops for late joiners)

    def _cluster_section(self, servers, cluster_extra, c):
        """[cluster.lab]; in cluster_extra, {ctl} is the controller's name (hooks tell who ran them)."""
        text = ''
        # Every host has its own address: replicas other than the seed are trusted because they
        # are in the lab's subnet (and confirmed by their Binlog Dump connection).
        text += ('\n[cluster.lab]\nseeds = %s\nuser = myorch\npassword_file = %s\nreplication_user = repl\n'
                 'replication_password_file = %s\ndiscover_allow = %s.0/24\n'
                 % (self.lab.addr(2 if servers > 1 else 1), self.lab.myorch_password_file,
                    self.lab.repl_password_file, F.SUBNET))
        if cluster_extra:
            text += (cluster_extra.replace('{ctl}', c.name) if c else cluster_extra).strip() + '\n'
        text += ''.join('%s = %s\n' % kv for kv in CLUSTER_CONFIG.items())
        return text

    def start_daemon(self, env=None):
        """env: extra environment for this start only (e.g. the executor's test failpoint)."""
        with open(self.daemon_log, 'ab') as f:
            f.write(b'==== harness: myorch run started\n')
        kw = {'env': dict(os.environ, **env)} if env else {}
        self.daemon = self.net.popen('orch', [self.bins.myorch, 'run', '-c', self.config], log_path=self.daemon_log,
                                     **kw)
        wait_for(lambda: self.daemon.poll() is not None or self.myorch('status', timeout=5).returncode == 0,
                 timeout=30, what='controller control socket')
        if self.daemon.poll() is not None:
            raise AssertionError('myorch run exited %s: %s' % (self.daemon.returncode, lab.tail(self.daemon_log)))

    def kill_daemon(self, sig=signal.SIGKILL):
        self.daemon.send_signal(sig)
        self.daemon.wait(30)

    def start_events(self, c=None):
        # In the controller's namespace (the ipc socket is a file): --cleanup finds it there.
        if c is not None:
            if c.events_p and c.events_p.poll() is None:
                c.events_p.terminate()
                with contextlib.suppress(Exception):
                    c.events_p.wait(5)
            c.events_p = self.net.popen(c.host, [self.bins.myorch, 'events', '-c', c.config, '--json'],
                                        log_path=c.events_path)
            return
        self.events_p = self.net.popen('orch', [self.bins.myorch, 'events', '-c', self.config, '--json'],
                                       log_path=self.events_path)

    # ------------------------------------------------------------ HA lab: controllers
    def start_ctls(self, names=None, env=None):
        """Start controllers (all by default) at once, then wait for each control socket.
        env: {name: extra environment} for this start only."""
        env = env or {}
        names = names or list(self.ctls)
        for n in names:
            c = self.ctls[n]
            with open(c.log_path, 'ab') as f:
                f.write(b'==== harness: myorch run started\n')
            kw = {'env': dict(os.environ, **env[n])} if env.get(n) else {}
            c.p = self.net.popen(c.host, [self.bins.myorch, 'run', '-c', c.config], log_path=c.log_path, **kw)
            c.stopped = False
            self.log('started controller %s (pid %d)%s', n, c.p.pid, ' env %s' % env[n] if env.get(n) else '')
        for n in names:
            c = self.ctls[n]
            wait_for(lambda: c.p.poll() is not None or self.myorch('status', ctl=n, timeout=5).returncode == 0,
                     timeout=30, what='control socket of %s' % n)
            if c.p.poll() is not None:
                raise AssertionError('myorch run %s exited %s: %s' % (n, c.p.returncode, lab.tail(c.log_path)))

    def stop_ctl(self, n, sig=signal.SIGKILL, wait=True):
        """Signal controller n (SIGKILL/SIGTERM: and reap it; SIGSTOP/SIGCONT: mark it)."""
        c = self.ctls[n]
        self.log('signal %s to controller %s (pid %d)', signal.Signals(sig).name, n, c.p.pid)
        c.p.send_signal(sig)
        if sig == signal.SIGSTOP:
            c.stopped = True
        elif sig == signal.SIGCONT:
            c.stopped = False
        elif wait:
            c.p.wait(30)
            if sig == signal.SIGTERM and c.p.returncode != 0:
                raise AssertionError('myorch run %s exited %s on SIGTERM' % (n, c.p.returncode))

    def live_ctls(self):
        return [n for n, c in self.ctls.items() if c.alive() and not c.stopped]

    def coordination(self, n):
        return self.jmyorch('status', '--timeout-ms', '3000', ctl=n)['coordination']

    def holder(self, names=None):
        """The lock holder of cluster lab that every given (default: live) controller agrees on, or None."""
        names = names or self.live_ctls()
        locks = {n: self.coordination(n)['locks'].get('lab') or {} for n in names}
        holders = {v.get('holder') for v in locks.values()}
        here = [n for n, v in locks.items() if v.get('held_here')]
        if len(holders) == 1 and len(here) == 1 and here[0] in holders:
            return here[0]
        return None

    def wait_ha_ready(self, names=None, timeout=40):
        """Every given (default: live) controller leased, etcd ok, seeing exactly them, analysis ok,
        and one lock holder they agree on; returns the holder."""
        names = names or self.live_ctls()

        def ready():
            for n in names:
                co = self.coordination(n)
                if not co['lease_ok'] or co['etcd_health'] != 'ok' \
                        or sorted(c['name'] for c in co['controllers']) != sorted(names):
                    return None
            return self.holder(names)
        h = wait_for(ready, timeout=timeout, interval=0.2, what='controllers %s leased, one lock holder' % names)
        self.log('lock holder: %s', h)
        return h

    def ha_recoveries(self, names=None):
        """Every recovery of every given (default: running, not stopped) controller, with 'ctl'."""
        out = []
        for n in names or self.live_ctls():
            for r in self.recoveries(n):
                out.append(dict(r, ctl=n))
        return out

    def wait_ha_recovery(self, timeout=60, pred=None, names=None):
        """Wait until a controller has a finished recovery (matching pred); its detail with 'ctl'."""
        def done():
            for r in self.ha_recoveries(names):
                if r['state'] != 'running' and (pred is None or pred(r)):
                    return r
            return None
        r = wait_for(done, timeout=timeout, interval=0.1, what='a recovery finished on a controller')
        full = dict(self.recovery(r['id'], ctl=r['ctl']), ctl=r['ctl'])
        self.log('recovery %s#%s %s %s: %s -> %s (%s)', full['ctl'], full['id'], full['kind'], full['state'],
                 full.get('old_primary'), full.get('new_primary'), full.get('error') or '')
        return full

    # ------------------------------------------------------------ teardown
    def teardown(self):
        errs = []
        if self.sampler:
            with contextlib.suppress(Exception):
                self.record_dual()
        for w in self.writers.values():
            with contextlib.suppress(Exception):
                if w.p.poll() is None:
                    w.p.kill()
        if self.events_p and self.events_p.poll() is None:
            self.events_p.terminate()
            with contextlib.suppress(Exception):
                self.events_p.wait(5)
        for c in self.ctls.values():
            if c.events_p and c.events_p.poll() is None:
                c.events_p.terminate()
                with contextlib.suppress(Exception):
                    c.events_p.wait(5)
            if c.alive():
                if c.stopped:
                    c.p.send_signal(signal.SIGCONT)
                c.p.terminate()
                try:
                    c.p.wait(20)
                except subprocess.TimeoutExpired:
                    errs.append('myorch run %s did not stop on SIGTERM' % c.name)
                    c.p.kill()
                    c.p.wait()
                if c.p.returncode not in (0, -signal.SIGKILL):
                    errs.append('myorch run %s exited %s on SIGTERM' % (c.name, c.p.returncode))
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                errs.append('myorch run did not stop on SIGTERM')
                self.daemon.kill()
                self.daemon.wait()
            if self.daemon.returncode not in (0, -signal.SIGKILL):
                errs.append('myorch run exited %s on SIGTERM' % self.daemon.returncode)
        # Built with sanitizers (CI runs the matrix on build-asan too): any report fails the run.
        logs = [self.daemon_log, self.events_path]
        for c in self.ctls.values():
            logs += [c.log_path, c.events_path]
        for path in logs:
            text = ''
            with contextlib.suppress(OSError), open(path, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
            for marker in ('ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'runtime error:'):
                if marker in text:
                    errs.append('%s in %s' % (marker, os.path.basename(path)))
        if self.lab:
            with contextlib.suppress(Exception):
                self.lab.down()
        if self.etcd:
            with contextlib.suppress(Exception):
                self.etcd.down()
        if self.net:
            self.net.teardown()
        self.log_fh.close()
        return errs

    # ------------------------------------------------------------ controller
    def myorch(self, *args, timeout=30, ctl=None):
        """ctl: which controller of the HA lab (default: the single one, or c1)."""
        config = self.ctls[ctl].config if ctl else self.config
        return subprocess.run([self.bins.myorch, *args, '-c', config], capture_output=True, text=True,
                              timeout=timeout)

    def jmyorch(self, *args, timeout=30, ctl=None):
        p = self.myorch(*args, '--json', timeout=timeout, ctl=ctl)
        if p.returncode != 0:
            raise RuntimeError('myorch %s%s: rc=%d %s' % (' '.join(args), ' (%s)' % ctl if ctl else '', p.returncode,
                                                          p.stderr.strip()))
        return json.loads(p.stdout)

    def status(self, ctl=None):
        return self.jmyorch('status', '--timeout-ms', '3000', ctl=ctl)['clusters'][0]

    def analysis(self, ctl=None):
        return self.status(ctl)['recovery']['analysis']

    def topology(self, ctl=None):
        return self.jmyorch('topology', '--cluster', 'lab', '--timeout-ms', '3000', ctl=ctl)['clusters'][0]

    def recoveries(self, ctl=None):
        return self.jmyorch('recoveries', '--timeout-ms', '3000', ctl=ctl)['recoveries']

    def recovery(self, rid, ctl=None):
        return self.jmyorch('recoveries', '--id', str(rid), '--timeout-ms', '3000', ctl=ctl)['recoveries'][0]

    def wait_recovery(self, n=1, timeout=60, states=None):
        """Wait until at least n recoveries exist and the newest is no longer running; its detail."""
        def done():
            r = self.recoveries()
            if len(r) >= n and r[0]['state'] != 'running':
                return r[0]
            return None
        r = wait_for(done, timeout=timeout, interval=0.1, what='recovery #%d finished' % n)
        full = self.recovery(r['id'])
        self.log('recovery #%s %s: %s -> %s (%s)', full['id'], full['state'], full.get('old_primary'),
                 full.get('new_primary'), full.get('error') or '')
        if states and full['state'] not in states:
            raise AssertionError('recovery #%s ended %s (want %s): %s' % (full['id'], full['state'], states,
                                                                          full.get('error')))
        return full

    def events(self):
        """The event stream; in the HA lab every controller's, merged by time, each with 'ctl'."""
        out = []
        for name, path in ([(c.name, c.events_path) for c in self.ctls.values()] or [(None, self.events_path)]):
            with contextlib.suppress(FileNotFoundError):
                with open(path) as f:
                    for ln in f:
                        with contextlib.suppress(ValueError):
                            e = json.loads(ln)
                            if name:
                                e['ctl'] = name
                            out.append(e)
        if self.ctls:
            out.sort(key=lambda e: e.get('ts_ms', 0))
        return out

    def event_names(self, since_ms=0):
        return [e['name'] for e in self.events() if e.get('ts_ms', 0) >= since_ms]

    def wait_event(self, name, since_ms=0, timeout=30, pred=None):
        def find():
            for e in self.events():
                if e['name'] == name and e.get('ts_ms', 0) >= since_ms and (pred is None or pred(e)):
                    return e
            return None
        return wait_for(find, timeout=timeout, interval=0.02, what='event %s' % name)

    def daemon_log_text(self):
        with open(self.daemon_log, 'rb') as f:
            return f.read().decode(errors='replace')

    # ------------------------------------------------------------ faults
    def inject(self, what):
        """Record the wall clock right before a fault is injected."""
        t = now_ms()
        self.injected.append((t, what))
        self.log('inject: %s', what)
        return t

    def kill(self, i, sig='KILL'):
        self.lab.kill(i, sig)

    # ------------------------------------------------------------ writer
    def start_writer(self, name='main', host='writer', targets=None, follow=True, start=1, rate=WRITER_RATE):
        targets = targets or [self.lab.addr(i) for i in self.lab.indexes]
        w = Writer(self, name, host, targets, follow=follow, start=start, rate=rate)
        self.writers[name] = w
        return w

    def wait_writer_progress(self, minimum=50, timeout=20):
        wait_for(lambda: self.max_seq() >= minimum, timeout=timeout, interval=0.1, what='writer progress')

    def max_seq(self, i=None):
        i = i or self.current_writable() or 1
        return int(self.lab.sql_value(i, 'SELECT COALESCE(MAX(n), 0) FROM lab.seq WHERE n < 1000000', timeout=5))

    # ------------------------------------------------------------ state of the servers
    def ro(self, i):
        return self.lab.sql_value(i, 'SELECT @@read_only', timeout=5)

    def current_writable(self):
        w = [i for i in self.lab.indexes if self.lab.alive(i) and self.ro(i) == '0']
        return w[0] if len(w) == 1 else None

    def reachable_servers(self):
        """Running, not stopped, not cut off from the controller (HA: from every live one) by a fault."""
        hosts = [self.ctls[n].host for n in self.live_ctls()] if self.ctls else ['orch']
        return [i for i in self.lab.indexes
                if self.lab.alive(i) and all(self.net.reachable(h, self.lab.host(i)) for h in hosts)]

    def healthy(self, expect_primary=None, allow=()):
        """Exactly one writable server among the reachable ones; every other reachable one
        replicates from it (IO and SQL running), except those in allow (must be read-only)."""
        live = self.reachable_servers()
        writable = [i for i in live if self.ro(i) == '0']
        if len(writable) != 1:
            return None
        p = writable[0]
        if expect_primary is not None and p != expect_primary:
            return None
        for i in live:
            if i == p or i in allow:
                continue
            st = self.lab.slave_status(i, timeout=5)
            if not st or st['Master_Host'] != self.lab.ip(p) or st['Slave_IO_Running'] != 'Yes' \
                    or st['Slave_SQL_Running'] != 'Yes':
                return None
        return p

    def wait_healthy(self, expect_primary=None, allow=(), timeout=30):
        def desc():
            out = []
            for i in self.lab.indexes:
                if not self.lab.alive(i):
                    out.append('%d:down' % i)
                    continue
                try:
                    st = self.lab.slave_status(i, timeout=5) or {}
                    out.append('%d:ro=%s src=%s io=%s sql=%s %s' % (
                        i, self.ro(i), st.get('Master_Host'), st.get('Slave_IO_Running'),
                        st.get('Slave_SQL_Running'), (st.get('Last_IO_Error') or st.get('Last_SQL_Error') or '')[:100]))
                except Exception as e:  # noqa: BLE001
                    out.append('%d:%s' % (i, e))
            return '; '.join(out)
        try:
            return wait_for(lambda: self.healthy(expect_primary, allow), timeout=timeout, interval=0.2,
                            what='one writable primary%s, every reachable replica replicating from it'
                            % ('' if expect_primary is None else ' (server %d)' % expect_primary))
        except AssertionError as e:
            raise AssertionError('%s; servers: %s' % (e, desc())) from None

    def acked_missing(self, result, i):
        """Acknowledged numbers of a writer result missing on server i."""
        ranges = result['acked_ranges']
        missing = 0
        for k in range(0, len(ranges), 200):
            chunk = ranges[k:k + 200]
            q = ' UNION ALL '.join('SELECT %d - COUNT(*) FROM lab.seq WHERE n BETWEEN %d AND %d'
                                   % (hi - lo + 1, lo, hi) for lo, hi in chunk)
            missing += sum(int(r[0]) for r in self.lab.sql(i, q, timeout=30))
        return missing

    def diag(self, i):
        """Note what server i is doing (processlist, replication, semi-sync): a failed wait
        on a server must say why, not only that it timed out."""
        qs = [('processlist', 'SHOW FULL PROCESSLIST'),
              ('semi-sync', "SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status',"
                            "'Rpl_semi_sync_master_clients','Rpl_semi_sync_master_wait_sessions',"
                            "'Rpl_semi_sync_slave_status')"),
              ('vars', 'SELECT @@read_only, @@rpl_semi_sync_master_enabled, @@gtid_binlog_pos, '
                       '@@gtid_slave_pos')]
        for what, q in qs:
            try:
                for row in self.lab.sql(i, q, timeout=5):
                    self.note('db%d %s: %s', i, what, ' | '.join(str(c) for c in row))
            except Exception as e:  # noqa: BLE001 - diagnostics only
                self.note('db%d %s: %s', i, what, e)
        try:
            st = self.lab.slave_status(i, timeout=5) or {}
            self.note('db%d replication: %s', i, {k: st.get(k) for k in (
                'Master_Host', 'Slave_IO_Running', 'Slave_SQL_Running', 'Slave_SQL_Running_State',
                'Last_IO_Error', 'Last_SQL_Error', 'Gtid_IO_Pos', 'Seconds_Behind_Master')})
        except Exception as e:  # noqa: BLE001
            self.note('db%d replication: %s', i, e)

    def wait_same_data(self, primary, servers, timeout=30):
        """Each server has applied everything the primary has (GTID) and holds the same rows."""
        pos = self.lab.sql_value(primary, 'SELECT @@gtid_binlog_pos')
        want = self.lab.sql_value(primary, 'SELECT COUNT(*) FROM lab.seq')
        for i in servers:
            r = self.lab.sql_value(i, "SELECT MASTER_GTID_WAIT('%s', %d)" % (pos, timeout), timeout=timeout + 10)
            if r != '0':
                self.diag(i)
                raise AssertionError('server %d did not apply %s of primary %d within %ss' % (i, pos, primary, timeout))
            have = self.lab.sql_value(i, 'SELECT COUNT(*) FROM lab.seq')
            if have != want:
                raise AssertionError('server %d has %s rows in lab.seq, primary %d has %s' % (i, have, primary, want))

    def finish(self, expect_primary=None, allow=(), timeout=30, writers=None):
        """The common end of every scenario: stop the writers, one writable primary, every
        reachable replica replicating from it with the same data, every acknowledged row on
        the primary, never two writable primaries reachable at once (sampler)."""
        p = self.wait_healthy(expect_primary, allow, timeout)
        results = {}
        for name, w in self.writers.items():
            results[name] = w.stop()
        p = self.wait_healthy(expect_primary, allow, timeout)
        lost = 0
        for name, res in results.items():
            m = self.acked_missing(res, p)
            if m:
                self.note('writer %s: %d acknowledged rows missing on the primary (server %d)', name, m, p)
            lost += m
        self.metrics['lost'] = lost
        others = [i for i in self.reachable_servers() if i != p and i not in allow]
        self.wait_same_data(p, others)
        self.record_dual()
        bad = self.unexcused_dual()
        main = results.get('main')
        if main:
            self.metrics['acked'] = main['acked']
            self.metrics['writer_max_gap_ms'] = main['max_gap_ms']
        if lost:
            raise AssertionError('%d acknowledged rows lost' % lost)
        if bad:
            raise AssertionError('two writable servers reachable by clients: %s' % bad)
        return p, results

    def record_dual(self):
        """Stop the sampler (once) and record the longest time two reachable servers were writable."""
        if not self.sampler or 'dual_windows' in self.metrics:
            return
        self.sampler.stop()
        dual = self.sampler.dual_windows()
        self.metrics['dual_windows'] = dual
        self.metrics['dual_ms'] = max((d[1] for d in dual), default=0)
        if dual:
            self.note('two reachable writable servers: %s', ', '.join('%d ms %s' % (d[1], d[2]) for d in dual))

    def returned(self, i):
        """The harness is about to bring a demoted primary back writable (restart with read_only off,
        reconnection, SIGCONT): until the controller fences it, two servers are writable. Such a
        window is excused up to FENCE_BOUND_MS; any other is a failure."""
        self.returns.append((now_ms(), i))

    def unexcused_dual(self):
        out = []
        for start, length, servers in self.metrics.get('dual_windows', []):
            ok = any(i in servers and start >= t - 200 and length <= FENCE_BOUND_MS for t, i in self.returns)
            if not ok:
                out.append('%d ms %s' % (length, servers))
        return out

    def failover_time(self, rec, t_inject):
        dead = [e['ts_ms'] for e in self.events() if e['name'] == 'primary-dead' and e.get('ts_ms', 0) >= t_inject]
        if dead:
            # Detection alone: the fault to the controller's primary-dead event (issue 18).
            self.metrics['detect_ms'] = min(dead) - t_inject
            self.log('detection time %d ms (first primary-dead event - injection)', self.metrics['detect_ms'])
        if rec.get('promoted_ms'):
            ms = rec['promoted_ms'] - t_inject
            self.metrics['failover_ms'] = ms
            self.log('failover time %d ms (promoted_ms - injection)', ms)
            return ms
        return None

    def assert_events(self, names, since_ms=0):
        have = set(self.event_names(since_ms))
        missing = [n for n in names if n not in have]
        if missing:
            raise AssertionError('events missing: %s (have %s)' % (missing, sorted(have)))

    def assert_no_recovery(self):
        r = self.recoveries()
        if r:
            raise AssertionError('unexpected recovery: %s' % json.dumps(r[0])[:600])

    def topology_instance(self, i):
        for inst in self.topology()['instances']:
            if inst['addr'] == self.lab.addr(i):
                return inst
        raise AssertionError('server %d not in the topology' % i)
