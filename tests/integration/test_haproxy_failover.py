"""Client repointing end to end: a writer through a real HAProxy, the primary killed, the
controller's post_failover / on_topology_change hooks move HAProxy's backends."""
import os
import time

import harness
from harness import ClusterTest, HAProxyFront, wait_for


class HAProxyFailover(ClusterTest):
    SEMI_SYNC = True

    def prepare(self):
        self.front = HAProxyFront(self.tmp, [self.lab.addr(i) for i in self.lab.indexes])

    def extra_cluster(self):
        cmd = self.front.hook_command(max_lag_s=10)
        return 'post_failover = %s\non_topology_change = %s\n' % (cmd, cmd)

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.front.stop()

    def test_writer_resumes_through_haproxy(self):
        self.assertEqual(self.front.backend('be_writer')[self.lab.addr(1)], 'ready')
        out = os.path.join(self.tmp, 'writer.json')
        w = self.seqwriter(out, follow=False, targets=['127.0.0.1:%d' % self.front.port_w])
        wait_for(lambda: self.count(1) > 100, what='writes through HAProxy')
        self.lab.kill(1, 'KILL')
        kill_ms = int(time.time() * 1000)
        p = self.wait_healthy(timeout=30)
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        # HAProxy follows: the writer backend points at the new primary only.
        wait_for(lambda: self.front.backend('be_writer').get(self.lab.addr(p)) == 'ready', what='writer backend moved')
        wb = self.front.backend('be_writer')
        self.assertEqual(sorted(a for a, st in wb.items() if st == 'ready'), [self.lab.addr(p)])
        # The writer resumes on the new primary through HAProxy.
        before = self.count(p)
        wait_for(lambda: self.count(p) > before + 50, timeout=30, what='writer resumed through HAProxy')
        res = self.stop_writer(w, out)
        n = self.assert_acked_present(res, p)
        self.assertGreater(n, 100)
        resumed = [g for g in res['gaps'] if g[0] <= kill_ms + 1000 and g[0] + g[1] >= kill_ms - 1000]
        self.assertTrue(resumed, res['gaps'])
        # The read backend lists only live replicas under the lag bound.
        other = 5 - p
        wait_for(lambda: self.front.backend('be_reader').get(self.lab.addr(other)) == 'ready', what='reader pool')
        rb = self.front.backend('be_reader')
        self.assertEqual(sorted(a for a, st in rb.items() if st == 'ready'), [self.lab.addr(other)])
        # A replica that dies leaves the read pool (on_topology_change).
        self.lab.kill(other, 'KILL')
        wait_for(lambda: self.front.backend('be_reader').get(self.lab.addr(other)) == 'maint', timeout=20,
                 what='dead replica out of the read pool')


if __name__ == '__main__':
    harness.main()
