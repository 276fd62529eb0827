#!/usr/bin/env python3
"""Where a fleet_bench failover's time goes: each run of `fleet_bench.py --keep --json F` joined with the
controller's recovery audit (its state database, kept in the bench's directory).

    python3 bench/fleet_bench.py --sizes 10000 --failover-runs 20 --zone 0 --keep --json r.json
    python3 bench/failover_phases.py r.json /tmp/fleet-bench-10000-XXXX

Phases, in wall-clock ms (the simulator's instants converted by fleet_bench, the audit's as recorded):
  seen      the kill (simulator) -> the controller's probe engine took the primary's loss (primary_lost_ms)
  confirm   -> the failure confirmed by the replicas (detected_ms)
  launch    -> the recovery started (started_ms)
  writable  -> the new primary writable (promoted_ms)
  end       -> the recovery recorded done (ended_ms)
  healed    the kill -> the cluster healthy as the simulator saw it (the bench's failover time)
The audit's instants are whole milliseconds: a phase of 0 is under 1 ms.
"""
import argparse
import glob
import json
import os
import sqlite3
import sys

PHASES = ('seen', 'confirm', 'launch', 'writable', 'end', 'healed')


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('result', help="fleet_bench.py's --json file")
    ap.add_argument('dir', help="the bench's kept directory of that size (--keep)")
    ap.add_argument('--servers', type=int, help='the fleet size in the JSON (default: the one with runs)')
    args = ap.parse_args()

    sizes = [r for r in json.load(open(args.result)) if r.get('failover_detail')]
    if args.servers:
        sizes = [r for r in sizes if r['servers'] == args.servers]
    if not sizes:
        sys.exit('%s: no failover runs%s' % (args.result, ' at %d servers' % args.servers if args.servers else ''))
    runs = sizes[-1]['failover_detail']
    if 'killed_wall_ms' not in runs[0]:
        sys.exit('%s: made by an older fleet_bench.py (no killed_wall_ms): run the bench again' % args.result)
    db = os.path.join(args.dir, 'state', 'state.db')
    if not os.path.exists(db):
        sys.exit('%s: no state database (was the bench run with --keep?)' % db)
    c = sqlite3.connect('file:%s?mode=ro' % db, uri=True)
    rows = []
    for r in runs:
        k = r['killed_wall_ms']
        q = c.execute('SELECT primary_lost_ms, detected_ms, started_ms, promoted_ms, ended_ms FROM recoveries '
                      'WHERE cluster = ? AND started_ms >= ? ORDER BY id LIMIT 1', (r['cluster'], int(k) - 5)).fetchone()
        if not q or None in q:
            sys.exit('cluster %s: no finished recovery after its kill in %s' % (r['cluster'], db))
        lost, det, st, prom, end = q
        rows.append((r['cluster'], r['flavor'], {'seen': lost - k, 'confirm': det - lost, 'launch': st - det,
                                                 'writable': prom - st, 'end': end - prom, 'healed': r['ms']}))
    print('| cluster | flavor | ' + ' | '.join(PHASES) + ' |')
    print('|---|---|' + '---|' * len(PHASES))
    for cl, fl, ph in rows:
        print('| %s | %s | %s |' % (cl, fl, ' | '.join('%.1f' % ph[p] for p in PHASES)))
    for name, q in (('p50', 0.5), ('p90', 0.9), ('max', 1.0)):
        print('| **%s** | | %s |' % (name, ' | '.join('%.1f' % pct([ph[p] for _, _, ph in rows], q) for p in PHASES)))


if __name__ == '__main__':
    main()
