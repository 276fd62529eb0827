#!/usr/bin/env python3
"""Client-visible write gap through HAProxy on a primary crash.

Each run: a fresh 3-server MariaDB lab on loopback (semi-sync on), a real HAProxy
(Debian package) in front of it with the shipped myorch-haproxy hook as the
controller's post_failover and on_topology_change hook, tests/tools/seqwriter
inserting sequence numbers through HAProxy's writer port as fast as it can, then
`kill -9` of the primary. The gap is the writer's own measure: from its last
acknowledged insert before the crash to its first one after (on the new primary,
through HAProxy). Every acknowledged row must be on the new primary.

  python3 bench/haproxy_failover_bench.py [--runs 20] [--build-dir build]

Prints a Markdown table with p50/p90/p99/max (nearest rank).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration'))
import lab  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    k = max(1, -(-len(xs) * p // 100))
    return xs[int(k) - 1]


def one_run(build, poll_ms):
    os.environ['MYORCH_BIN'] = os.path.join(build, 'myorch')
    import harness
    tmp = tempfile.mkdtemp(prefix='myorch-hpbench-')
    L = lab.Lab(os.path.join(tmp, 'lab'), base_port=lab.free_base_port(count=8))
    front = daemon = writer = None
    try:
        L.up(servers=3, semi_sync=True)
        front = harness.HAProxyFront(tmp, [L.addr(i) for i in (1, 2, 3)])
        hook = front.hook_command(max_lag_s=10)
        cfg = os.path.join(tmp, 'myorch.ini')
        with open(cfg, 'w') as f:
            f.write(f"""[myorch]
state_dir = {tmp}/state
poll_interval_ms = {poll_ms}
[cluster.lab]
seeds = {L.addr(2)}
user = myorch
password_file = {L.myorch_password_file}
replication_user = repl
replication_password_file = {L.repl_password_file}
post_failover = {hook}
on_topology_change = {hook}
""")
        os.chmod(cfg, 0o600)
        daemon = harness.Daemon(cfg)
        harness.wait_for(lambda: json.loads(harness.myorch('status', '-c', cfg, '--json').stdout)['clusters'][0]
                         ['recovery']['analysis'] == 'ok', what='analysis ok')
        out = os.path.join(tmp, 'writer.json')
        writer = subprocess.Popen([os.path.join(build, 'seqwriter'), '--target', '127.0.0.1:%d' % front.port_w,
                                   '--user', 'app', '--password-file', L.app_password_file, '--out', out,
                                   '--gap-threshold-ms', '5'])
        time.sleep(1.5)
        kill_ms = int(time.time() * 1000)
        L.kill(1, 'KILL', wait=False)
        harness.wait_for(lambda: json.loads(harness.myorch('recoveries', '-c', cfg, '--json').stdout)['recoveries']
                         and json.loads(harness.myorch('recoveries', '-c', cfg, '--json').stdout)['recoveries'][0]
                         ['state'] != 'running', timeout=60, what='recovery done')
        time.sleep(1.5)
        writer.terminate()
        writer.wait(30)
        with open(out) as f:
            w = json.load(f)
        writer = None
        rec = json.loads(harness.myorch('recoveries', '-c', cfg, '--json').stdout)['recoveries'][0]
        newp = L.index_of_port(int(rec['new_primary'].rsplit(':', 1)[1]))
        have = set(int(x[0]) for x in L.sql(newp, 'SELECT n FROM lab.seq'))
        missing = sum(1 for lo, hi in w['acked_ranges'] for n in range(lo, hi + 1) if n not in have)
        gaps = [g for g in w['gaps'] if g[0] <= kill_ms + 50 and g[0] + g[1] >= kill_ms]
        gap = max(g[1] for g in gaps) if gaps else None
        return {'gap_ms': gap, 'promoted_ms': rec['promoted_ms'] - kill_ms, 'missing': missing,
                'acked': w['acked'], 'state': rec['state']}
    finally:
        if writer:
            writer.kill()
        if daemon:
            daemon.stop()
        if front:
            front.stop()
        L.down()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--build-dir', default=os.path.join(REPO, 'build'))
    ap.add_argument('--poll-interval-ms', type=int, default=500)
    a = ap.parse_args()
    gaps, prom, bad = [], [], 0
    for i in range(a.runs):
        r = one_run(a.build_dir, a.poll_interval_ms)
        print('run %2d: %s' % (i + 1, r), file=sys.stderr)
        if r['gap_ms'] is None or r['missing'] or r['state'] not in ('done', 'done-hooks-failed'):
            bad += 1
            continue
        gaps.append(r['gap_ms'])
        prom.append(r['promoted_ms'])
    print()
    print('HAProxy failover benchmark: %d runs, 3 MariaDB servers (semi-sync) behind HAProxy 2.6 on loopback, '
          'poll_interval_ms=%d, kill -9 of the primary' % (a.runs, a.poll_interval_ms))
    print()
    print('| measure | runs | p50 ms | p90 ms | p99 ms | max ms |')
    print('|---|---|---|---|---|---|')
    for name, xs in (('write gap seen by the client through HAProxy', gaps),
                     ('kill -9 → new primary writable (audit)', prom)):
        if xs:
            print('| %s | %d | %d | %d | %d | %d |' % (name, len(xs), pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs)))
    print()
    print('failed runs (no gap found, rows missing, or recovery failed): %d' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
