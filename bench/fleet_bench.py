#!/usr/bin/env python3
"""Controller cost on a simulated fleet (issue 17): tests/sim/fleetsim serves the servers, the real
`myorch run` monitors them (clusters of 4, poll 1 s, flavors MySQL 8.0 / 8.4 / MariaDB 10.11 in thirds).

Per fleet size: controller CPU (% of one core, /proc/PID/stat), RSS (VmRSS), probe round trip p50/p99
(myorch_probe_duration_seconds, summed over clusters, interpolated inside buckets), loop work per
iteration p50/p99 (myorch_loop_busy_seconds), loop lag p50/p99 (myorch_loop_lag_seconds: per turn that
fired probe timers, how late the latest of them fired; whole ms, interpolated inside buckets) and the
turns more than 20 ms late, state database writes (/proc/PID/io write_bytes and write
syscalls per second). Then crash failover of single clusters (time from the kill to a healthy cluster
as the simulator sees it: one writable primary, every live server a read-only replica of it with both
threads running; both instants taken by the simulator as they happen (`healed`), the time this script
took to see it by polling is kept as failover_polled_*) and a zone loss (N primaries killed at once).
The failover runs take the flavors in turn, the same mix at every size.

    python3 bench/fleet_bench.py                               # the full matrix (~15 min)
    python3 bench/fleet_bench.py --sizes 100,1000 --seconds 10 --failover-runs 5 --zone 0
Prints a Markdown table; --json FILE keeps every number.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(SRC, 'tests', 'sim'))
import simfleet  # noqa: E402

CLK = os.sysconf('SC_CLK_TCK')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_ticks(pid):
    with open('/proc/%d/stat' % pid) as f:
        w = f.read().rsplit(')', 1)[1].split()
    return int(w[11]) + int(w[12])


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def io(pid):
    out = {}
    try:
        with open('/proc/%d/io' % pid) as f:
            for line in f:
                k, v = line.split(':')
                out[k] = int(v)
    except OSError:
        pass
    return out


def metrics(port):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=120) as r:
            return r.read().decode()
    except OSError as e:
        sys.stderr.write('/metrics: %s\n' % e)
        return ''


def histogram(text, name):
    """Summed cumulative buckets {le: count} of a histogram over all label sets."""
    b = {}
    for m in re.finditer(r'^%s_bucket\{(?:[^}]*,)?le="([^"]+)"\} (\S+)$' % re.escape(name), text, re.M):
        le = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
        b[le] = b.get(le, 0) + float(m.group(2))
    return b


def counter(text, name):
    return sum(float(m.group(1)) for m in re.finditer(r'^%s(?:\{[^}]*\})? (\S+)$' % re.escape(name), text, re.M))


def quantile(before, after, q):
    """q-quantile of the observations between two cumulative histograms (linear inside the bucket)."""
    les = sorted(after)
    cum = [after[le] - before.get(le, 0) for le in les]
    total = cum[-1] if cum else 0
    if total <= 0:
        return None
    want = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in zip(les, cum):
        if c >= want:
            if le == float('inf'):
                return prev_le
            frac = (want - prev_c) / (c - prev_c) if c > prev_c else 1.0
            return prev_le + (le - prev_le) * frac
        prev_le, prev_c = le, c
    return les[-1]


def pct(values, q):
    v = sorted(values)
    if not v:
        return None
    k = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[k]


def myorch(binary, *args, timeout=120):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout)


def status_all(binary, config):
    p = myorch(binary, 'status', '-c', config, '--json')
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)['clusters']


def recoveries(binary, config):
    for _ in range(10):   # a controller busy with 10,000 servers may answer late
        p = myorch(binary, 'recoveries', '-c', config, '--json', '--timeout-ms', '60000', timeout=90)
        if p.returncode == 0:
            return json.loads(p.stdout)['recoveries']
        time.sleep(2)
    raise RuntimeError('recoveries: %s' % p.stderr)


def recoveries_db(path):
    """Every recovery in the audit (the CLI lists the latest 50), read from the state database."""
    import sqlite3
    db = sqlite3.connect('file:%s?mode=ro' % path, uri=True, timeout=30)
    try:
        return [{'cluster': c, 'state': st} for c, st in db.execute('SELECT cluster, state FROM recoveries')]
    finally:
        db.close()


def fleet_spec(n_servers):
    c = max(1, n_servers // 4)
    a = c // 3
    b = c // 3
    return 'mysql80:%d,mysql84:%d,mariadb:%d' % (c - a - b, a, b) if a and b else 'mysql84:%d' % c


FLAVORS = ('mysql80', 'mysql84', 'mariadb')  # the order the failover runs take them in


def runs_per_flavor(kinds, runs):
    """How many of `runs` runs each flavor gets when they take the kinds in turn."""
    return {f: len(range(k, runs, len(kinds))) for k, f in enumerate(kinds)}


def failover_order(clusters, runs):
    """The clusters to fail over, one per run: the flavors in turn (MySQL 8.0, MySQL 8.4, MariaDB, ...),
    each flavor's clusters spread over the fleet, so that every fleet size fails over the same mix
    (before c5d18f1 a MariaDB failover waited 30 ms more, the executor's IO_KILL_SETTLE_MS; with
    index steps, 100 servers failed over 4 MariaDB clusters of 20 and 10,000 servers 6, which moved
    the p50)."""
    by = {}
    for i, c in enumerate(clusters):
        by.setdefault(c[1], []).append(i)
    kinds = [f for f in FLAVORS if f in by] + sorted(f for f in by if f not in FLAVORS)
    want = runs_per_flavor(kinds, runs)
    picks = {}
    for f in kinds:
        v, k = by[f], want[f]
        if k > len(v):  # a cluster failed over twice: its first primary is dead already, nothing to measure
            raise RuntimeError('%d failover runs need %d %s clusters; the fleet has %d (fewer runs, or a larger '
                               'fleet)' % (runs, k, f, len(v)))
        step = max(1, len(v) // max(1, k))
        picks[f] = [v[(j * step + 1) % len(v)] for j in range(k)]
    return [picks[kinds[r % len(kinds)]][r // len(kinds)] for r in range(runs)]


def own_spec(runs):
    """The clusters failed over (one per run, the flavors in turn) as a fleet spec."""
    return ','.join('%s:%d' % (f, n) for f, n in runs_per_flavor(FLAVORS, runs).items() if n)


def run_size(args, n, tmp):
    out = {'servers': n}
    own = None
    if n in args.failover_sizes and args.failover_runs > 0 and args.failover_sim == 'own':
        own = own_spec(args.failover_runs)
        if 4 * args.failover_runs >= n:
            raise RuntimeError('%d failover runs need %d servers of their own: more than the fleet of %d'
                               % (args.failover_runs, 4 * args.failover_runs, n))
    main_n = n - (4 * args.failover_runs if own else 0)
    sim = simfleet.Fleet(args.fleetsim, tmp, fleet_spec(main_n), size=4, rate=args.rate, net_timeout=4,
                         shards=max(1, -(-main_n // 5000)), own=own, nice=args.sim_nice, cpus=args.sim_cpus,
                         own_rt=args.own_sim_rt)
    out['failover_sim'] = 'own' if own else 'shared'
    out['sim_nice'] = args.sim_nice
    out['sim_cpus'] = args.sim_cpus
    out['own_sim_rt'] = bool(own) and args.own_sim_rt
    config = os.path.join(tmp, 'myorch.ini')
    http = free_port()
    sim.myorch_config(config, os.path.join(tmp, 'state'), poll_ms=1000,
                      extra_global='http_listen = 127.0.0.1:%d\n%s' % (http, args.extra_global), log_level='warn')
    log = open(os.path.join(tmp, 'myorch.log'), 'ab')
    d = subprocess.Popen([args.myorch, 'run', '-c', config], stdout=log, stderr=subprocess.STDOUT)
    try:
        t0 = time.monotonic()
        nclusters = len(sim.clusters)
        while True:
            if d.poll() is not None:
                raise RuntimeError('myorch exited %d (see %s)' % (d.returncode, tmp))
            try:
                st = status_all(args.myorch, config)
            except (json.JSONDecodeError, subprocess.TimeoutExpired):
                st = None
            if st and len(st) == nclusters and all(c['recovery']['analysis'] == 'ok' for c in st):
                break
            if time.monotonic() - t0 > args.discover_timeout:
                bad = [c['name'] for c in (st or []) if c['recovery']['analysis'] != 'ok'][:5]
                raise RuntimeError('fleet of %d not discovered in %ds (not ok: %s)' % (n, args.discover_timeout, bad))
            time.sleep(1)
        out['discovery_s'] = round(time.monotonic() - t0, 1)
        time.sleep(args.warmup)
        st0 = sim.stats()
        m0, c0, io0, s0, t_0 = metrics(http), cpu_ticks(d.pid), io(d.pid), sum(cpu_ticks(sh.proc.pid) for sh in sim.shards), time.monotonic()
        time.sleep(args.seconds)
        m1, c1, io1, s1, t_1 = metrics(http), cpu_ticks(d.pid), io(d.pid), sum(cpu_ticks(sh.proc.pid) for sh in sim.shards), time.monotonic()
        dt = t_1 - t_0
        out['cpu_pct'] = round(100.0 * (c1 - c0) / CLK / dt, 1)
        q0, q1 = int(st0['com_query']), int(sim.stats()['com_query'])
        out['sim_probes_per_s'] = round((q1 - q0) / dt, 1)
        out['cpu_ms_per_probe'] = round(1000.0 * (c1 - c0) / CLK / max(1, q1 - q0), 3)
        out['load_avg'] = float(open('/proc/loadavg').read().split()[0])
        out['sim_cpu_pct'] = round(100.0 * (s1 - s0) / CLK / dt, 1)
        out['rss_mib'] = round(rss_kib(d.pid) / 1024.0, 1)
        out['probes_per_s'] = round((counter(m1, 'myorch_probes_total') - counter(m0, 'myorch_probes_total')) / dt, 1)
        h0, h1 = histogram(m0, 'myorch_probe_duration_seconds'), histogram(m1, 'myorch_probe_duration_seconds')
        out['probe_p50_ms'] = round(1000 * (quantile(h0, h1, 0.5) or 0), 2)
        out['probe_p99_ms'] = round(1000 * (quantile(h0, h1, 0.99) or 0), 2)
        l0, l1 = histogram(m0, 'myorch_loop_busy_seconds'), histogram(m1, 'myorch_loop_busy_seconds')
        out['loop_p50_ms'] = round(1000 * (quantile(l0, l1, 0.5) or 0), 2)
        out['loop_p99_ms'] = round(1000 * (quantile(l0, l1, 0.99) or 0), 2)
        g0, g1 = histogram(m0, 'myorch_loop_lag_seconds'), histogram(m1, 'myorch_loop_lag_seconds')
        out['lag_p50_ms'] = round(1000 * (quantile(g0, g1, 0.5) or 0), 2)
        out['lag_p99_ms'] = round(1000 * (quantile(g0, g1, 0.99) or 0), 2)
        out['lag_over_20ms'] = int((g1.get(float('inf'), 0) - g0.get(float('inf'), 0)) -
                                   (g1.get(0.02, 0) - g0.get(0.02, 0)))
        out['db_write_kib_s'] = round((io1.get('write_bytes', 0) - io0.get('write_bytes', 0)) / 1024.0 / dt, 1)
        out['write_syscalls_s'] = round((io1.get('syscw', 0) - io0.get('syscw', 0)) / dt, 1)
        sys.stderr.write('%d servers: %s\n' % (n, json.dumps(out)))

        used = set()
        if n in args.failover_sizes and args.failover_runs > 0:
            times, polled, flavors, detail = [], [], [], []
            if own:  # the clusters in their own simulator process, listed last
                first = len(sim.clusters) - args.failover_runs
                order = [first + k for k in failover_order(sim.clusters[first:], args.failover_runs)]
            else:
                order = failover_order(sim.clusters, args.failover_runs)
            for r, idx in enumerate(order):
                used.add(idx)
                flavors.append(sim.clusters[idx][1])
                old = sim.clusters[idx][2][0]
                t = time.monotonic()
                kill_wall_ms = time.time() * 1000
                sim.ctl('kill', old)
                while True:
                    h = sim.healthy(idx)
                    if h and h != old:
                        break
                    if time.monotonic() - t > 60:
                        raise RuntimeError('cluster %d not recovered in 60 s' % idx)
                    time.sleep(0.005)
                polled.append(time.monotonic() - t)
                killed_at, healed_at = sim.healed([idx])[0]
                if not (healed_at > killed_at > 0):
                    raise RuntimeError('cluster %d: the simulator has no kill/heal times (%s, %s)'
                                       % (idx, killed_at, healed_at))
                times.append(healed_at - killed_at)
                # The simulator's instants are CLOCK_MONOTONIC (Python's monotonic clock here); the
                # controller's audit is in wall-clock ms: the same instants on that clock, to join them
                # (bench/failover_phases.py).
                mono_to_wall = time.time() - time.monotonic()
                detail.append({'cluster': sim.clusters[idx][0], 'flavor': sim.clusters[idx][1],
                               'kill_wall_ms': round(kill_wall_ms, 1), 'ms': round(1000 * times[-1], 1),
                               'polled_ms': round(1000 * polled[-1], 1),
                               'killed_wall_ms': round(1000 * (killed_at + mono_to_wall), 1),
                               'healed_wall_ms': round(1000 * (healed_at + mono_to_wall), 1)})
                time.sleep(args.failover_gap)
            out['failover_runs'] = len(times)
            by = {}
            for f, t in zip(flavors, times):
                by.setdefault(f, []).append(t)
            out['failover_by_flavor'] = {f: {'runs': len(v), 'p50_ms': round(1000 * pct(v, 0.5)),
                                             'max_ms': round(1000 * max(v))} for f, v in sorted(by.items())}
            out['failover_p50_ms'] = round(1000 * pct(times, 0.5))
            out['failover_p99_ms'] = round(1000 * pct(times, 0.99))
            out['failover_max_ms'] = round(1000 * max(times))
            out['failover_detail'] = detail
            out['failover_polled_p50_ms'] = round(1000 * pct(polled, 0.5))
            out['failover_polled_p99_ms'] = round(1000 * pct(polled, 0.99))
            sys.stderr.write('%d servers: failover p50 %s ms p99 %s ms (as polled: %s / %s ms); by flavor %s\n'
                             % (n, out['failover_p50_ms'], out['failover_p99_ms'], out['failover_polled_p50_ms'],
                                out['failover_polled_p99_ms'], json.dumps(out['failover_by_flavor'])))

        if n == args.zone_size and args.zone > 0:
            cand = [i for i in range(nclusters) if i not in used]
            stride = max(1, len(cand) // args.zone)
            victims = cand[::stride][:args.zone]
            olds = {i: sim.clusters[i][2][0] for i in victims}
            t = time.monotonic()
            sim.ctl('kill', *olds.values())
            pending = set(victims)
            last = None
            while pending:
                idx = sorted(pending)
                for i, h in zip(idx, sim.healthy_many(idx)):
                    if h and h != olds[i]:
                        pending.discard(i)
                        last = time.monotonic() - t
                if time.monotonic() - t > args.zone_timeout:
                    break
                time.sleep(0.02)
            out['zone_killed'] = len(victims)
            out['zone_recovered'] = len(victims) - len(pending)
            out['zone_last_polled_s'] = round(last, 2) if last is not None else None
            healed = sim.healed(victims)
            out['zone_last_s'] = (round(max(h for _, h in healed) - min(k for k, _ in healed), 3)
                                  if not pending and all(h > k > 0 for k, h in healed) else None)
            sys.stderr.write('%d servers: zone loss: %d of %d recovered, last %s s after the kill (as polled: %s s)\n'
                             % (n, out['zone_recovered'], len(victims), out['zone_last_s'], out['zone_last_polled_s']))
            time.sleep(2)
            dbp = os.path.join(tmp, 'state', 'state.db')
            t_wait = time.monotonic()
            recs = recoveries_db(dbp)
            while any(r['state'] == 'running' for r in recs) and time.monotonic() - t_wait < 120:
                time.sleep(1)
                recs = recoveries_db(dbp)
            states = {}
            for r in recs:
                states[r['state']] = states.get(r['state'], 0) + 1
            out['zone_recovery_states'] = states
            names = {sim.clusters[i][0] for i in victims} | {sim.clusters[i][0] for i in used}
            per = {}
            for r in recs:
                per.setdefault(r['cluster'], []).append(r)
            out['zone_two_recoveries_on_a_cluster'] = sum(1 for v in per.values() if len(v) > 1)
            out['zone_recoveries_elsewhere'] = sum(1 for k in per if k not in names)
            out['zone_forgotten'] = sum(1 for i in victims if sim.clusters[i][0] not in per)
            out['zone_not_done'] = sum(1 for v in per.values() for r in v if not r['state'].startswith('done'))
            sys.stderr.write('%d servers: zone loss %s\n' % (n, json.dumps({k: v for k, v in out.items() if k.startswith('zone')})))
        st = sim.stats()
        out['sim_unknown_statements'] = int(st['unknown'])
        if out['sim_unknown_statements']:
            sys.stderr.write('fleetsim: unmodelled statements, last: %s\n' % st['last_unknown'])
    finally:
        d.terminate()
        try:
            d.wait(60)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()
        log.close()
        sim.stop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build-dir', default=os.path.join(SRC, 'build'))
    ap.add_argument('--sizes', default='100,1000,5000,10000')
    ap.add_argument('--seconds', type=float, default=20)
    ap.add_argument('--warmup', type=float, default=3)
    ap.add_argument('--rate', type=float, default=1.0, help='writes/s on each primary')
    ap.add_argument('--failover-sizes', default='100,10000')
    ap.add_argument('--failover-runs', type=int, default=20)
    ap.add_argument('--failover-gap', type=float, default=0.3)
    ap.add_argument('--sim-nice', type=int, default=0,
                    help='run the simulator processes (not --failover-sim own\'s) at this nice level: the '
                         'simulated fleet yields the CPU to the controller, as servers on other machines would')
    ap.add_argument('--sim-cpus', default=None, metavar='LIST',
                    help='run every simulator process (the own one too) on these CPUs only (taskset -c LIST, '
                         'e.g. 0): the controller has the others to itself, as it would with the servers on '
                         'machines of their own')
    ap.add_argument('--own-sim-rt', action='store_true',
                    help="with --failover-sim own: that simulator runs under SCHED_FIFO (chrt -f 1, root): the "
                         "failed-over clusters' servers answer at once, as on machines of their own, instead of "
                         "waiting for a CPU behind the simulated fleet (perf sched: up to 3-5 ms at 10,000 "
                         "servers)")
    ap.add_argument('--failover-sim', choices=('own', 'shared'), default='shared',
                    help='own: the clusters failed over are served by a simulator process of their own (the '
                         'controller still probes the whole fleet), so that their statements do not queue behind '
                         'thousands of simulated servers on the same two cores; shared: among the others')
    ap.add_argument('--zone', type=int, default=250, help='primaries killed at once (0: skip)')
    ap.add_argument('--zone-size', type=int, default=10000)
    ap.add_argument('--zone-timeout', type=float, default=120)
    ap.add_argument('--discover-timeout', type=float, default=600)
    ap.add_argument('--extra-global', default='', help='extra [myorch] lines, e.g. "max_concurrent_recoveries = 50"')
    ap.add_argument('--json')
    ap.add_argument('--keep', action='store_true')
    args = ap.parse_args()
    args.myorch = os.path.join(args.build_dir, 'myorch')
    args.fleetsim = os.path.join(args.build_dir, 'fleetsim')
    args.failover_sizes = {int(x) for x in args.failover_sizes.split(',') if x}
    args.extra_global = args.extra_global.replace('\\n', '\n')
    rows = []
    for n in [int(x) for x in args.sizes.split(',')]:
        tmp = tempfile.mkdtemp(prefix='fleet-bench-%d-' % n)
        try:
            rows.append(run_size(args, n, tmp))
            if args.json:
                with open(args.json, 'w') as f:
                    json.dump(rows, f, indent=1)
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)
    cols = [('servers', 'servers'), ('load_avg', 'machine load'), ('discovery_s', 'discovered (s)'),
            ('cpu_pct', 'CPU % of a core'), ('cpu_ms_per_probe', 'CPU ms/probe'), ('sim_probes_per_s', 'probes/s (sim)'),
            ('rss_mib', 'RSS MiB'), ('probes_per_s', 'probes/s'), ('probe_p50_ms', 'probe p50 ms'),
            ('probe_p99_ms', 'probe p99 ms'), ('loop_p50_ms', 'loop work p50 ms'), ('loop_p99_ms', 'loop work p99 ms'),
            ('lag_p50_ms', 'loop lag p50 ms'), ('lag_p99_ms', 'loop lag p99 ms'), ('lag_over_20ms', 'turns > 20 ms late'),
            ('db_write_kib_s', 'writes KiB/s'), ('write_syscalls_s', 'write calls/s'), ('sim_cpu_pct', 'sim CPU %'),
            ('failover_p50_ms', 'failover p50 ms'), ('failover_p99_ms', 'failover p99 ms')]
    print('| ' + ' | '.join(c[1] for c in cols) + ' |')
    print('|' + '---|' * len(cols))
    for r in rows:
        print('| ' + ' | '.join('' if r.get(k) is None else str(r.get(k)) for k, _ in cols) + ' |')
    for r in rows:
        if 'zone_killed' in r:
            print('\nzone loss among %d servers: %d primaries killed at once, %d recovered, last recovery %s s after '
                  'the kill; clusters with two recoveries: %d, recoveries on other clusters: %d, forgotten: %d, '
                  'not done: %d' % (r['servers'], r['zone_killed'], r['zone_recovered'], r['zone_last_s'],
                                    r['zone_two_recoveries_on_a_cluster'], r['zone_recoveries_elsewhere'],
                                    r['zone_forgotten'], r['zone_not_done']))
    return 0 if all(r.get('sim_unknown_statements', 0) == 0 for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
