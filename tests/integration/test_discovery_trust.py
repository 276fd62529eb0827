"""Discovery trust (issue 11, item 1): a server that only a primary's replica list names
(COM_REGISTER_SLAVE, which any REPLICATION SLAVE account can send with any report_host/port)
never receives a connection, let alone the monitoring credentials, until it is confirmed.

Real mariadbd lab; the forged registrations come from harness.register_fake_replica (the
lab's `repl` account), and fake listeners record every connection made to them."""
import json
import os
import sqlite3
import time

import harness
from harness import myorch, wait_for


class DiscoveryTrust(harness.LabTestCase):
    SERVERS = 3

    def setUp(self):
        self.d = self.start_daemon()
        wait_for(lambda: self.d.topology()['reachable'] == 3, what='3 reachable servers')
        self.socks, self.listeners = [], []

    def tearDown(self):
        for s in self.socks:
            s.close()
        for l in self.listeners:
            l.close()
        self.stop_daemon(self.d)

    def listener(self, host):
        l = harness.FakeListener(host)
        self.listeners.append(l)
        return l

    def register(self, server_id, host, port):
        s = harness.register_fake_replica(self.lab.port(1), 'repl', self.lab.password('repl'), server_id,
                                          host, port)
        self.socks.append(s)
        return s

    def listed(self, host, port):
        rows = self.lab.sql(1, 'SHOW SLAVE HOSTS', dicts=True)
        return any(r['Host'] == host and int(r['Port']) == port for r in rows)

    def untrusted(self):
        return {u['addr']: u for u in self.d.topology().get('untrusted', [])}

    def state_rows(self, sql, *args):
        db = sqlite3.connect(os.path.join(self.lab.dir, 'state', 'state.db'))
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def test_1_forged_registrations_never_probed(self):
        # Another host (not a seed's host, no discover_allow) and the seed's own host on another
        # port (allowed host, but no replication stream from the registering session).
        other = self.listener('127.0.0.2')
        same = self.listener('127.0.0.1')
        self.register(9001, other.host, other.port)
        self.register(9002, same.host, same.port)
        self.assertTrue(self.listed(other.host, other.port))
        self.assertTrue(self.listed(same.host, same.port))
        a_other, a_same = '%s:%d' % (other.host, other.port), '%s:%d' % (same.host, same.port)
        # Several probe rounds (500 ms) later: never contacted.
        time.sleep(4)
        self.assertEqual(other.connections, [], 'the forged replica received a connection')
        self.assertEqual(same.connections, [], 'the forged replica received a connection')
        u = wait_for(lambda: (lambda x: x if a_other in x and a_same in x else None)(self.untrusted()),
                     what='both registrations shown untrusted')
        self.assertIn('discover_allow', u[a_other]['reason'])
        self.assertIn('not confirmed', u[a_same]['reason'])
        self.assertEqual(u[a_same]['via'], self.lab.addr(1))
        # Still never contacted, never a trusted instance.
        time.sleep(1)
        self.assertEqual(other.connections, [], 'the forged replica received a connection')
        self.assertEqual(same.connections, [], 'the forged replica received a connection')
        t = self.d.topology()
        self.assertEqual(t['servers'], 3)
        self.assertNotIn(a_other, [i['addr'] for i in t['instances']])
        # The terminal view says so.
        out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
        self.assertRegex(out, '%s +untrusted +listed by %s: ' % (a_other, self.lab.addr(1)))
        # An event, and nothing in state.db's instances.
        wait_for(lambda: self.state_rows("SELECT count(*) FROM events WHERE name='instance-untrusted'")[0][0] >= 2,
                 what='instance-untrusted events in state.db')
        self.assertEqual(self.state_rows('SELECT count(*) FROM instances WHERE port IN (?, ?)',
                                         other.port, same.port)[0][0], 0)
        rows = dict(self.state_rows('SELECT port, trusted_by FROM instances'))
        self.assertEqual(rows[self.lab.port(2)], 'seed')
        self.assertEqual(rows[self.lab.port(1)], 'source')
        self.assertEqual(rows[self.lab.port(3)], 'confirmed')
        self.assertIn('instance-untrusted', self.d.log_text())

    def test_2_registration_gone_untrusted_gone(self):
        l = self.listener('127.0.0.2')
        s = self.register(9003, l.host, l.port)
        a = '%s:%d' % (l.host, l.port)
        wait_for(lambda: a in self.untrusted(), what='untrusted entry')
        s.close()
        self.socks.remove(s)
        wait_for(lambda: a not in self.untrusted(), what='entry dropped once the registration ended')
        self.assertEqual(l.connections, [])

    def test_3_flood_is_bounded(self):
        # 300 forged registrations at once: the primary lists them all; the controller keeps at
        # most TOPO_MAX_REPLICAS (64) refused entries, adds no server, and stays small.
        self.lab.sql(1, 'SET GLOBAL max_connections = 600')
        l = self.listener('127.0.0.2')
        rss0 = self.rss_kib()
        ev0 = self.state_rows("SELECT count(*) FROM events WHERE name='instance-untrusted'")[0][0]
        for k in range(300):
            self.register(20000 + k, '127.0.0.2', 40000 + k)
        self.assertGreaterEqual(len(self.lab.sql(1, 'SHOW SLAVE HOSTS')), 300)
        wait_for(lambda: len(self.untrusted()) >= 60, what='refused entries')
        time.sleep(3)
        t = self.d.topology()
        self.assertEqual(t['servers'], 3)
        self.assertLessEqual(len(t['untrusted']), 64)
        self.assertEqual(self.state_rows('SELECT count(*) FROM instances')[0][0], 3)
        n_events = self.state_rows("SELECT count(*) FROM events WHERE name='instance-untrusted'")[0][0] - ev0
        self.assertLessEqual(n_events, 20)  # at most 20 a minute per cluster
        rss1 = self.rss_kib()
        print('flood: RSS %d KiB -> %d KiB, %d events' % (rss0, rss1, n_events))
        if not harness.sanitized(self.d.proc.pid):  # ASan keeps freed memory in quarantine
            self.assertLess(rss1 - rss0, 20 * 1024)
        self.assertEqual(l.connections, [])

    def rss_kib(self):
        with open('/proc/%d/status' % self.d.proc.pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
        return 0


class DiscoveryAllowed(harness.LabTestCase):
    """discover_allow + discover_confirm = no trusts a listed host (the operator's choice), and
    max_instances_per_cluster stops discovery with an event."""
    SERVERS = 3

    def test_limit(self):
        with open(self.lab.config_path) as f:
            cfg = f.read()
        cfg = cfg.replace(
            'poll_interval_ms = 500\n', 'poll_interval_ms = 500\nmax_instances_per_cluster = 5\n', 1)
        cfg += 'discover_allow = 127.0.0.0/8\ndiscover_confirm = no\n'
        path = self.write_config('limit.ini', cfg)
        d = self.start_daemon(path)
        socks = []
        try:
            wait_for(lambda: d.topology()['reachable'] == 3, what='3 reachable servers')
            for k in range(4):
                socks.append(harness.register_fake_replica(self.lab.port(1), 'repl', self.lab.password('repl'),
                                                           9100 + k, '127.0.0.3', 41000 + k))
            wait_for(lambda: 'discovery-limit' in d.log_text(), what='discovery-limit event')
            t = d.topology()
            self.assertEqual(t['servers'], 5)
            allowed = [i for i in t['instances'] if i['addr'].startswith('127.0.0.3:')]
            self.assertEqual(len(allowed), 2)
            self.assertEqual({i['trusted_by'] for i in allowed}, {'allowed'})
        finally:
            for s in socks:
                s.close()
            self.stop_daemon(d)


class ServerTextEscaped(harness.LabTestCase):
    """A newline or an escape sequence in a server-reported string (report_host, an error text)
    never reaches the log or the terminal raw: it is shown escaped (\\n, \\e)."""
    SERVERS = 3

    def check_clean(self, out, log, escaped):
        for name, text in (('topology', out), ('log', log)):
            self.assertNotIn('\x1b', text, '%s holds a raw ESC' % name)
            self.assertNotIn('\x07', text, '%s holds a raw BEL' % name)
            for line in text.splitlines():
                self.assertFalse(line.startswith('FORGED'), '%s has a forged line: %r' % (name, line))
            self.assertIn(escaped, text, name)

    def test_escaped(self):
        # Server 3 fails the lag query with an error text holding a newline and ESC.
        self.lab.sql(1, "DELIMITER //\nCREATE FUNCTION lab.lagf() RETURNS INT NO SQL BEGIN "
                        "DECLARE m VARCHAR(200) DEFAULT CONCAT('bad', CHAR(10), 'FORGED-LINE ', CHAR(27), '[31mred'); "
                        "IF @@server_id = 3 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = m; END IF; RETURN 0; END//\n"
                        "DELIMITER ;\nGRANT EXECUTE ON lab.* TO 'myorch'@'127.0.0.1'")
        with open(self.lab.config_path) as f:
            cfg = f.read() + 'lag_query = SELECT lab.lagf()\n'
        d = self.start_daemon(self.write_config('esc.ini', cfg))
        sock = None
        try:
            wait_for(lambda: d.topology()['servers'] == 3 and not d.instances()[self.lab.addr(3)]['reachable'],
                     what='server 3 failing its lag query')
            time.sleep(1)
            self.check_clean(myorch('topology', '-c', self.lab.config_path, check=True).stdout, d.log_text(),
                             'bad\\nFORGED-LINE ')
            sock = harness.register_fake_replica(self.lab.port(1), 'repl', self.lab.password('repl'), 9500,
                                                 '127.0.0.9\nFORGED-HOST \x1b]0;title\x07', 3306)
            wait_for(lambda: d.topology().get('untrusted'), what='the forged entry shown untrusted')
            time.sleep(1)
            self.check_clean(myorch('topology', '-c', self.lab.config_path, check=True).stdout, d.log_text(),
                             '127.0.0.9\\nFORGED-HOST \\e]0;title\\x07')
            # Not even valid UTF-8: still shown (escaped), and the event stream keeps every event.
            raw = harness.register_fake_replica_raw(self.lab.port(1), 'repl', self.lab.password('repl'), 9501,
                                                    b'10.9.9.\xff\xfe', 3306)
            try:
                wait_for(lambda: any('10.9.9.\\xff\\xfe' in u['addr'] for u in d.topology()['untrusted']),
                         what='the non-UTF-8 entry shown escaped')
                db = sqlite3.connect(os.path.join(self.lab.dir, 'state', 'state.db'))
                wait_for(lambda: db.execute("SELECT count(*) FROM events WHERE name='instance-untrusted' "
                                            "AND message LIKE '10.9.9.\\xff\\xfe%'").fetchone()[0] == 1,
                         what='the event stored, escaped')
                for (m,) in db.execute('SELECT message FROM events'):
                    self.assertFalse(any(ch in m for ch in '\n\x1b\x07'), repr(m))
                db.close()
            finally:
                raw.close()
        finally:
            if sock:
                sock.close()
            self.stop_daemon(d)


if __name__ == '__main__':
    harness.main()
