#!/usr/bin/env python3
"""Two controllers coordinated through a real 3-member etcd (coordination = etcd, issue 14)
on one real MariaDB lab: both publish views, one holds the cluster's lock, a primary crash
is failed over exactly once (by the lock holder, with both controllers agreeing), the other
reports why it waits; SIGKILL of the holder hands the lock to the other."""
import json
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, lab, myorch, wait_for  # noqa: E402

TTL_MS = 2000


class HaEtcdTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-ha-')
        self.daemons = {}
        self.etcd = None
        self.lab = None
        try:
            self.etcd = harness.start_etcd(os.path.join(self.tmp, 'etcd'))
            self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=3)
            self.lab.sql(1, 'CREATE TABLE IF NOT EXISTS lab.seq (n BIGINT PRIMARY KEY)')
            # on_topology_change: one line per run, naming the controller that ran it
            self.topo_runs = os.path.join(self.tmp, 'topology-hook-runs')
            self.topo_hook = os.path.join(self.tmp, 'topology-hook')
            with open(self.topo_hook, 'w') as f:
                f.write('#!/bin/sh\ncat >/dev/null\necho "$1" >> %s\n' % self.topo_runs)
            os.chmod(self.topo_hook, 0o755)
            for name in ('c1', 'c2'):
                self.daemons[name] = Daemon(self.write_config(name))
        except BaseException:
            self.cleanup()
            raise

    def write_config(self, name):
        return harness.write_ha_config(self.tmp, name, self.etcd, self.lab, TTL_MS,
                                       extra_cluster='on_topology_change = %s %s\n' % (self.topo_hook, name))

    def cleanup(self):
        for d in self.daemons.values():
            d.stop()
        if self.lab:
            self.lab.down()
        if self.etcd:
            self.etcd.down(remove=True)
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def tearDown(self):
        if os.environ.get('MYORCH_SHOW_LOG'):
            for n, d in self.daemons.items():
                sys.stderr.write('---- %s\n%s\n' % (n, d.log_text()[-5000:]))
        self.cleanup()

    def status(self, name):
        return json.loads(myorch('status', '-c', self.daemons[name].config, '--json', check=True).stdout)

    def recoveries(self, name):
        return json.loads(myorch('recoveries', '-c', self.daemons[name].config, '--json',
                                 check=True).stdout)['recoveries']

    def holder(self):
        """The lock holder both controllers agree on, or None."""
        h = {n: self.status(n)['coordination']['locks']['lab'] for n in self.daemons}
        holders = {v['holder'] for v in h.values()}
        here = [n for n, v in h.items() if v['held_here']]
        if len(holders) == 1 and len(here) == 1 and here[0] in holders:
            return here[0]
        return None

    def test_one_recovery_by_the_lock_holder(self):
        def ready():
            for n in self.daemons:
                co = self.status(n)['coordination']
                if not co['lease_ok'] or co['etcd_health'] != 'ok' or len(co['controllers']) != 2:
                    return False
                if self.status(n)['clusters'][0]['recovery']['analysis'] != 'ok':
                    return False
            return True
        wait_for(ready, timeout=30, what='both controllers leased, seeing each other, analysis ok')
        holder = wait_for(self.holder, timeout=15, what='one lock holder')
        other = 'c2' if holder == 'c1' else 'c1'
        # The status document, coordination included, is the one docs/openapi.json describes.
        from test_http import OPENAPI, schema_errors
        with open(OPENAPI) as f:
            spec = json.load(f)
        for n in self.daemons:
            self.assertEqual(schema_errors(self.status(n), spec['components']['schemas']['Status'], spec), [])
        text = myorch('status', '-c', self.daemons[other].config, check=True).stdout
        self.assertIn('coordination etcd: controller %s, lease ok' % other, text)
        self.assertIn('lock of cluster lab', text)
        self.assertIn('held by %s' % holder, text)

        # A mutating command on the controller without the lock is forwarded to the holder, which
        # answers (test_ha_forward covers switchovers); the other runs nothing itself.
        p = myorch('ack', '-c', self.daemons[other].config, '--cluster', 'lab', '--json', timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(json.loads(p.stdout)['answered_by'], holder, p.stdout)
        self.assertEqual(self.recoveries(other), [])

        # The primary crashes: one failover, by the holder; the other waits and says why.
        self.lab.kill(1)
        rec = wait_for(lambda: [r for r in self.recoveries(holder) if r['state'] != 'running'] or None, timeout=60,
                       what='failover by %s' % holder)[0]
        self.assertEqual(rec['state'], 'done', rec)
        wait_for(lambda: self.status(other)['clusters'][0]['primary'] not in (None, self.lab.addr(1)),
                 timeout=30, what='%s sees the new primary' % other)
        self.assertEqual(self.recoveries(other), [], 'the controller without the lock recovered too')
        # on_topology_change changes routing: the holder runs it (after its failover), the other
        # never (it cannot see the holder's recovery and would fire on its transitional topology).
        def topo_runners():
            try:
                with open(self.topo_runs) as f:
                    return set(f.read().split())
            except FileNotFoundError:
                return set()
        wait_for(lambda: holder in topo_runners(), timeout=30, what='on_topology_change run by %s' % holder)
        self.assertEqual(topo_runners(), {holder})
        self.assertEqual(len(self.recoveries(holder)), 1, self.recoveries(holder))
        self.assertIn('recovery-held-coordination', self.daemons[other].log_text())
        # Added latency of the controllers' agreement, measured from the holder's log.
        import re
        from datetime import datetime
        log = self.daemons[holder].log_text()
        ts = lambda ev: datetime.strptime(re.search(r'^(\S+)Z \S+\s+%s ' % ev, log, re.M).group(1),
                                         '%Y-%m-%dT%H:%M:%S.%f')
        print('primary-dead -> recovery-started on the holder: %.0f ms' %
              ((ts('recovery-started') - ts('primary-dead')).total_seconds() * 1000), file=sys.stderr)
        self.assertIn('holds the lock of cluster lab', self.daemons[other].log_text())

        # The holder dies: the other takes the lock within the lease TTL (+ margin for a loaded machine).
        os.kill(self.daemons[holder].proc.pid, signal.SIGKILL)
        self.daemons[holder].proc.wait()
        wait_for(lambda: self.status(other)['coordination']['locks']['lab']['held_here'], timeout=TTL_MS / 1000 + 10,
                 what='lock handed to %s' % other)
        # Its lease expired: the dead controller leaves the list (read every TTL / 4).
        wait_for(lambda: [c['name'] for c in self.status(other)['coordination']['controllers']] == [other],
                 timeout=10, what='%s gone from the controllers' % holder)
        # A clean stop (sanitizer builds: no leak reports) releases the lock and revokes the lease.
        rc = self.daemons[other].stop()
        self.assertEqual(rc, 0, self.daemons[other].log_text()[-4000:])
        self.assertIn('etcd-lock-released', self.daemons[other].log_text())


if __name__ == '__main__':
    unittest.main(verbosity=2)
