#!/usr/bin/env python3
"""Three controllers coordinated through a real 3-member etcd (coordination = etcd, issue 14)
on one real MariaDB lab.

- Any controller answers: read commands on every controller; a mutating command sent to a
  controller without the cluster's lock is forwarded to the holder, which runs it and whose
  answer comes back. Two switchovers to different targets sent at once through two
  controllers: one runs, the other is refused.
- Losing etcd's quorum: monitoring goes on, no failover starts (status says why); when the
  members are back the failover happens by itself.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import MYORCH, Daemon, lab, myorch, wait_for  # noqa: E402

TTL_MS = 2000
NAMES = ('c1', 'c2', 'c3')


class HaThreeControllers(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-ha3-')
        self.daemons = {}
        self.etcd = None
        self.lab = None
        self.gate = os.path.join(self.tmp, 'switchover.gate')
        try:
            self.etcd = harness.start_etcd(os.path.join(self.tmp, 'etcd'))
            self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=3)
            for name in NAMES:
                self.daemons[name] = Daemon(self.write_config(name))
        except BaseException:
            self.cleanup()
            raise

    def write_config(self, name):
        return harness.write_ha_config(
            self.tmp, name, self.etcd, self.lab, TTL_MS,
            extra_cluster="hook_timeout_ms = 60000\npre_switchover = sh -c 'n=0; while [ -e %s ] && [ $n -lt 300 ]; "
                          "do sleep 0.1; n=$((n+1)); done'\n" % self.gate)

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
                sys.stderr.write('---- %s\n%s\n' % (n, d.log_text()[-6000:]))
        self.cleanup()

    def status(self, name):
        return json.loads(myorch('status', '-c', self.daemons[name].config, '--json', check=True).stdout)

    def recoveries(self, name):
        return json.loads(myorch('recoveries', '-c', self.daemons[name].config, '--json',
                                 check=True).stdout)['recoveries']

    def ready(self):
        for n in self.daemons:
            st = self.status(n)
            co = st['coordination']
            if not co['lease_ok'] or co['etcd_health'] != 'ok' or len(co['controllers']) != len(NAMES):
                return False
            if st['clusters'][0]['recovery']['analysis'] != 'ok':
                return False
        return True

    def holder(self):
        """The lock holder every controller agrees on, or None."""
        h = {n: self.status(n)['coordination']['locks']['lab'] for n in self.daemons}
        holders = {v['holder'] for v in h.values()}
        here = [n for n, v in h.items() if v['held_here']]
        if len(holders) == 1 and len(here) == 1 and here[0] in holders:
            return here[0]
        return None

    def test_any_controller_answers(self):
        wait_for(self.ready, timeout=40, what='3 controllers leased, seeing each other, analysis ok')
        holder = wait_for(self.holder, timeout=15, what='one lock holder')
        others = [n for n in NAMES if n != holder]

        # Read commands answer on every controller, from its own probes.
        for n in NAMES:
            topo = json.loads(myorch('topology', '-c', self.daemons[n].config, '--json', check=True).stdout)
            self.assertEqual(len(topo['clusters'][0]['instances']), 3, topo)
            self.assertEqual(self.status(n)['clusters'][0]['primary'], self.lab.addr(1))
            self.assertEqual(self.status(n)['coordination']['controllers_voting'], 3)

        # maintenance on a controller without the lock: forwarded, run by the holder, answered.
        p = myorch('maintenance', 'begin', '--cluster', 'lab', '--reason', 'forwarded', '-c',
                   self.daemons[others[0]].config, '--json')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual((doc['forwarded_to'], doc['answered_by']), (holder, holder), doc)
        self.assertEqual(self.status(holder)['clusters'][0]['recovery']['maintenance'][0]['reason'], 'forwarded')
        p = myorch('maintenance', 'end', '--cluster', 'lab', '-c', self.daemons[others[1]].config, '--json')
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.status(holder)['clusters'][0]['recovery']['maintenance'], [])
        self.assertIn('running a request forwarded by controller %s' % others[0], self.daemons[holder].log_text())

        # Two operators, two controllers, two targets, at once: one switchover runs, one is refused.
        # The gated pre_switchover hook holds the first open, so the second cannot come after it ended.
        open(self.gate, 'w').close()
        targets = {others[0]: self.lab.addr(2), others[1]: self.lab.addr(3)}
        results = {}

        def run(n):
            results[n] = subprocess.run([MYORCH, 'switchover', '-c', self.daemons[n].config, '--cluster', 'lab',
                                         '--to', targets[n], '--json'], capture_output=True, text=True,
                                        timeout=180)
        threads = [threading.Thread(target=run, args=(n,)) for n in others]
        for t in threads:
            t.start()
        try:
            # One of them is refused while the other waits in its hook.
            wait_for(lambda: len(results) == 1, timeout=60, interval=0.05, what='one switchover refused')
            refused = list(results)[0]
            self.assertNotEqual(results[refused].returncode, 0, results[refused].stdout)
            doc = json.loads(results[refused].stdout)
            self.assertIn('running', doc['error'], doc)
            self.assertEqual(doc.get('forwarded_to'), holder, doc)
        finally:
            os.unlink(self.gate)
        for t in threads:
            t.join(180)
        ran = [n for n in others if n != refused][0]
        self.assertEqual(results[ran].returncode, 0, results[ran].stdout + results[ran].stderr)
        doc = json.loads(results[ran].stdout)
        self.assertEqual((doc['state'], doc['new_primary'], doc['forwarded_to']), ('done', targets[ran], holder), doc)
        # One switchover in the audit, on the holder; none on the others.
        recs = [r for r in self.recoveries(holder) if r['kind'] == 'switchover']
        self.assertEqual(len(recs), 1, recs)
        for n in others:
            self.assertEqual(self.recoveries(n), [], n)
        wait_for(lambda: all(self.status(n)['clusters'][0]['primary'] == targets[ran] for n in NAMES), timeout=30,
                 what='every controller sees the new primary')
        # A holder that does not take the request (stopped, its lease not yet expired): within
        # the requester's bound, either the next holder (the stopped one's lease expired after
        # TTL = 2 s) takes the pending request and answers, or the requester says nothing ran.
        holder_pid = self.daemons[holder].proc.pid
        os.kill(holder_pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            p = myorch('ack', '--cluster', 'lab', '-c', self.daemons[others[0]].config, '--json', timeout=30)
            waited = time.monotonic() - t0
        finally:
            os.kill(holder_pid, signal.SIGCONT)
        doc = json.loads(p.stdout)
        if p.returncode == 0:
            # The next holder may be the requester itself: it then takes its own request.
            self.assertNotEqual(doc['answered_by'], holder, doc)
        else:
            # ... or the next holder took the request in the moment it took the lock, before it
            # had read the previous holder's journal: refused with "try again in a moment".
            self.assertTrue('did not take the forwarded request' in doc['error'] or
                            'no controller holds the lock' in doc['error'] or
                            'just took the lock' in doc['error'], doc)
        self.assertLess(waited, 5.0)
        # Clean stops (sanitizer builds: no leak or error reports), the forwarding state included.
        for n in NAMES:
            rc = self.daemons[n].stop()
            self.assertEqual(rc, 0, self.daemons[n].log_text()[-4000:])

    def test_losing_etcd_quorum(self):
        wait_for(self.ready, timeout=40, what='3 controllers leased, seeing each other, analysis ok')
        wait_for(self.holder, timeout=15, what='one lock holder')
        # etcd loses its quorum: every controller stops trusting its lease (self-fencing).
        self.etcd.kill(2)
        self.etcd.kill(3)
        wait_for(lambda: all(not self.status(n)['coordination']['lease_ok'] for n in NAMES), timeout=15,
                 what='every lease untrusted')
        # No operation starts anywhere either: refused with the reason, not forwarded into the void.
        for n in NAMES:
            p = myorch('maintenance', 'begin', '--cluster', 'lab', '-c', self.daemons[n].config, '--json')
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn('no trusted etcd lease', json.loads(p.stdout)['error'])
        self.lab.kill(1)
        # Monitoring goes on (the primary is seen dead), no failover starts, status says why.
        for n in NAMES:
            wait_for(lambda n=n: (self.status(n)['coordination']['locks']['lab'].get('recovery_held') or '')
                     .startswith('this controller has no trusted etcd lease'), timeout=20,
                     what='%s: recovery held for want of a lease' % n)
        time.sleep(3)
        for n in NAMES:
            st = self.status(n)
            self.assertIn(st['clusters'][0]['recovery']['analysis'], ('dead-primary', 'dead-primary-minority'), st)
            self.assertEqual(st['coordination']['etcd_health'], 'lost', st['coordination'])
            self.assertEqual(self.recoveries(n), [], n)
            text = myorch('status', '-c', self.daemons[n].config, check=True).stdout
            self.assertIn('recovery held: this controller has no trusted etcd lease', text)
            self.assertIn('etcd-unreachable', self.daemons[n].log_text())
            self.assertIn('recovery-held-coordination', self.daemons[n].log_text())
        # etcd is back: the lease (a new one), the lock and the views come back; the failover happens.
        t0 = time.monotonic()
        self.etcd.start(2, wait=False)
        self.etcd.start(3, wait=False)
        self.etcd.wait_healthy()
        t1 = time.monotonic()
        rec = wait_for(lambda: [r for n in NAMES for r in self.recoveries(n) if r['state'] != 'running'] or None,
                       timeout=60, what='the failover after etcd came back')
        print('etcd members restarted -> healthy: %.1f s; healthy -> failover done: %.1f s'
              % (t1 - t0, time.monotonic() - t1), file=sys.stderr)
        self.assertEqual(len(rec), 1, rec)
        self.assertEqual(rec[0]['state'], 'done', rec)
        # Every controller reaches etcd again; not necessarily before the one that failed over
        # (each retries on its own schedule: 0.2-0.4 s apart here, and a clean-clone CI run
        # checked the log of one that had not yet, 0.1 s after the failover was recorded).
        for n in NAMES:
            wait_for(lambda n=n: 'etcd-reachable' in self.daemons[n].log_text(), timeout=15,
                     what='%s: etcd reachable again' % n)
        for n in NAMES:
            rc = self.daemons[n].stop()
            self.assertEqual(rc, 0, self.daemons[n].log_text()[-4000:])


if __name__ == '__main__':
    unittest.main(verbosity=2)
