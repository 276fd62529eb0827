#!/usr/bin/env python3
"""Run bench/probe_bench against a lab of real mariadbd servers and print a
Markdown table (stdlib only). See bench/README.md.

    python3 bench/run_probe_bench.py [--build-dir DIR] [--servers 4] [--quick]

Starts M lab servers on 127.0.0.1 (tests/lab/lab.py), raises their
max_connections as root, runs probe_bench for every (instances, interval) of the
matrix, prints one human line per run on stderr and the table on stdout, and
always stops the lab. Exit status: 0 if every run completed without probe
failures, 1 otherwise, 2 for a bad command line or a missing/failed build.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))
import lab  # noqa: E402

DEFAULT_INSTANCES = [100, 500, 1000]
DEFAULT_INTERVALS = [10, 50, 100]

TARGET_PER_CORE = 10000   # instance-probes per CPU-second of the engine's process
TARGET_RSS_KIB = 64       # RSS per monitored instance


def int_list(text):
    try:
        v = [int(x) for x in text.split(',') if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError('expected comma-separated integers, got %r' % text)
    if not v or any(x <= 0 for x in v):
        raise argparse.ArgumentTypeError('expected positive integers, got %r' % text)
    return v


def find_or_build(build_dir, no_build):
    exe = os.path.join(build_dir, 'probe_bench')
    if no_build:
        if not os.access(exe, os.X_OK):
            sys.exit('run_probe_bench: %s not found (build it, or drop --no-build)' % exe)
        return exe
    if not os.path.exists(os.path.join(build_dir, 'CMakeCache.txt')):
        r = subprocess.run(['cmake', '-S', REPO, '-B', build_dir, '-DCMAKE_BUILD_TYPE=Release'])
        if r.returncode:
            sys.exit(2)
    r = subprocess.run(['cmake', '--build', build_dir, '-j2', '--target', 'probe_bench'],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        sys.stderr.write(r.stdout[-4000:])
        sys.stderr.write('run_probe_bench: building probe_bench in %s failed (see above)\n'
                         % build_dir)
        sys.exit(2)
    return exe


def proc_cpu_s(pid):
    """utime+stime of a process, in seconds (None if gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        fields = s[s.rindex(')') + 2:].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')
    except (OSError, ValueError, IndexError):
        return None


def servers_cpu_s(L):
    total = 0.0
    for s in L.servers:
        v = proc_cpu_s(s.get('pid') or 0)
        if v is not None:
            total += v
    return total


def run_one(exe, L, args, n, interval):
    targets = []
    for s in L.servers:
        targets += ['--target', '127.0.0.1:%d' % s['port']]
    cmd = [exe] + targets + [
        '--user', 'myorch', '--password-file', L.myorch_password_file,
        '--instances', str(n), '--interval-ms', str(interval),
        '--seconds', str(args.seconds), '--warmup-s', str(args.warmup),
        '--connect-timeout-ms', str(args.connect_timeout_ms),
        '--read-timeout-ms', str(args.read_timeout_ms),
        '--connect-wait-s', str(args.connect_wait),
    ]
    cpu0 = servers_cpu_s(L)
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=args.connect_wait + args.warmup + args.seconds + 120)
    except subprocess.TimeoutExpired as e:
        return {'result': 'hung', 'instances': n, 'interval_ms': interval,
                'stderr': (e.stderr or '')[-2000:] if isinstance(e.stderr, str) else ''}
    wall = time.monotonic() - t0
    server_cpu = servers_cpu_s(L) - cpu0
    res = None
    for line in reversed(r.stdout.splitlines()):
        if line.startswith('{'):
            try:
                res = json.loads(line)
            except ValueError:
                pass
            break
    if res is None:
        res = {'result': 'crashed', 'instances': n, 'interval_ms': interval}
    res['exit_code'] = r.returncode
    res['stderr'] = r.stderr[-3000:]
    res['human'] = '\n'.join(l for l in r.stdout.splitlines() if l.startswith('#'))
    res['run_wall_s'] = wall
    total = (res.get('engine_total') or {}).get('probes_ok')
    if total:
        # Server CPU over the whole run (setup, warm-up, window) per probe batch served.
        res['server_cpu_us_per_probe'] = server_cpu * 1e6 / total
        res['server_cpu_util'] = server_cpu / wall if wall > 0 else 0
    return res


def fmt(v, spec):
    return '-' if v is None else format(v, spec)


def table(results):
    head = ('| instances | interval ms | demand probes/s | probes/s | probes per CPU-s (per core) '
            '| CPU µs/probe | bench CPU % | RSS KiB/instance | latency p50 / p99 ms '
            '| server CPU µs/probe | failures |')
    lines = [head, '|' + '---|' * head.count(' | ') + '---|']
    for r in results:
        fails = r.get('probes_failed')
        if r.get('result') not in ('ok', 'failed'):
            fails_s = r.get('result', '?')
            if r.get('result') == 'connect_failed':
                fails_s = 'connect: %s never probed' % r.get('never_probed')
        else:
            fails_s = str(fails)
            if r.get('probes_ok_empty'):
                fails_s += ' (+%d empty)' % r['probes_ok_empty']
        lat = '-'
        if r.get('latency_ms_p50') is not None:
            lat = '%d / %d' % (r['latency_ms_p50'], r['latency_ms_p99'])
        util = r.get('cpu_util')
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            r.get('instances'), r.get('interval_ms'),
            fmt(r.get('demand_probes_per_s'), '.0f'), fmt(r.get('probes_per_s'), '.0f'),
            fmt(r.get('probes_per_cpu_s'), '.0f'), fmt(r.get('cpu_us_per_probe'), '.1f'),
            fmt(util * 100 if util is not None else None, '.0f'),
            fmt(r.get('rss_kib_per_instance'), '.1f'), lat,
            fmt(r.get('server_cpu_us_per_probe'), '.0f'), fails_s))
    return '\n'.join(lines)


def environment(L):
    try:
        ver = L.sql_value(1, 'SELECT VERSION()')
    except Exception:  # noqa: BLE001 - informative only
        ver = '?'
    debian = ''
    try:
        with open('/etc/debian_version') as f:
            debian = ' Debian ' + f.read().strip()
    except OSError:
        pass
    return '%d cores, %s %s%s, MariaDB %s on loopback, %d servers' % (
        os.cpu_count() or 0, platform.system(), platform.release(), debian, ver, len(L.servers))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--build-dir', default=os.path.join(REPO, 'build'),
                   help='CMake build directory holding probe_bench (built/configured if needed; '
                        'default: build/ in the repository)')
    p.add_argument('--no-build', action='store_true', help='use the existing binary as is')
    p.add_argument('--servers', type=int, default=4, help='lab servers (default 4)')
    p.add_argument('--instances', type=int_list, default=None,
                   help='comma-separated instance counts (default 100,500,1000)')
    p.add_argument('--intervals', type=int_list, default=None,
                   help='comma-separated probe intervals in ms (default 10,50,100)')
    p.add_argument('--seconds', type=int, default=10, help='measured seconds per run (default 10)')
    p.add_argument('--warmup', type=int, default=2, help='warm-up seconds per run (default 2)')
    p.add_argument('--connect-timeout-ms', type=int, default=30000,
                   help='engine connect timeout (default 30000, see README)')
    p.add_argument('--read-timeout-ms', type=int, default=30000,
                   help='engine probe timeout (default 30000, see README)')
    p.add_argument('--connect-wait', type=int, default=90,
                   help='seconds to wait for every instance to connect (default 90)')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: one row (100 instances, 100 ms, 3 s)')
    p.add_argument('--json', metavar='FILE', help='also write every run\'s full JSON here')
    p.add_argument('--lab-dir', help='lab directory (default: a new temporary directory)')
    args = p.parse_args(argv)
    if args.servers < 1:
        p.error('--servers must be >= 1')

    instances = args.instances or DEFAULT_INSTANCES
    intervals = args.intervals or DEFAULT_INTERVALS
    if args.quick:
        instances = args.instances or [100]
        intervals = args.intervals or [100]
        args.seconds = min(args.seconds, 3)
        args.warmup = min(args.warmup, 1)

    exe = find_or_build(os.path.abspath(args.build_dir), args.no_build)

    lab_dir = args.lab_dir or tempfile.mkdtemp(prefix='myorch-bench-')
    L = lab.Lab(lab_dir, base_port=lab.free_base_port(count=args.servers))
    results = []
    rc = 0
    try:
        t0 = time.monotonic()
        L.up(servers=args.servers)
        per_server = -(-max(instances) // args.servers)
        # Room for the benchmark's connections plus replication and reconnect churn.
        max_conn = max(200, 2 * per_server + 100)
        for s in L.servers:
            L.sql(s['index'], 'SET GLOBAL max_connections=%d' % max_conn)
        env = environment(L)
        sys.stderr.write('lab up in %.1fs: %s; max_connections=%d\n'
                         % (time.monotonic() - t0, env, max_conn))
        for n in instances:
            for interval in intervals:
                r = run_one(exe, L, args, n, interval)
                results.append(r)
                sys.stderr.write((r.get('human') or '# %s: %s' % ((n, interval), r.get('result')))
                                 + '\n')
                if r.get('exit_code') != 0:
                    rc = 1
                    if r.get('stderr'):
                        sys.stderr.write(''.join('    ' + l + '\n'
                                                 for l in r['stderr'].splitlines()[:12]))
        print('Measured: %s, %s, %d s per run after %d s warm-up, connect/read timeout %d/%d ms.'
              % (time.strftime('%Y-%m-%d'), env, args.seconds, args.warmup,
                 args.connect_timeout_ms, args.read_timeout_ms))
        print()
        print(table(results))
        ok = [r for r in results if r.get('probes_per_cpu_s')]
        if ok:
            best = max(r['probes_per_cpu_s'] for r in ok)
            worst_rss = max(r['rss_kib_per_instance'] for r in ok)
            print()
            print('Targets: >= %d instance-probes/s per core: best %.0f (%s); '
                  '<= %d KiB RSS per instance: worst %.1f (%s).'
                  % (TARGET_PER_CORE, best, 'met' if best >= TARGET_PER_CORE else 'MISSED',
                     TARGET_RSS_KIB, worst_rss,
                     'met' if worst_rss <= TARGET_RSS_KIB else 'MISSED'))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump({'environment': env, 'runs': results}, f, indent=1)
    finally:
        L.down()
        if not args.lab_dir:
            shutil.rmtree(lab_dir, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
