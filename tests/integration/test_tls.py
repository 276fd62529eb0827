"""TLS to the database servers (issue 11 item 2) on real mariadbd lab servers started with
certificates this test makes with openssl and require_secure_transport=ON: a server accepts
no connection without TLS, so everything the controller does here went over TLS.

- ssl_mode=verify_identity: monitoring, an automatic failover and a switchover work, and the
  repointed replicas replicate over TLS (replication_ssl_* keys).
- verify_identity against a certificate for another name is refused with a message naming
  the server (topology, log); verify_ca accepts the same certificate.
- ssl_mode=required against a server without TLS is refused with a clear message.
"""
import json
import os
import shutil
import tempfile
import unittest

import harness
import tlscerts
from harness import ClusterTest, Daemon, lab, myorch, start_lab, wait_for


def tls_cluster_keys(ca, mode='verify_identity'):
    return ('ssl_mode = %s\nssl_ca = %s\nreplication_ssl = yes\nreplication_ssl_ca = %s\n'
            'replication_ssl_verify_server_cert = yes\n' % (mode, ca, ca))


class TLSCluster(ClusterTest):
    """Three servers with TLS required; the controller verifies their identity."""

    def lab_options(self):
        self.certs = tlscerts.make(os.path.join(self.tmp, 'certs'))
        return {'tls': {'ca': self.certs['ca'], 'cert': self.certs['server_cert'], 'key': self.certs['server_key']}}

    def extra_cluster(self):
        return tls_cluster_keys(self.certs['ca']) + 'switchover_max_lag_s = 5\n'

    def assert_replicates_over_tls(self, i, source):
        st = self.lab.sql(i, 'SHOW SLAVE STATUS', dicts=True)[0]
        self.assertEqual(int(st['Master_Port']), self.lab.port(source))
        self.assertEqual(st['Master_SSL_Allowed'], 'Yes')
        self.assertEqual(st['Master_SSL_CA_File'], self.certs['ca'])
        self.assertEqual(st['Master_SSL_Verify_Server_Cert'], 'Yes')

    def test_monitoring_failover_switchover_with_verify_identity(self):
        # Monitoring: every server reached (over TLS: the servers refuse anything else).
        t = self.d.topology()
        self.assertEqual(t['reachable'], 3)
        self.assertEqual(t['primary'], self.lab.addr(1))
        self.insert(1, 1, 50)
        wait_for(lambda: all(self.count(i) == 50 for i in (2, 3)), what='rows replicated')
        # Failover.
        self.lab.kill(1, 'KILL')
        p = self.wait_healthy()
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        self.assertEqual(r['lost_gtids'], '')
        other = 5 - p
        self.assert_replicates_over_tls(other, p)
        self.insert(p, 100, 10)
        wait_for(lambda: self.count(other) == 60, what='write on the new primary replicated')
        # Switchover to the other live server.
        wait_for(lambda: self.d.instances()[self.lab.addr(other)]['reachable'], what='other server reachable')
        res = wait_for(lambda: (lambda q: q if q.returncode == 0 else None)(
            myorch('switchover', '--to', self.lab.addr(other), '-c', self.config, '--json', timeout=120)),
            timeout=60, what='switchover done')
        self.assertEqual(json.loads(res.stdout)['state'], 'done', res.stdout)
        self.wait_healthy(expect_primary=other)
        self.assert_replicates_over_tls(p, other)
        self.insert(other, 200, 5)
        wait_for(lambda: self.count(p) == 65, what='write after the switchover replicated')


class TLSRefusals(unittest.TestCase):
    """Settings that must refuse a server, each with a message naming it."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='myorch-tls-')
        cls.certs = tlscerts.make(os.path.join(cls.tmp, 'certs'))
        # One server whose certificate names another host; one server without TLS.
        cls.wrong = start_lab(os.path.join(cls.tmp, 'wrong'), servers=1,
                              tls={'ca': cls.certs['ca'], 'cert': cls.certs['wrong_cert'],
                                   'key': cls.certs['wrong_key']})
        cls.plain = start_lab(os.path.join(cls.tmp, 'plain'), servers=1)
        cls.good = start_lab(os.path.join(cls.tmp, 'good'), servers=1,
                             tls={'ca': cls.certs['ca'], 'cert': cls.certs['byname_cert'],
                                  'key': cls.certs['byname_key']})

    @classmethod
    def tearDownClass(cls):
        cls.wrong.down()
        cls.plain.down()
        cls.good.down()
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_daemon(self, name, L, keys, seed=None):
        cfg = os.path.join(self.tmp, name + '.ini')
        with open(cfg, 'w') as f:
            f.write('[myorch]\nstate_dir = %s\npoll_interval_ms = 300\nconnect_timeout_ms = 1000\n'
                    'log_level = info\n\n[cluster.lab]\nseeds = %s\nuser = myorch\npassword_file = %s\n%s'
                    % (os.path.join(self.tmp, name + '-state'), seed or L.addr(1), L.myorch_password_file, keys))
        os.chmod(cfg, 0o600)
        os.makedirs(os.path.join(self.tmp, name + '-state'), mode=0o700, exist_ok=True)
        return Daemon(cfg)

    def error_of(self, d, addr):
        def err():
            i = d.instances()[addr]
            return i['error'] if not i['reachable'] and i.get('error') else None
        return wait_for(err, timeout=20, what='a connection error for %s' % addr)

    def test_verify_identity_refuses_a_certificate_for_another_name(self):
        d = self.run_daemon('wrongname', self.wrong, tls_cluster_keys(self.certs['ca']))
        try:
            addr = self.wrong.addr(1)
            e = self.error_of(d, addr)
            self.assertIn('certificate refused (ssl_mode=verify_identity)', e)
            self.assertIn("name '127.0.0.1'", e)
            wait_for(lambda: addr in d.log_text() and 'certificate' in d.log_text(),
                     what='the log names the server and the certificate problem')
            log = [l for l in d.log_text().splitlines() if 'certificate' in l]
            self.assertTrue(any(addr in l for l in log), log)
        finally:
            self.assertEqual(d.stop(), 0)
        # The same certificate passes verify_ca (the chain is good; only the name is wrong).
        d = self.run_daemon('wrongname-ca', self.wrong, tls_cluster_keys(self.certs['ca'], 'verify_ca'))
        try:
            wait_for(lambda: d.topology()['reachable'] == 1, what='reachable with verify_ca')
        finally:
            self.assertEqual(d.stop(), 0)

    def test_verify_identity_checks_the_configured_name(self):
        # The certificate names only DNS:localhost. Seeded as localhost it is checked against
        # that name (not the address the name resolved to), over TCP, never the Unix socket;
        # seeded as 127.0.0.1 the same certificate is refused.
        seed = 'localhost:%d' % self.good.port(1)
        d = self.run_daemon('byname', self.good, tls_cluster_keys(self.certs['ca']), seed=seed)
        try:
            wait_for(lambda: d.instances()[seed]['reachable'], what='reachable by name with verify_identity')
        finally:
            self.assertEqual(d.stop(), 0)
        d = self.run_daemon('byaddr', self.good, tls_cluster_keys(self.certs['ca']))
        try:
            self.assertIn("name '127.0.0.1'", self.error_of(d, self.good.addr(1)))
        finally:
            self.assertEqual(d.stop(), 0)

    def test_discover_cli_tls_options(self):
        base = ['discover', '--user', 'myorch', '--password-file', self.good.myorch_password_file,
                '--ssl-mode', 'verify_identity', '--ssl-ca', self.certs['ca'], '--timeout-ms', '3000']
        p = myorch(*base, '--seed', 'localhost:%d' % self.good.port(1))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = myorch(*base, '--seed', self.good.addr(1))
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("%s: connect: TLS: certificate refused" % self.good.addr(1), p.stderr)
        p = myorch('discover', '--user', 'myorch', '--password-file', self.good.myorch_password_file,
                   '--ssl-mode', 'verify_ca', '--seed', self.good.addr(1))
        self.assertEqual(p.returncode, 2)
        self.assertIn('need ssl_ca', p.stderr)

    def test_required_refuses_a_server_without_tls(self):
        d = self.run_daemon('plain', self.plain, 'ssl_mode = required\n')
        try:
            e = self.error_of(d, self.plain.addr(1))
            self.assertIn('did not start TLS', e)
            self.assertIn('ssl_mode=required', e)
            self.assertIn(self.plain.addr(1), d.log_text())
        finally:
            self.assertEqual(d.stop(), 0)
        # preferred falls back to plain TCP on the same server.
        d = self.run_daemon('plain-preferred', self.plain, 'ssl_mode = preferred\n')
        try:
            wait_for(lambda: d.topology()['reachable'] == 1, what='reachable with preferred')
        finally:
            self.assertEqual(d.stop(), 0)

    def test_disabled_is_refused_by_require_secure_transport(self):
        d = self.run_daemon('disabled', self.wrong, 'ssl_mode = disabled\n')
        try:
            e = self.error_of(d, self.wrong.addr(1))
            self.assertIn('1045', e + str(d.instances()[self.wrong.addr(1)].get('error_code')))
        finally:
            self.assertEqual(d.stop(), 0)


if __name__ == '__main__':
    harness.main()
