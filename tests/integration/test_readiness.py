"""Failover readiness (issue 16) and the switchover drill on a real lab (3 mariadbd)."""
import json
import os
import sys
import time
import urllib.request

import harness
from harness import ClusterTest, myorch, wait_for, free_tcp_port


def readiness(t):
    return t.status()['readiness']


class Readiness(ClusterTest):
    def extra_cluster(self):
        self.hook_out = os.path.join(self.tmp, 'topology.txt')
        return ("ready_max_lag_s = 1\n"
                "on_topology_change = sh -c 'echo $MYORCH_EVENT >> %s'\n" % self.hook_out)

    def hook_events(self):
        try:
            with open(self.hook_out) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def extra_global(self):
        self.http_port = free_tcp_port()
        return 'http_listen = 127.0.0.1:%d\n' % self.http_port

    def metrics(self):
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % self.http_port, timeout=10) as r:
            return r.read().decode()

    def test_ready_then_not_with_the_reason(self):
        replicas = {self.lab.addr(2), self.lab.addr(3)}
        r = wait_for(lambda: (lambda x: x if x['failover_ready'] else None)(readiness(self)),
                     what='failover ready on a healthy lab')
        self.assertIn(r['candidate'], replicas)
        self.assertEqual(r['reason_code'], 'ok')
        self.assertEqual(r['reason'], '')
        self.assertIn('default', r['rto_estimate']['basis'])  # nothing measured yet
        self.assertGreater(r['rto_estimate']['seconds'], 0)
        wait_for(lambda: readiness(self)['rpo_estimate']['transactions'] == 0, what='rpo 0 when caught up')
        m = self.metrics()
        self.assertIn('myorch_failover_ready{cluster="lab"} 1', m)
        self.assertIn('myorch_rpo_estimate_transactions{cluster="lab"} 0', m)
        self.assertIn('myorch_rto_estimate_seconds{cluster="lab"}', m)
        text = myorch('status', '-c', self.config, check=True).stdout
        self.assertIn('failover ready: yes, to ' + r['candidate'], text)
        text = myorch('topology', '-c', self.config, check=True).stdout
        self.assertIn('failover ready: yes', text)

        # Replication stopped on both replicas, writes go on: nobody has them (RPO) and the candidate
        # falls behind past ready_max_lag_s.
        for i in (2, 3):
            self.lab.sql(i, 'STOP SLAVE')
        for n in range(1, 6):
            self.insert(1, n, 1)  # 5 transactions
        r = wait_for(lambda: (lambda x: x if not x['failover_ready'] else None)(readiness(self)), timeout=30,
                     what='not ready once the replicas are stopped')
        self.assertEqual(r['reason_code'], 'candidate-lagging', r)
        self.assertIn('ready_max_lag_s = 1', r['reason'])
        r = wait_for(lambda: (lambda x: x if x['rpo_estimate']['transactions'] == 5 else None)(readiness(self)),
                     what='rpo counts the 5 transactions nobody received')
        self.assertGreater(r['rpo_estimate']['seconds'], 0)
        wait_for(lambda: 'failover-readiness-changed' in self.d.log_text(), what='readiness event')

        # Its detail (the state database's copy): the verdict and the one before it. The event
        # was stored without any detail until the previous verdict was packed as an object.
        def not_ready_detail():
            import sqlite3
            db = sqlite3.connect('file:%s/state/state.db?mode=ro' % self.tmp, uri=True, timeout=5)
            try:
                rows = db.execute("SELECT detail FROM events WHERE name = 'failover-readiness-changed' "
                                  "ORDER BY id").fetchall()
            finally:
                db.close()
            details = [json.loads(d) for (d,) in rows if d]
            return [d for d in details if d.get('failover_ready') is False] or None
        d = wait_for(not_ready_detail, what='the readiness event with its detail in the state database')[-1]
        self.assertEqual((d['reason_code'], d['was_ready'], d['was_reason_code']), ('candidate-lagging', True, 'ok'), d)
        # ... and the on_topology_change hook ran for it.
        wait_for(lambda: 'failover-readiness-changed' in self.hook_events(), what='on_topology_change for readiness')
        self.assertIn('myorch_failover_ready{cluster="lab"} 0', self.metrics())
        text = myorch('status', '-c', self.config, check=True).stdout
        self.assertIn('failover ready: NO (candidate-lagging)', text)

        # Back: replicas catch up, ready again.
        for i in (2, 3):
            self.lab.sql(i, 'START SLAVE')
        wait_for(lambda: readiness(self)['failover_ready'], what='ready again after the replicas caught up')

        # Errant transactions on both replicas (each in its own domain): nobody can be promoted safely.
        for i in (2, 3):
            self.lab.sql(i, 'SET SESSION gtid_domain_id = %d; INSERT INTO lab.seq (n) VALUES (%d)' % (10 + i, 1000 + i))
        r = wait_for(lambda: (lambda x: x if not x['failover_ready'] else None)(readiness(self)), timeout=30,
                     what='not ready with errant GTIDs')
        self.assertIn(r['reason_code'], ('errant-gtids', 'diverged'), r)
        self.assertIsNone(r['candidate'])
        self.assertRegex(r['reason'], 'errant|diverged')

    def test_drill_there_and_back(self):
        wait_for(lambda: readiness(self)['failover_ready'], what='failover ready')
        p = myorch('drill', '--cluster', 'lab', '-c', self.config, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('drill: done', p.stdout)
        self.wait_healthy(expect_primary=1)
        rep = json.loads(myorch('report', '-c', self.config, '--json', check=True).stdout)['clusters'][0]
        dr = rep['last_drill']
        self.assertTrue(dr['ok'], dr)
        self.assertEqual(dr['from_primary'], self.lab.addr(1))
        self.assertIn(dr['via'], (self.lab.addr(2), self.lab.addr(3)))
        self.assertGreater(dr['there_write_block_ms'], 0)
        self.assertGreater(dr['back_write_block_ms'], 0)
        self.assertIsNone(rep['last_drill_failed'])
        # The measured blocks are the switchovers' own: the audit has both.
        recs = {r['id']: r for r in self.recoveries()}
        self.assertEqual(recs[dr['there_recovery_id']]['kind'], 'switchover')
        self.assertEqual(recs[dr['back_recovery_id']]['state'], 'done')
        sys.stderr.write('\nmeasured drill write block: there %d ms, back %d ms\n'
                         % (dr['there_write_block_ms'], dr['back_write_block_ms']))
        text = myorch('report', '-c', self.config, check=True).stdout
        self.assertIn('last successful drill', text)
        self.assertIn('(writes blocked %d ms)' % dr['there_write_block_ms'], text)
        # The drill's switchovers are measured promotions for the RTO.
        r = wait_for(lambda: (lambda x: x if 'promotion' in x['rto_estimate']['basis'] and
                              'default: ' not in x['rto_estimate']['basis'] else None)(readiness(self)),
                     what='rto from measured promotions')
        self.assertLess(r['rto_estimate']['promote_s'], 60)
        self.assertIn('myorch_drill_write_block_seconds{cluster="lab",direction="there"}', self.metrics())
        self.assertIn('drill-done', self.d.log_text())
        # A bad schedule is refused before anything runs.
        p = myorch('drill', '--cluster', 'lab', '--schedule', 'someday', '-c', self.config)
        self.assertEqual(p.returncode, 2)
        self.assertIn('every DURATION', p.stderr)


if __name__ == '__main__':
    harness.main()
