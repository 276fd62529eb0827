"""Discovery of a chain primary -> A -> B, from the middle and from the bottom."""
import harness
from harness import myorch, wait_for
import json


class DiscoveryChain(harness.LabTestCase):
    SERVERS = 3
    TOPOLOGY = 'chain'

    def test_chain_from_seed(self):
        d = self.start_daemon()
        try:
            def full():
                t = d.topology()
                return t if t['reachable'] == 3 else None
            t = wait_for(full, what='chain discovered')
            inst = {i['addr']: i for i in t['instances']}
            self.assertEqual(t['primary'], self.lab.addr(1))
            self.assertIsNone(inst[self.lab.addr(1)]['parent'])
            self.assertEqual(inst[self.lab.addr(2)]['parent'], self.lab.addr(1))
            self.assertEqual(inst[self.lab.addr(3)]['parent'], self.lab.addr(2))
            self.assertEqual(inst[self.lab.addr(3)]['depth'], 2)
            self.assertEqual(inst[self.lab.addr(2)]['role'], 'replica')
            out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
            lines = out.splitlines()
            # Tree: the grandchild is indented below its parent.
            i2 = next(k for k, l in enumerate(lines) if self.lab.addr(2) in l)
            i3 = next(k for k, l in enumerate(lines) if self.lab.addr(3) in l)
            self.assertEqual(i3, i2 + 1)
            self.assertTrue(lines[i3].startswith('   └─ '), lines[i3])
        finally:
            self.stop_daemon(d)

    def test_discover_one_shot_from_bottom(self):
        p = myorch('discover', '--seed', self.lab.addr(3), '--user', 'myorch',
                   '--password-file', self.lab.myorch_password_file, '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        t = json.loads(p.stdout)
        self.assertEqual(t['primary'], self.lab.addr(1))
        self.assertEqual(t['servers'], 3)
        inst = {i['addr']: i for i in t['instances']}
        self.assertEqual(inst[self.lab.addr(3)]['parent'], self.lab.addr(2))


class DeadIntermediate(harness.LabTestCase):
    """Issue 12 item 6: primary -> A -> B; A dies; B (which lost A itself) moves below the
    primary by GTID, as an audited recovery of kind intermediate; the primary is untouched."""
    SERVERS = 3
    TOPOLOGY = 'chain'

    def test_replica_of_dead_intermediate_moves_below_its_source(self):
        d = self.start_daemon()
        try:
            wait_for(lambda: d.topology()['reachable'] == 3, what='chain discovered')
            self.lab.sql(1, 'CREATE TABLE IF NOT EXISTS lab.imd (n INT PRIMARY KEY)')
            self.lab.sql(1, 'INSERT INTO lab.imd VALUES (1), (2)')
            pos = self.lab.sql_value(1, 'SELECT @@gtid_binlog_pos')
            self.assertEqual(self.lab.sql_value(3, "SELECT MASTER_GTID_WAIT('%s', 20)" % pos), '0')
            self.lab.kill(2, 'KILL')

            def moved():
                st = self.lab.slave_status(3)
                return st and int(st['Master_Port']) == self.lab.port(1) and st['Slave_IO_Running'] == 'Yes' \
                    and st['Slave_SQL_Running'] == 'Yes'
            wait_for(moved, timeout=30, what='server 3 replicating from server 1')
            recs = json.loads(myorch('recoveries', '-c', self.lab.config_path, '--json', check=True).stdout)['recoveries']
            wait_for(lambda: json.loads(myorch('recoveries', '-c', self.lab.config_path, '--json',
                                               check=True).stdout)['recoveries'][0]['state'] != 'running',
                     what='recovery finished')
            recs = json.loads(myorch('recoveries', '-c', self.lab.config_path, '--json', check=True).stdout)['recoveries']
            self.assertEqual(len(recs), 1, recs)
            r = recs[0]
            self.assertEqual((r['kind'], r['state'], r['analysis']), ('intermediate', 'done', 'dead-intermediate-primary'))
            self.assertEqual((r['old_primary'], r['new_primary']), (self.lab.addr(2), self.lab.addr(1)))
            self.assertIn('intermediate-dead', d.log_text())
            self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '0', 'the primary is untouched')
            self.lab.sql(1, 'INSERT INTO lab.imd VALUES (3)')
            pos = self.lab.sql_value(1, 'SELECT @@gtid_binlog_pos')
            self.assertEqual(self.lab.sql_value(3, "SELECT MASTER_GTID_WAIT('%s', 20)" % pos), '0')
            self.assertEqual(self.lab.sql_value(3, 'SELECT COUNT(*) FROM lab.imd'), '3')
        finally:
            self.stop_daemon(d)


class DeadIntermediateByHand(harness.LabTestCase):
    """With auto_failover = no the dead intermediate primary is reported, 'myorch failover
    --dry-run' shows the plan that moves its replicas, and 'myorch failover' runs it."""
    SERVERS = 3
    TOPOLOGY = 'chain'

    def test_dry_run_then_failover(self):
        with open(self.lab.config_path) as f:
            text = f.read()
        cfg = self.write_config('byhand.ini', text.rstrip('\n') + '\nauto_failover = no\n')
        d = self.start_daemon(cfg)
        try:
            wait_for(lambda: d.topology()['reachable'] == 3, what='chain discovered')
            self.lab.kill(2, 'KILL')
            wait_for(lambda: 'intermediate-dead' in d.log_text(), what='intermediate-dead reported')
            p = myorch('failover', '-c', cfg, '--cluster', 'lab', '--dry-run', '--json')
            self.assertEqual(p.returncode, 0, p.stderr)
            plan = json.loads(p.stdout)['plan']
            self.assertEqual(plan['kind'], 'intermediate')
            steps = [(s['kind'], s['target']) for s in plan['steps']]
            self.assertEqual(steps, [('repoint', self.lab.addr(3)), ('verify', self.lab.addr(3))], plan)
            st = self.lab.slave_status(3)
            self.assertEqual(int(st['Master_Port']), self.lab.port(2), 'a dry run changes nothing')
            p = myorch('failover', '-c', cfg, '--cluster', 'lab', '--json', timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

            def moved():
                st = self.lab.slave_status(3)
                return st and int(st['Master_Port']) == self.lab.port(1) and st['Slave_IO_Running'] == 'Yes'
            wait_for(moved, timeout=30, what='server 3 replicating from server 1')
            r = json.loads(myorch('recoveries', '-c', cfg, '--json', check=True).stdout)['recoveries'][0]
            self.assertEqual((r['kind'], r['trigger'], r['state'], r['analysis']),
                             ('intermediate', 'manual', 'done', 'dead-intermediate-primary'))
        finally:
            self.stop_daemon(d)


if __name__ == '__main__':
    harness.main()
