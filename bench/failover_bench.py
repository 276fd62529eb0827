#!/usr/bin/env python3
"""Failover benchmark: kill -9 / SIGSTOP the primary of a 1+2 loopback lab and time
`myorch run` until the new primary is writable and every replica is repointed.
Stdlib only. See bench/failover_bench.md.

    python3 bench/failover_bench.py [--runs 20] [--mode crash|hang|both]
                                    [--build-dir DIR] [--poll-interval-ms 500] [--quick]
                                    [--coordination none|etcd|both] [--controllers 3]

--coordination etcd (issue 14): a 3-member etcd on loopback (tests/lab EtcdCluster, started
once, a fresh key prefix per run) and --controllers `myorch run` processes per run, all
watching the lab; the audit is read from the one that recovered (the lock holder). With
both, the single-controller and etcd runs alternate, so both see the same machine load.

Every run: a fresh lab of 3 mariadbd (tests/lab/lab.py: server 1 primary, 2 and 3
GTID replicas, slave_net_timeout=2 or --slave-net-timeout, heartbeat 0.25 s), a fresh state_dir and config,
`myorch run` started at a random offset and waited for until the analysis is "ok",
a settle delay with random jitter (so the kill falls at a random phase of the
controller's poll and of the replicas' heartbeat), then the wall clock
(time.time_ns() // 10**6) is read immediately before os.kill(primary, SIGKILL or
SIGSTOP). The recovery's audit (`myorch recoveries --json --id N`: unix-ms wall
clock, written by the controller from gettimeofday) gives:

    detection  = detected_ms - kill_ms
    (a)        = promoted_ms - kill_ms            new primary writable
    (b)        = max(verify steps' ended_ms) - kill_ms   every replica repointed

A run fails if the recovery does not end "done", a verify step failed, or the
check from outside (exactly one writable live server, every other live server
replicating from it with IO and SQL threads Yes) does not hold within 5 s.

stdout: a Markdown table (percentiles by nearest rank over the successful runs).
stderr: one line of raw numbers per run. Exit status: 0 if every run succeeded,
1 if any failed, 2 for a bad command line or a missing binary. Logs, configs and
audits of failed runs (of every run with --keep-all) are kept under --keep-dir.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))
import lab  # noqa: E402

HEARTBEAT_MS = 1000  # the lab's MASTER_HEARTBEAT_PERIOD (tests/lab/lab.py)
SIGNAL = {'crash': signal.SIGKILL, 'hang': signal.SIGSTOP}
SIGNAME = {'crash': 'SIGKILL', 'hang': 'SIGSTOP'}
TARGETS = {  # from the issue: crash p50 <= 500 ms, p99 <= 1 s; hang <= 3 s (checked on p99 and max)
    'crash': (('a', 50, 500), ('a', 99, 1000)),
    'hang': (('a', 99, 3000), ('b', 99, 3000)),
}


def loadavg():
    """(1-min load average, CPU pressure 'some avg10' in %) of the machine, or None."""
    out = []
    try:
        with open('/proc/loadavg') as f:
            out.append(float(f.read().split()[0]))
    except (OSError, ValueError, IndexError):
        out.append(None)
    try:
        with open('/proc/pressure/cpu') as f:
            out.append(float(f.readline().split()[1].split('=')[1]))
    except (OSError, ValueError, IndexError):
        out.append(None)
    return tuple(out)


def now_ms():
    return time.time_ns() // 1_000_000


class RunError(Exception):
    pass


class DaemonExited(Exception):
    """`myorch run` is gone: stop waiting at once (wait_for does not retry this)."""


class Bench:
    def __init__(self, args):
        self.args = args
        self.etcd = None  # lab.EtcdCluster, started by main() for --coordination etcd|both
        self.exe = os.path.join(args.build_dir, 'myorch')
        self.ports = random.SystemRandom()
        # One common period of the poll and heartbeat timers (capped): the kill jitter.
        self.jitter_ms = min(math.lcm(args.poll_interval_ms, HEARTBEAT_MS),
                             max(5000, args.poll_interval_ms, HEARTBEAT_MS))

    # ---- CLI helpers -------------------------------------------------------
    def cli(self, config, *argv, timeout=10):
        return subprocess.run([self.exe, *argv, '-c', config], capture_output=True, text=True,
                              timeout=timeout)

    def cli_json(self, config, *argv):
        p = self.cli(config, *argv, '--json')
        if p.returncode != 0:
            raise RunError('myorch %s exited %d: %s' % (' '.join(argv), p.returncode, p.stderr.strip()))
        return json.loads(p.stdout)

    @staticmethod
    def wait_for(pred, timeout, interval, what):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = pred()
            except (RunError, lab.LabError, ValueError, KeyError, IndexError,
                    subprocess.TimeoutExpired) as e:
                last = e
            if last and not isinstance(last, Exception):
                return last
            time.sleep(interval)
        raise RunError('timed out after %.0f s waiting for %s (last: %r)' % (timeout, what, last))

    # ---- external check ----------------------------------------------------
    @staticmethod
    def live(L, i):
        return L.alive(i)

    def healthy(self, L):
        """Index of the one writable live server if every other live server replicates
        from it with both threads running; else a RunError describing what is wrong."""
        live = [i for i in L.indexes if self.live(L, i)]
        ro = {i: L.sql_value(i, 'SELECT @@read_only', timeout=5) for i in live}
        writable = [i for i in live if ro[i] == '0']
        if len(writable) != 1:
            return RunError('writable live servers: %s (live: %s)' % (writable, live))
        p = writable[0]
        for i in live:
            if i == p:
                continue
            st = L.sql(i, 'SHOW SLAVE STATUS', dicts=True, timeout=5)
            if not st:
                return RunError('server %d: no replication configured' % i)
            st = st[0]
            if (int(st['Master_Port']) != L.port(p) or st['Slave_IO_Running'] != 'Yes'
                    or st['Slave_SQL_Running'] != 'Yes'):
                return RunError('server %d: Master_Port=%s IO=%s SQL=%s (want %d Yes Yes) %s'
                                % (i, st['Master_Port'], st['Slave_IO_Running'],
                                   st['Slave_SQL_Running'], L.port(p), st.get('Last_IO_Error') or ''))
        return p

    # ---- one run -----------------------------------------------------------
    def lab_up(self, tmp, res):
        """A 3-server lab on a free port range. Other labs may share the machine and
        take a range between the free-port scan and the servers' bind: start the scan
        at a random place high up, and retry a collision (a setup problem, not a
        failover result) with another range. The scan starts below the kernel's ephemeral range
        (32768 up, Linux's default): a start at 38780 once found no free range up to the scan's
        end at 40000, where the client sockets of a fleet bench run just before sat in TIME_WAIT."""
        for attempt in range(4):
            L = lab.Lab(os.path.join(tmp, 'lab'), slave_net_timeout=self.args.slave_net_timeout,
                        base_port=lab.free_base_port(count=8, start=self.ports.randrange(25000, 32000, 10)))
            try:
                return L.up(servers=3)
            except lab.LabError as e:
                if 'is not free' not in str(e) or attempt == 3:
                    raise
                res['setup_retries'] += 1

    def run_one(self, mode, n, rng, coord='none'):
        a = self.args
        tmp = tempfile.mkdtemp(prefix='myorch-fobench-')
        n_ctl = a.controllers if coord == 'etcd' else 1
        configs = [os.path.join(tmp, 'myorch.ini' if k == 0 else 'myorch-c%d.ini' % (k + 1)) for k in range(n_ctl)]
        logs = [os.path.join(tmp, 'myorch-run.log' if k == 0 else 'myorch-run-c%d.log' % (k + 1))
                for k in range(n_ctl)]
        config, log_path = configs[0], logs[0]
        res = {'mode': mode, 'coord': coord, 'run': n, 'ok': False, 'tmp': tmp, 'setup_retries': 0,
               'loadavg_before': loadavg()}
        procs, logfs = [], []
        proc = logf = None
        stopped_pid = None
        L = None
        try:
            L = self.lab_up(tmp, res)
            for k, cfg in enumerate(configs):
                coord_keys = '' if coord != 'etcd' else (
                    'coordination = etcd\netcd_endpoints = %s\netcd_prefix = /fobench-%d-%d\n'
                    'controller_name = c%d\netcd_lease_ttl_ms = %d\n'
                    % (self.etcd.endpoints, os.getpid(), n, k + 1, a.etcd_lease_ttl_ms))
                with open(cfg, 'w') as f:
                    f.write(f"""[myorch]
state_dir = {tmp}/state{'' if k == 0 else '-c%d' % (k + 1)}
poll_interval_ms = {a.poll_interval_ms}
read_timeout_ms = {a.read_timeout_ms}
connect_timeout_ms = {a.connect_timeout_ms}
log_level = {a.log_level}
{coord_keys}
[cluster.lab]
seeds = {L.addr(2)}
user = myorch
password_file = {L.myorch_password_file}
replication_user = repl
replication_password_file = {L.repl_password_file}
""")
                os.chmod(cfg, 0o600)
                os.makedirs('%s/state%s' % (tmp, '' if k == 0 else '-c%d' % (k + 1)), mode=0o700, exist_ok=True)
            for k, cfg in enumerate(configs):
                # The lab's replicas got their last event (and started their 1 s heartbeat
                # timers) just before up() returned: start each controller, and with it its
                # poll timer, at a random offset from them.
                time.sleep(rng.uniform(0, max(a.poll_interval_ms, HEARTBEAT_MS) / 1000.0))
                lf = open(logs[k], 'ab')
                logfs.append(lf)
                procs.append(subprocess.Popen([self.exe, 'run', '-c', cfg], stdout=lf,
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            proc, logf = procs[0], logfs[0]

            def ready():
                for k, cfg in enumerate(configs):
                    if procs[k].poll() is not None:
                        raise DaemonExited('myorch run exited %d' % procs[k].returncode)
                    st = self.cli_json(cfg, 'status')
                    if st['clusters'][0]['recovery']['analysis'] != 'ok':
                        return None
                    if coord == 'etcd':
                        co = st['coordination']
                        if not co['lease_ok'] or len(co['controllers']) != n_ctl:
                            return None
                    t = self.cli_json(cfg, 'topology')['clusters'][0]
                    if t['reachable'] != 3:
                        return None
                if coord == 'etcd':
                    here = [k for k, cfg in enumerate(configs)
                            if self.cli_json(cfg, 'status')['coordination']['locks']['lab']['held_here']]
                    return here[0] + 1 if len(here) == 1 else None
                return 1
            holder = self.wait_for(ready, 60, 0.1, 'analysis ok with 3 servers reachable') - 1
            # The audit is the lock holder's (the one that recovers).
            proc, config, log_path = procs[holder], configs[holder], logs[holder]
            res['holder'] = 'c%d' % (holder + 1)
            # Settle into steady-state probing, then kill at a random phase of both
            # periodic timers that decide detection: the controller's poll and the
            # replicas' heartbeat (their relative phase was randomized above).
            time.sleep(a.settle_s + rng.uniform(0, self.jitter_ms / 1000.0))
            pid = L.server(1)['pid']
            sig = SIGNAL[mode]
            kill_ms = now_ms()
            os.kill(pid, sig)
            res['kill_ms'] = kill_ms
            if mode == 'hang':
                stopped_pid = pid

            # Watch the daemon's log (a cheap file read, so the watcher takes little CPU
            # from the failover it times); ask the CLI once the log names the end, or
            # every second in case the log line was missed.
            logf.flush()
            last_cli = [time.monotonic()]

            def finished():
                if proc.poll() is not None:
                    raise DaemonExited('myorch run exited %d' % proc.returncode)
                with open(log_path, 'rb') as f:
                    text = f.read()
                if (b'recovery-done' not in text and b'recovery-failed' not in text
                        and time.monotonic() - last_cli[0] < 1.0):
                    return None
                last_cli[0] = time.monotonic()
                r = self.cli_json(config, 'recoveries')['recoveries']
                return r[0] if r and r[0]['state'] != 'running' else None
            summary = self.wait_for(finished, a.recovery_timeout_s, 0.05, 'the recovery to finish')
            full = self.cli_json(config, 'recoveries', '--id', str(summary['id']))['recoveries'][0]
            res['audit'] = full
            res['state'] = full['state']
            res['new_primary'] = full.get('new_primary')
            for k in ('primary_lost', 'detected', 'started', 'promoted', 'ended'):
                v = full.get(k + '_ms')
                res[k] = v - kill_ms if v else None
            verifies = [s for s in full.get('steps', []) if s['kind'] == 'verify']
            def who(addr):
                i = L.index_of_port(addr.rsplit(':', 1)[-1]) if addr else None
                return 's%d' % i if i else (addr or '')
            res['new_primary_index'] = who(full.get('new_primary'))
            res['steps'] = [(s['kind'], who(s.get('target')), s['started_ms'] - kill_ms,
                             s['ended_ms'] - kill_ms if s.get('ended_ms') else None, s['result'])
                            for s in full.get('steps', [])]
            problems = []
            if full['state'] != 'done':
                problems.append('recovery state %s: %s' % (full['state'], full.get('error') or ''))
            if not verifies:
                problems.append('no verify step in the audit')
            elif any(s['result'] != 'ok' or not s.get('ended_ms') for s in verifies):
                problems.append('verify failed: %s' % '; '.join(
                    '%s %s %s' % (s.get('target'), s['result'], s.get('message') or '')
                    for s in verifies if s['result'] != 'ok'))
            else:
                res['b'] = max(s['ended_ms'] for s in verifies) - kill_ms
            res['a'] = res['promoted']
            if res['a'] is None:
                problems.append('no promoted_ms in the audit')
            # From outside: one writable live server, the other live one replicating from it.
            try:
                p = self.wait_for(lambda: self.healthy(L), 5, 0.1, 'healthy topology')
                res['external_primary'] = L.addr(p)
                if full.get('new_primary') and full['new_primary'] != L.addr(p):
                    problems.append('audit says new primary %s, servers say %s'
                                    % (full['new_primary'], L.addr(p)))
            except RunError as e:
                problems.append('external check: %s' % e)
            if problems:
                raise RunError('; '.join(problems))
            res['ok'] = True
        except (RunError, DaemonExited, lab.LabError, OSError, subprocess.SubprocessError,
                ValueError, KeyError) as e:
            res['error'] = str(e)
        finally:
            if stopped_pid is not None:
                try:
                    os.kill(stopped_pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass
            for pr in procs:
                if pr.poll() is None:
                    pr.terminate()
            for pr in procs:
                try:
                    pr.wait(20)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait()
            if proc is not None:
                res['myorch_exit'] = proc.returncode
            for lf in logfs:
                lf.close()
            if L is not None:
                try:
                    L.down()
                except lab.LabError as e:
                    res.setdefault('error', 'lab down: %s' % e)
                    res['ok'] = False
            res['loadavg_after'] = loadavg()
            if not res['ok'] or self.args.keep_all:
                self.keep(res, tmp, L)
            shutil.rmtree(tmp, ignore_errors=True)
        return res

    def keep(self, res, tmp, L):
        """Keep the daemon log, config, audit and server error logs of a failed run."""
        d = os.path.join(self.args.keep_dir, '%s-%s-%02d' % (res['mode'], res.get('coord', 'none'), res['run']))
        os.makedirs(d, exist_ok=True)
        for src in sorted(f for f in os.listdir(tmp) if f.startswith('myorch')):
            p = os.path.join(tmp, src)
            if os.path.exists(p):
                shutil.copy(p, d)
        for s in (L.servers if L is not None else []):
            if os.path.exists(s['error_log']):
                shutil.copy(s['error_log'], os.path.join(d, 's%d-error.log' % s['index']))
        with open(os.path.join(d, 'result.json'), 'w') as f:
            json.dump({k: v for k, v in res.items() if k != 'tmp'}, f, indent=2, default=str)
        res['kept'] = d


# ---- statistics and output -------------------------------------------------

def nearest_rank(sorted_vals, p):
    """Nearest-rank percentile: the ceil(p/100 * n)-th smallest value (1-based)."""
    if not sorted_vals:
        return None
    k = max(1, math.ceil(p / 100.0 * len(sorted_vals)))
    return sorted_vals[k - 1]


def summarize(results):
    ok = [r for r in results if r['ok']]
    out = {'runs': len(results), 'failures': len(results) - len(ok)}
    for key in ('detected', 'a', 'b'):
        vals = sorted(r[key] for r in ok if r.get(key) is not None)
        out[key] = {p: nearest_rank(vals, p) for p in (50, 90, 99)}
        out[key]['max'] = vals[-1] if vals else None
        out[key]['n'] = len(vals)
    return out


def fmt(v):
    return '-' if v is None else '%d' % v


def table(summaries):
    lines = ['| mode | runs | failures | detection p50 | (a) writable p50 | (a) p90 | (a) p99 '
             '| (b) repointed p50 | (b) p90 | (b) p99 | (b) max |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for mode, s in summaries:
        lines.append('| %s (%s)%s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            mode, SIGNAME[mode], s.get('label', ''), s['runs'], s['failures'], fmt(s['detected'][50]),
            fmt(s['a'][50]), fmt(s['a'][90]), fmt(s['a'][99]),
            fmt(s['b'][50]), fmt(s['b'][90]), fmt(s['b'][99]), fmt(s['b']['max'])))
    return '\n'.join(lines)


def targets_report(summaries):
    lines = []
    for mode, s in summaries:
        for key, p, limit in TARGETS[mode]:
            v = s[key][p]
            verdict = 'no data' if v is None else ('met' if v <= limit else 'MISSED')
            lines.append('- %s: (%s) p%d = %s ms, target <= %d ms: %s' % (mode, key, p, fmt(v), limit, verdict))
    return '\n'.join(lines)


def raw_line(r):
    if not r['ok']:
        return '%s run %2d: FAILED: %s%s' % (r['mode'], r['run'], r.get('error'),
                                            ('  [kept in %s]' % r['kept']) if r.get('kept') else '')
    steps = ' '.join('%s@%s=%s..%s%s' % (k, t, s0, fmt(s1), '' if res == 'ok' else '(%s)' % res)
                     for k, t, s0, s1, res in r['steps'])
    return ('%s%s run %2d: holder=%s lost=%s detected=%s started=%s promoted(a)=%s repointed(b)=%s ended=%s new=%s '
            'load=%s cpu_psi=%s%% | %s'
            % (r['mode'], '' if r.get('coord', 'none') == 'none' else '/etcd', r['run'], r.get('holder', '-'),
               fmt(r['primary_lost']), fmt(r['detected']), fmt(r['started']),
               fmt(r['a']), fmt(r['b']), fmt(r['ended']), r['new_primary_index'],
               r['loadavg_before'][0], r['loadavg_before'][1], steps))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--runs', type=int, default=20, help='runs per mode (default 20)')
    ap.add_argument('--mode', choices=['crash', 'hang', 'both'], default='both')
    ap.add_argument('--build-dir', default=os.path.join(REPO, 'build'),
                    help='directory holding the myorch binary (default: build/)')
    ap.add_argument('--poll-interval-ms', type=int, default=500,
                    help="controller poll_interval_ms (default 500, the controller's default)")
    ap.add_argument('--read-timeout-ms', type=int, default=800)
    ap.add_argument('--slave-net-timeout', type=int, default=2,
                    help="the replicas' slave_net_timeout in s (default 2, the lab's)")
    ap.add_argument('--connect-timeout-ms', type=int, default=800)
    ap.add_argument('--log-level', default='debug', choices=['error', 'warn', 'info', 'debug'])
    ap.add_argument('--settle-s', type=float, default=1.0,
                    help='wait after analysis ok before the kill, plus a random jitter over one '
                         'common period of the poll interval and the 1 s replica heartbeat')
    ap.add_argument('--recovery-timeout-s', type=float, default=30.0)
    ap.add_argument('--seed', type=int, default=1, help='random seed of the settle jitter')
    ap.add_argument('--keep-dir', default=None,
                    help='where logs of failed runs are kept (default: a new /tmp/myorch-fobench-failed-*)')
    ap.add_argument('--keep-all', action='store_true',
                    help='keep the logs of every run in --keep-dir, not only of failed ones')
    ap.add_argument('--json', metavar='FILE', help='also write every run (with its audit) to FILE')
    ap.add_argument('--quick', action='store_true', help='3 runs per mode (smoke check)')
    ap.add_argument('--coordination', choices=['none', 'etcd', 'both'], default='none',
                    help='none: one controller; etcd: --controllers controllers on a 3-member loopback etcd; '
                         'both: the two alternate run by run')
    ap.add_argument('--controllers', type=int, default=3)
    ap.add_argument('--etcd-lease-ttl-ms', type=int, default=2000)
    args = ap.parse_args(argv)
    if args.quick:
        args.runs = 3
    if args.runs < 1:
        ap.error('--runs must be >= 1')
    exe = os.path.join(args.build_dir, 'myorch')
    if not os.access(exe, os.X_OK):
        print('failover_bench: %s not found; build it: cmake -S . -B %s && cmake --build %s --target myorch'
              % (exe, args.build_dir, args.build_dir), file=sys.stderr)
        return 2
    if args.keep_dir is None:
        args.keep_dir = tempfile.mkdtemp(prefix='myorch-fobench-failed-')
    else:
        os.makedirs(args.keep_dir, exist_ok=True)
    modes = ['crash', 'hang'] if args.mode == 'both' else [args.mode]
    b = Bench(args)
    coords = ['none', 'etcd'] if args.coordination == 'both' else [args.coordination]
    etcd_dir = None
    if 'etcd' in coords:
        etcd_dir = tempfile.mkdtemp(prefix='myorch-fobench-etcd-')
        b.etcd = lab.EtcdCluster(etcd_dir)
        b.etcd.up()
    rng = random.Random(args.seed)
    t0 = time.monotonic()
    all_results, summaries = [], []
    try:
        for mode in modes:
            results = {c: [] for c in coords}
            for n in range(1, args.runs + 1):
                for c in coords:
                    r = b.run_one(mode, n, rng, c)
                    results[c].append(r)
                    print(raw_line(r), file=sys.stderr, flush=True)
            for c in coords:
                s = summarize(results[c])
                s['label'] = '' if c == 'none' else ', etcd, %d controllers' % args.controllers
                summaries.append((mode, s))
                all_results += results[c]
    finally:
        if b.etcd is not None:
            b.etcd.down(remove=True)
            shutil.rmtree(etcd_dir, ignore_errors=True)
    elapsed = time.monotonic() - t0
    if args.json:
        with open(args.json, 'w') as f:
            json.dump([{k: v for k, v in r.items() if k != 'tmp'} for r in all_results], f, indent=1,
                      default=str)
    failed = sum(s['failures'] for _, s in summaries)
    print('Failover benchmark: 1 primary + 2 GTID replicas on 127.0.0.1 (fresh lab per run), '
          'poll_interval_ms=%d read_timeout_ms=%d connect_timeout_ms=%d; %s; %.0f s in all.'
          % (args.poll_interval_ms, args.read_timeout_ms, args.connect_timeout_ms,
             '%d cores, %s' % (os.cpu_count(), platform.platform()), elapsed))
    print()
    print('Milliseconds from the signal (wall clock read just before kill()) to: detection '
          '(audit detected_ms), (a) new primary writable (promoted_ms), (b) every replica '
          'repointed and verified (last verify step ended_ms). Percentiles: nearest rank over '
          'the successful runs.')
    print()
    print(table(summaries))
    loads = sorted(r['loadavg_before'][0] for r in all_results if r['loadavg_before'][0] is not None)
    psi = sorted(r['loadavg_before'][1] for r in all_results if r['loadavg_before'][1] is not None)
    if loads:
        print()
        print('Machine load before the runs: 1-min load average median %.1f (max %.1f)%s.'
              % (nearest_rank(loads, 50), loads[-1],
                 '; CPU pressure (PSI some avg10) median %.0f%% (max %.0f%%)'
                 % (nearest_rank(psi, 50), psi[-1]) if psi else ''))
    print()
    print(targets_report(summaries))
    if failed:
        print()
        print('%d run(s) failed; logs kept in %s' % (failed, args.keep_dir))
    elif args.keep_all:
        print()
        print('logs of every run kept in %s' % args.keep_dir)
    elif not os.listdir(args.keep_dir):
        os.rmdir(args.keep_dir)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
