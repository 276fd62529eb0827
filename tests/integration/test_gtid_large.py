"""GTID positions far longer than any fixed buffer: a MariaDB primary with 600+ replication domains.

Each domain adds one 'D-S-N' item to every position (@@gtid_binlog_pos, gtid_slave_pos, ...): 600
domains give about 6 KB of position text. Switchover (final position captured and waited for),
failover (promoted position, lost-GTID accounting against it) and the rejoin of the old primary
must carry the whole text: a position cut short is still a valid, smaller position, so nothing
would fail loudly, it would only be wrong.
"""
import json
import os

import harness
from harness import ClusterTest, myorch, wait_for

DOMAINS = 620          # replication domains besides domain 0
FIRST_DOMAIN = 1000    # 1000-1-1,1001-1-1,...: about 10 bytes each


def op(cfg, *args, timeout=120):
    return myorch(*args, '-c', cfg, timeout=timeout)


def parse_pos(text):
    """MariaDB position text -> {domain: (server, seq)}."""
    out = {}
    for item in (text or '').replace('\n', '').split(','):
        item = item.strip()
        if item:
            d, s, n = item.split('-')
            out[int(d)] = (int(s), int(n))
    return out


class LargeGtid(ClusterTest):
    EXTRA_CLUSTER = 'switchover_max_lag_s = 5\nfailover_block_s = 1'

    def extra_cluster(self):
        # The post_failover hook keeps what it was told: environment and JSON.
        self.hook_out = os.path.join(self.tmp, 'hook')
        return self.EXTRA_CLUSTER + "\npost_failover = /bin/sh -c 'env > %s.env; cat > %s.json'" % (
            self.hook_out, self.hook_out)

    def prepare(self):
        self.lab.sql(1, 'CREATE TABLE IF NOT EXISTS lab.dom (d INT PRIMARY KEY)')
        stmts = ''.join('SET SESSION gtid_domain_id=%d; INSERT INTO lab.dom VALUES (%d);' % (d, d)
                        for d in range(FIRST_DOMAIN, FIRST_DOMAIN + DOMAINS))
        self.lab.sql(1, stmts, timeout=120)
        pos = self.lab.sql_value(1, 'SELECT @@gtid_binlog_pos')
        self.assertGreater(len(parse_pos(pos)), DOMAINS)
        self.assertGreater(len(pos), 4096, 'the position must be longer than the old buffers')
        for i in (2, 3):
            wait_for(lambda i=i: self.lab.sql_value(i, 'SELECT COUNT(*) FROM lab.dom') == str(DOMAINS),
                     timeout=60, what='domains replicated to %d' % i)

    def domains_on(self, i):
        return parse_pos(self.lab.sql_value(i, 'SELECT @@gtid_binlog_pos'))

    def test_switchover(self):
        p = op(self.config, 'switchover', '--json')
        self.assertEqual(p.returncode, 0, p.stderr + p.stdout)
        r = json.loads(p.stdout)
        self.assertEqual(r['state'], 'done', r)
        self.assertEqual(r['lost_gtids'], '')
        new = self.lab.index_of_port(int(r['new_primary'].rsplit(':', 1)[1]))
        self.wait_healthy(expect_primary=new)
        # Every domain reached the new primary; the old primary (a replica now) has all of them too.
        self.assertGreater(len(self.domains_on(new)), DOMAINS)
        full = self.recovery(r['recovery_id'])
        demote = [s for s in full['steps'] if s['kind'] == 'demote'][0]
        for d in (FIRST_DOMAIN, FIRST_DOMAIN + DOMAINS - 1):
            self.assertIn('%d-1-1' % d, demote['message'])      # the whole final position, both ends
        # Writes on the new primary reach the old one (rejoined below it).
        self.insert(new, 1, 5)
        wait_for(lambda: self.count(1) == 5, what='old primary replicates from the new one')

    def test_failover_lost_gtids_and_rejoin(self):
        # One transaction only the old primary has (replicas' IO threads stopped).
        for i in (2, 3):
            self.lab.sql(i, 'STOP SLAVE IO_THREAD')
        self.insert(1, 100, 1)
        lost = self.lab.sql_value(1, 'SELECT @@gtid_binlog_pos')
        wait_for(lambda: self.d.instances()[self.lab.addr(1)]['snapshot']['gtid_binlog_pos'] == lost,
                 what='controller saw the last write')
        d0 = parse_pos(lost)[0]
        self.lab.kill(1, 'KILL')
        for i in (2, 3):
            self.lab.sql(i, 'START SLAVE IO_THREAD')
        p = self.wait_healthy()
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        # Exactly the one lost transaction: not the 600 domains a cut promoted position would drop.
        self.assertEqual(r['lost_gtids'], '0-%d-%d..%d' % (d0[0], d0[1], d0[1]))
        # The hooks were told the same.
        wait_for(lambda: os.path.exists(self.hook_out + '.json') and os.path.getsize(self.hook_out + '.json') > 0,
                 what='post_failover hook ran')
        with open(self.hook_out + '.json') as f:
            self.assertEqual(json.load(f)['lost_gtids'], r['lost_gtids'])
        with open(self.hook_out + '.env') as f:
            self.assertIn('MYORCH_LOST_GTIDS=%s\n' % r['lost_gtids'], f.read())
        full = self.recovery(r['id'])
        promoted = full.get('new_primary_gtid') or ''
        self.assertEqual(parse_pos(promoted), self.domains_on(p))

    def test_failover_then_old_primary_rejoins(self):
        self.lab.kill(1, 'KILL')
        p = self.wait_healthy()
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        self.assertEqual(r['lost_gtids'], '')
        self.insert(p, 1, 3)
        self.lab.start(1, read_only=False)
        wait_for(lambda: self.lab.sql_value(1, 'SELECT @@read_only') == '1', timeout=20, what='old primary fenced')
        self.wait_healthy(expect_primary=p)
        wait_for(lambda: self.count(1) == 3, what='old primary rejoined and caught up')
        self.assertNotIn('primary-diverged', self.d.log_text())


if __name__ == '__main__':
    harness.main()
