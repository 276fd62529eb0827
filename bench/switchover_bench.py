#!/usr/bin/env python3
"""Switchover benchmark: how long writes are refused during a graceful switchover.

One lab of 3 MariaDB servers on loopback (1 primary + 2 GTID replicas), a
controller, and tests/tools/seqwriter inserting sequence numbers as fast as it
can, always into the writable server (--follow). Then N switchovers in a row
(`myorch switchover`, to the best candidate each time). For each run:

  server side  writes_refused_ms from the controller: from the start of the
               demote step (old primary set read-only) to the end of the
               set-writable step on the new primary.
  client side  the writer's longest gap between two acknowledged inserts around
               that switchover (includes noticing the error, reconnecting and
               finding the new writable server: what an application sees
               without a proxy).

At the end every acknowledged row must be on the final primary, once.
Prints a Markdown table of p50/p90/p99/max (nearest-rank percentiles).

  python3 bench/switchover_bench.py [--runs 20] [--build-dir build]
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
import lab  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float('nan')
    k = max(1, -(-len(xs) * p // 100))  # nearest rank
    return xs[int(k) - 1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=int, default=20)
    ap.add_argument('--build-dir', default=os.path.join(REPO, 'build'))
    ap.add_argument('--poll-interval-ms', type=int, default=500)
    args = ap.parse_args()
    myorch = os.path.join(args.build_dir, 'myorch')
    writer_bin = os.path.join(args.build_dir, 'seqwriter')
    for b in (myorch, writer_bin):
        if not os.access(b, os.X_OK):
            sys.exit('missing %s: build first (cmake --build %s)' % (b, args.build_dir))
    tmp = tempfile.mkdtemp(prefix='myorch-swbench-')
    L = lab.Lab(os.path.join(tmp, 'lab'), base_port=lab.free_base_port(count=8))
    daemon = writer = None
    server, client = [], []
    failures = 0
    try:
        L.up(servers=3)
        cfg = os.path.join(tmp, 'myorch.ini')
        with open(cfg, 'w') as f:
            f.write(f"""[myorch]
state_dir = {tmp}/state
poll_interval_ms = {args.poll_interval_ms}
[cluster.lab]
seeds = {L.addr(1)}
user = myorch
password_file = {L.myorch_password_file}
replication_user = repl
replication_password_file = {L.repl_password_file}
""")
        os.chmod(cfg, 0o600)
        log = open(os.path.join(tmp, 'daemon.log'), 'wb')
        daemon = subprocess.Popen([myorch, 'run', '-c', cfg], stdout=log, stderr=subprocess.STDOUT)

        def status():
            p = subprocess.run([myorch, 'status', '-c', cfg, '--json'], capture_output=True, text=True)
            return json.loads(p.stdout)['clusters'][0] if p.returncode == 0 else None

        def wait_ok(timeout=60):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                s = status()
                if s and s['recovery']['analysis'] == 'ok' and s['reachable'] == 3:
                    return s
                time.sleep(0.1)
            raise RuntimeError('cluster not ok: %r' % status())

        wait_ok()
        out = os.path.join(tmp, 'writer.json')
        writer = subprocess.Popen([writer_bin, '--target', ','.join(L.addr(i) for i in (1, 2, 3)), '--user', 'app',
                                   '--password-file', L.app_password_file, '--follow', '--out', out,
                                   '--gap-threshold-ms', '20'])
        time.sleep(1.0)
        windows = []
        for run in range(args.runs):
            wait_ok()
            time.sleep(0.5)
            t0 = int(time.time() * 1000)
            p = subprocess.run([myorch, 'switchover', '-c', cfg, '--json'], capture_output=True, text=True, timeout=120)
            t1 = int(time.time() * 1000)
            r = json.loads(p.stdout) if p.stdout.strip() else {}
            if p.returncode != 0 or r.get('state') != 'done':
                failures += 1
                print('run %d failed: %s %s' % (run + 1, p.stderr.strip(), r.get('error')), file=sys.stderr)
                continue
            server.append(r['writes_refused_ms'])
            windows.append((t0, t1 + 2000))
            print('run %2d: %s -> %s, writes refused %d ms' % (run + 1, r['old_primary'], r['new_primary'],
                                                              r['writes_refused_ms']), file=sys.stderr)
        time.sleep(1.0)
        writer.terminate()
        writer.wait(30)
        with open(out) as f:
            w = json.load(f)
        writer = None
        for (a, b) in windows:
            gaps = [g[1] for g in w['gaps'] if a - 1000 <= g[0] <= b]
            client.append(max(gaps) if gaps else 0)
        final = status()['primary']
        idx = L.index_of_port(int(final.rsplit(':', 1)[1]))
        have = set(int(x[0]) for x in L.sql(idx, 'SELECT n FROM lab.seq'))
        missing = sum(1 for lo, hi in w['acked_ranges'] for n in range(lo, hi + 1) if n not in have)
        print()
        print('Switchover benchmark: %d runs, 3 MariaDB %s servers on loopback, writer at full speed (--follow)'
              % (args.runs, L.sql_value(1, 'SELECT VERSION()')))
        print()
        print('| measure | runs | p50 ms | p90 ms | p99 ms | max ms |')
        print('|---|---|---|---|---|---|')
        for name, xs in (('writes refused (server: demote → new primary writable)', server),
                         ('writer gap (client: last OK on old → first OK on new)', client)):
            print('| %s | %d | %d | %d | %d | %d |' % (name, len(xs), pct(xs, 50), pct(xs, 90), pct(xs, 99), max(xs or [0])))
        print()
        print('rows acknowledged: %d, missing on the final primary: %d, duplicates refused on retry: %d, failed runs: %d'
              % (w['acked'], missing, w['dup_on_retry'], failures))
        return 1 if failures or missing else 0
    finally:
        if writer:
            writer.kill()
        if daemon:
            daemon.terminate()
            try:
                daemon.wait(20)
            except subprocess.TimeoutExpired:
                daemon.kill()
        L.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
