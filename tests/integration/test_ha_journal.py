#!/usr/bin/env python3
"""The shared recovery journal of controller coordination (coordination = etcd, issue 14):
three controllers on a real 3-member etcd and one real MariaDB lab.

- Fencing at the point of no return: the lock holder is SIGSTOPped past its lease while
  its failover waits in a pre_failover hook; another controller takes the lock, settles
  the interrupted failover from the journal (rolled back: nothing was changed) and fails
  over itself; the first one, continued, is refused by etcd's compare (its fencing token
  is stale) before it changes anything, and never promotes.
- Handoff: the lock holder is killed right after it made the candidate writable, before it
  recorded that or repointed anyone (test failpoint MYORCH_TEST_CRASH_AFTER_STEP); the
  controller that takes the lock next reads the journal and finishes the failover (no
  second promotion): one writable primary, every replica repointed.
"""
import base64
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Daemon, lab, myorch, wait_for  # noqa: E402

TTL_MS = 2000
PREFIX = '/myorch-journal-test'
NAMES = ('c1', 'c2', 'c3')


class HaJournalBase(unittest.TestCase):
    daemon_env = {}
    hook = False

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-haj-')
        self.daemons = {}
        self.etcd = None
        self.lab = None
        self.saved_env = {k: os.environ.get(k) for k in self.daemon_env}
        os.environ.update(self.daemon_env)
        try:
            self.etcd = harness.start_etcd(os.path.join(self.tmp, 'etcd'))
            self.lab = harness.start_lab(os.path.join(self.tmp, 'lab'), servers=3)
            if self.hook:
                self.write_hook()
            self.start_daemons()
        except BaseException:
            self.cleanup()
            raise

    def start_daemons(self):
        for name in NAMES:
            self.daemons[name] = Daemon(self.write_config(name))

    def write_hook(self):
        """A pre_failover hook that says it started, then waits (bounded) for the gate file."""
        self.hookdir = os.path.join(self.tmp, 'hook')
        os.makedirs(self.hookdir)
        self.hook_path = os.path.join(self.tmp, 'gate-hook')
        with open(self.hook_path, 'w') as f:
            f.write('#!/bin/sh\n'
                    'd=%s\n'
                    'touch "$d/started.$$"\n'
                    'i=0\n'
                    'while [ ! -e "$d/open" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n'
                    'exit 0\n' % self.hookdir)
        os.chmod(self.hook_path, 0o755)

    def write_config(self, name):
        hook = ('pre_failover = %s\nhook_timeout_ms = 90000\n' % self.hook_path) if self.hook else ''
        return harness.write_ha_config(self.tmp, name, self.etcd, self.lab, TTL_MS, prefix=PREFIX,
                                       extra_cluster=hook)

    def cleanup(self):
        for d in self.daemons.values():
            try:
                os.kill(d.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            d.stop()
        if self.lab:
            self.lab.down()
        if self.etcd:
            self.etcd.down(remove=True)
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def tearDown(self):
        if os.environ.get('MYORCH_SHOW_LOG'):
            for n, d in self.daemons.items():
                sys.stderr.write('---- %s\n%s\n' % (n, d.log_text()[-6000:]))
        self.cleanup()

    def status(self, name):
        return json.loads(myorch('status', '-c', self.daemons[name].config, '--json', '--timeout-ms', '3000',
                                 check=True).stdout)

    def recoveries(self, name):
        return json.loads(myorch('recoveries', '-c', self.daemons[name].config, '--json',
                                 check=True).stdout)['recoveries']

    def recovery(self, name, rid):
        return json.loads(myorch('recoveries', '-c', self.daemons[name].config, '--json', '--id', str(rid),
                                 check=True).stdout)['recoveries'][0]

    def holder(self, among=NAMES):
        for n in among:
            if self.status(n)['coordination']['locks']['lab']['held_here']:
                return n
        return None

    def ready(self):
        for n in NAMES:
            st = self.status(n)
            co = st['coordination']
            if not co['lease_ok'] or co['etcd_health'] != 'ok' or len(co['controllers']) != 3:
                return False
            if st['clusters'][0]['recovery']['analysis'] != 'ok':
                return False
        return self.holder()

    def journal(self, what='journal'):
        """The cluster's journal (or shared state) record in etcd, read through the JSON gateway."""
        key = base64.b64encode(('%s/%s/lab' % (PREFIX, what)).encode()).decode()
        req = urllib.request.Request(self.etcd.url(0) + '/v3/kv/range', data=json.dumps({'key': key}).encode(),
                                     headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=5) as r:
            kvs = json.load(r).get('kvs') or []
        return json.loads(base64.b64decode(kvs[0]['value'])) if kvs else None

    def healthy(self):
        """Exactly one writable server among the live ones; every other live one replicates from it."""
        live = [i for i in self.lab.indexes if self.lab.alive(i)]
        writable = [i for i in live if self.lab.sql_value(i, 'SELECT @@read_only') == '0']
        if len(writable) != 1:
            return None
        p = writable[0]
        for i in live:
            if i == p:
                continue
            st = self.lab.sql(i, 'SHOW SLAVE STATUS', dicts=True)
            if not st or int(st[0]['Master_Port']) != self.lab.port(p) or st[0]['Slave_IO_Running'] != 'Yes' \
                    or st[0]['Slave_SQL_Running'] != 'Yes':
                return None
        return p

    def assert_clean_stops(self, names):
        """A clean stop of the live controllers exits 0 (sanitizer builds: no leak or error report)."""
        for n in names:
            rc = self.daemons[n].stop()
            self.assertEqual(rc, 0, self.daemons[n].log_text()[-4000:])

    def promotions(self):
        return sum(d.log_text().count(' replica-promoted ') for d in self.daemons.values())


class FencingTest(HaJournalBase):
    # TEST ONLY: the refusal must come from etcd's compare, not from the local lease deadline.
    daemon_env = {'MYORCH_TEST_FENCE_REMOTE_ONLY': '1'}
    hook = True

    def test_paused_holder_does_not_cross(self):
        first = wait_for(self.ready, timeout=40, what='3 controllers leased, analysis ok, one lock holder')
        others = [n for n in NAMES if n != first]
        self.lab.kill(1)
        wait_for(lambda: os.listdir(self.hookdir), timeout=60, what='the pre_failover hook of %s started' % first)
        os.kill(self.daemons[first].proc.pid, signal.SIGSTOP)
        second = wait_for(lambda: self.holder(others), timeout=TTL_MS / 1000 + 15,
                          what='another controller takes the lock')
        # The successor settles the paused holder's failover from the journal (nothing was
        # changed: rolled back) and starts its own: its hook runs too.
        wait_for(lambda: len(os.listdir(self.hookdir)) >= 2, timeout=40,
                 what='the failover of %s reached its hook' % second)
        rec2 = self.recoveries(second)
        handoff = [r for r in rec2 if r['trigger'] == 'handoff']
        self.assertEqual(len(handoff), 1, rec2)
        self.assertEqual(handoff[0]['state'], 'rolled-back', handoff[0])
        # The paused holder is continued and the hooks released: its next step is refused in etcd.
        os.kill(self.daemons[first].proc.pid, signal.SIGCONT)
        open(os.path.join(self.hookdir, 'open'), 'w').close()
        rec1 = wait_for(lambda: [r for r in self.recoveries(first) if r['state'] != 'running'] or None, timeout=30,
                        what='the failover of %s ended' % first)
        self.assertEqual(len(rec1), 1, rec1)
        self.assertEqual(rec1[0]['state'], 'failed', rec1[0])
        self.assertIn('fencing token', rec1[0]['error'])
        self.assertIn('is stale: the lock is now held by %s' % second, rec1[0]['error'])
        steps = self.recovery(first, rec1[0]['id'])['steps']
        self.assertFalse([s for s in steps if s['kind'] == 'set-writable' and s['result'] == 'ok'], steps)
        self.assertNotIn('replica-promoted', self.daemons[first].log_text())
        # The lock is another's: nothing is rolled back by the paused controller (the new holder settles it).
        self.assertIn('refused by the fencing check (nothing was promoted; the cluster\'s new lock holder',
                      self.daemons[first].log_text())
        # The successor finishes its own failover: one promotion in all.
        done = wait_for(lambda: [r for r in self.recoveries(second) if r['trigger'] == 'auto'
                                 and r['state'] != 'running'] or None, timeout=60, what='failover by %s' % second)
        self.assertEqual(done[0]['state'], 'done', done[0])
        wait_for(self.healthy, timeout=30, what='one writable primary, every replica on it')
        self.assertEqual(self.promotions(), 1)
        j = self.journal()
        self.assertEqual((j['controller'], j['state'], j['phase']), (second, 'done', 'end'), j)
        self.assert_clean_stops(NAMES)


class HandoffTest(HaJournalBase):
    # TEST ONLY failpoint: the holder's failover SIGKILLs it right after set-writable ran on the server.
    daemon_env = {'MYORCH_TEST_CRASH_AFTER_STEP': 'set-writable'}

    def test_successor_finishes_failover(self):
        first = wait_for(self.ready, timeout=40, what='3 controllers leased, analysis ok, one lock holder')
        others = [n for n in NAMES if n != first]
        self.lab.kill(1)
        self.daemons[first].proc.wait(60)
        self.assertEqual(self.daemons[first].proc.returncode, -signal.SIGKILL)
        t_kill = time.monotonic()
        j = self.journal()
        self.assertEqual((j['controller'], j['state'], j['step_name'], j['ponr'], j['promoted']),
                         (first, 'running', 'set-writable', True, False), j)
        candidate = j['new_primary']

        def settled():
            for n in others:
                h = [r for r in self.recoveries(n) if r['trigger'] == 'handoff' and r['state'] != 'running']
                if h:
                    return n, h[0]
            return None
        second, rec = wait_for(settled, timeout=TTL_MS / 1000 + 30, what='the failover finished by a successor')
        handoff_s = time.monotonic() - t_kill
        self.assertEqual(rec['state'], 'done', rec)
        self.assertEqual(rec['new_primary'], candidate)
        p = wait_for(self.healthy, timeout=30, what='one writable primary, every replica on it')
        self.assertEqual(self.lab.addr(p), candidate)
        # No second promotion: the successor ran no failover of its own, nobody else did either.
        for n in others:
            self.assertEqual([r for r in self.recoveries(n) if r['trigger'] != 'handoff'], [], n)
        self.assertEqual(self.promotions(), 0)  # the only promotion was the killed holder's, never recorded
        self.assertIn('recovery-resumed', self.daemons[second].log_text())
        j = wait_for(lambda: (lambda x: x if x['phase'] == 'settled' else None)(self.journal()), timeout=10,
                     what='the journal settled')
        self.assertEqual((j['state'], j['handled_by'], j['controller']), ('done', second, first), j)
        print('handoff: SIGKILL of the holder -> failover finished by %s in %.2f s (TTL %.1f s)'
              % (second, handoff_s, TTL_MS / 1000), file=sys.stderr)

        # The shared state: the demoted primary, and a maintenance window set on the holder, are
        # respected by the next one.
        old = self.lab.addr(1)
        wait_for(lambda: old in [f['addr'] for f in (self.journal('state') or {}).get('fenced', [])], timeout=10,
                 what='the demoted primary in the shared state')
        myorch('maintenance', 'begin', '--cluster', 'lab', '--instance', self.lab.addr(3), '--reason', 'disk swap',
               '--duration', '30m', '-c', self.daemons[second].config, check=True)
        wait_for(lambda: [w for w in (self.journal('state') or {}).get('maintenance', [])
                          if w['reason'] == 'disk swap'], timeout=10, what='the window in the shared state')
        third = [n for n in others if n != second][0]
        self.assertEqual(self.status(third)['clusters'][0]['recovery']['maintenance'], [])
        os.kill(self.daemons[second].proc.pid, signal.SIGKILL)
        self.daemons[second].proc.wait()
        wait_for(lambda: self.holder([third]), timeout=TTL_MS / 1000 + 15, what='%s takes the lock' % third)
        st = wait_for(lambda: self.status(third)['clusters'][0]['recovery']['maintenance'] or None, timeout=10,
                      what='the window on %s' % third)
        self.assertEqual((st[0]['instance'], st[0]['reason']), (self.lab.addr(3), 'disk swap'))
        self.assertTrue(self.daemons[third].instances()[old]['fenced'])
        self.assertEqual(self.recoveries(third), [])
        self.assert_clean_stops([third])


class HandoffBeforePonrTest(HaJournalBase):
    """The holder dies right after it detached the candidate (before the point of no return):
    the successor gives the candidate its replication back (rolled back), then fails over
    itself without an anti-flap wait (orchestrator issue #1296)."""

    def start_daemons(self):
        # TEST ONLY failpoint, on the first controller alone; it takes the lock before the others start.
        os.environ['MYORCH_TEST_CRASH_AFTER_STEP'] = 'detach'
        try:
            self.daemons['c1'] = Daemon(self.write_config('c1'))
        finally:
            os.environ.pop('MYORCH_TEST_CRASH_AFTER_STEP', None)
        wait_for(lambda: self.status('c1')['coordination']['locks']['lab']['held_here'], timeout=20,
                 what='c1 holds the lock')
        for name in NAMES[1:]:
            self.daemons[name] = Daemon(self.write_config(name))

    def test_successor_rolls_back_then_fails_over(self):
        self.assertEqual(wait_for(self.ready, timeout=40, what='3 controllers leased, analysis ok'), 'c1')
        self.lab.kill(1)
        self.daemons['c1'].proc.wait(60)
        self.assertEqual(self.daemons['c1'].proc.returncode, -signal.SIGKILL)
        j = self.journal()
        self.assertEqual((j['controller'], j['state'], j['step_name'], j['ponr']), ('c1', 'running', 'detach', False),
                         j)

        def finished():
            for n in NAMES[1:]:
                r = self.recoveries(n)
                if [x for x in r if x['trigger'] == 'auto' and x['state'] != 'running']:
                    return n, r
            return None
        second, recs = wait_for(finished, timeout=TTL_MS / 1000 + 60, what='a successor failed over')
        handoff = [r for r in recs if r['trigger'] == 'handoff']
        auto = [r for r in recs if r['trigger'] == 'auto']
        self.assertEqual([r['state'] for r in handoff], ['rolled-back'], recs)
        self.assertEqual([r['state'] for r in auto], ['done'], recs)
        wait_for(self.healthy, timeout=30, what='one writable primary, every replica on it')
        self.assertEqual(self.promotions(), 1)
        log = self.daemons[second].log_text()
        self.assertIn('recovery-interrupted', log)
        self.assertNotIn('recovery-blocked', log)
        third = [n for n in NAMES[1:] if n != second][0]
        self.assertEqual(self.recoveries(third), [])
        self.assert_clean_stops(NAMES[1:])


class SwitchoverHandoffTest(HaJournalBase):
    """The holder dies during an operator's switchover right after it demoted the old primary
    (read-only, before the point of no return): the successor rolls it back (the target still
    replicates) and gives the old primary its writes back; nothing is promoted."""
    # TEST ONLY failpoint: the switchover's controller SIGKILLs itself right after demote.
    daemon_env = {'MYORCH_TEST_CRASH_AFTER_STEP': 'demote'}

    def test_successor_rolls_back_switchover(self):
        first = wait_for(self.ready, timeout=40, what='3 controllers leased, analysis ok, one lock holder')
        others = [n for n in NAMES if n != first]
        p = myorch('switchover', '-c', self.daemons[first].config, '--cluster', 'lab', '--timeout-ms', '8000',
                   timeout=60)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.daemons[first].proc.wait(60)
        self.assertEqual(self.daemons[first].proc.returncode, -signal.SIGKILL)
        j = self.journal()  # the CLI waited past the handoff: the record may be settled already
        self.assertEqual((j['controller'], j['kind'], j['step_name'], j['promoted']), (first, 'switchover', 'demote',
                                                                                       False), j)
        self.assertIn(j['state'], ('running', 'rolled-back'), j)

        def settled():
            for n in others:
                h = [r for r in self.recoveries(n) if r['trigger'] == 'handoff' and r['state'] != 'running']
                if h:
                    return n, h[0]
            return None
        second, rec = wait_for(settled, timeout=TTL_MS / 1000 + 30, what='the switchover settled by a successor')
        self.assertEqual((rec['kind'], rec['state']), ('switchover', 'rolled-back'), rec)
        self.assertEqual(wait_for(self.healthy, timeout=30, what='the old primary writable again'), 1)
        self.assertEqual(self.promotions(), 0)
        for n in others:
            self.assertEqual([r for r in self.recoveries(n) if r['trigger'] != 'handoff'], [], n)
        self.assertIn('writable again', self.daemons[second].log_text())
        self.assert_clean_stops(others)


if __name__ == '__main__':
    unittest.main(verbosity=2)
