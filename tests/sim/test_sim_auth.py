"""caching_sha2_password on simulated MySQL 8.0 and 8.4 servers (issue 17).

fleetsim --mysql-auth caching_sha2_password gives the MySQL 8.x accounts caching_sha2_password (the
default of a real 8.x account), fast path only: the server's cache always holds the account. MariaDB
keeps mysql_native_password. Connector/C must answer the server's switch to caching_sha2_password:
- with a pinned RSA key (server_public_key_file, what conn.h requires before it allows the plugin
  without verified TLS) every server is probed, the simulator counts fast-path logins, and a crash
  failover on an 8.4 cluster completes (the executor's connections authenticate the same way);
- without it the MySQL servers are refused with a message naming the plugin, MariaDB is probed, and
  no password-bearing login was attempted (the simulator saw no caching_sha2 login).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'integration'))
import harness  # noqa: E402
from harness import Daemon, myorch, wait_for  # noqa: E402
import simfleet  # noqa: E402

BUILD = os.environ.get('MYORCH_BUILD') or os.path.dirname(harness.MYORCH)
FLEETSIM = os.path.join(BUILD, 'fleetsim')


class Sha2Auth(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-simauth-')
        self.sim = simfleet.Fleet(FLEETSIM, self.tmp, 'mysql80:1,mysql84:1,mariadb:1', size=3, rate=5,
                                  mysql_auth='caching_sha2_password')
        self.config = os.path.join(self.tmp, 'myorch.ini')
        self.d = None

    def tearDown(self):
        rc = self.d.stop() if self.d else 0
        simlog = self.sim.stop()
        if rc != 0 or os.environ.get('MYORCH_SHOW_LOG'):
            sys.stderr.write(self.d.log_text()[-6000:])
            sys.stderr.write(simlog[-3000:])
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, 'myorch run did not stop cleanly')

    def start(self, extra_cluster=''):
        self.sim.myorch_config(self.config, os.path.join(self.tmp, 'state'), poll_ms=300,
                               extra_cluster=extra_cluster)
        self.d = Daemon(self.config)

    def statuses(self):
        return {c['name']: c for c in json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)['clusters']}

    def stats(self):
        return {k: v for k, v in self.sim.stats().items()}

    def by_flavor(self, flavor):
        return [(i, c) for i, c in enumerate(self.sim.clusters) if c[1] == flavor][0]

    def pinned_key(self):
        key = os.path.join(self.tmp, 'server-public.pem')
        priv = os.path.join(self.tmp, 'server-private.pem')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', priv],
                       check=True, capture_output=True)
        subprocess.run(['openssl', 'pkey', '-in', priv, '-pubout', '-out', key], check=True, capture_output=True)
        return 'server_public_key_file = %s' % key

    def test_fast_path_with_a_pinned_key(self):
        self.start(self.pinned_key())
        names = [c[0] for c in self.sim.clusters]
        wait_for(lambda: all(self.statuses()[n]['recovery']['analysis'] == 'ok' for n in names), timeout=30,
                 interval=0.3, what='every cluster probed, analysis ok')
        st = self.stats()
        # 2 MySQL clusters of 3 servers: at least one fast-path login each; MariaDB's 3 log in natively.
        self.assertGreaterEqual(int(st['auth_sha2_fast']), 6, st)
        self.assertGreaterEqual(int(st['auth_native']), 3, st)
        # A crash failover on MySQL 8.4: the executor's connections log in the same way.
        i, (name, _, addrs) = self.by_flavor('mysql84')
        before = int(self.stats()['auth_sha2_fast'])
        self.sim.ctl('kill', addrs[0])
        t0 = time.monotonic()
        wait_for(lambda: (lambda h: h and h != addrs[0])(self.sim.healthy(i)), timeout=30, interval=0.1,
                 what='8.4 cluster failed over')
        sys.stderr.write('8.4 crash failover with caching_sha2_password: %.0f ms\n' % (1000 * (time.monotonic() - t0)))
        self.assertGreater(int(self.stats()['auth_sha2_fast']), before, 'the failover opened no new sha2 session')
        self.assertEqual(int(self.stats()['unknown']), 0, self.stats().get('last_unknown'))

    def test_wrong_password_refused(self):
        """The simulator checks the scramble: a wrong password is access denied (1045), on both plugins."""
        wrong = os.path.join(self.tmp, 'wrong.pw')
        with open(wrong, 'w') as f:
            f.write('not-the-password')
        os.chmod(wrong, 0o600)
        self.sim.myorch_config(self.config, os.path.join(self.tmp, 'state'), poll_ms=300, extra_cluster=self.pinned_key())
        with open(self.config) as f:
            text = f.read().replace('password_file = %s\nreplication_user' % self.sim.pw_file,
                                    'password_file = %s\nreplication_user' % wrong)
        with open(self.config, 'w') as f:
            f.write(text)
        self.d = Daemon(self.config)

        def denied():
            for n, _, _ in self.sim.clusters:
                ins = self.d.instances(n)
                if not ins or any(i['reachable'] or i['error_code'] != 1045 for i in ins.values()):
                    return False
            return True
        wait_for(denied, timeout=20, interval=0.3, what='every server refused the wrong password (1045)')
        st = self.stats()
        self.assertEqual(int(st['auth_sha2_fast']) + int(st['auth_native']), 0, st)

    def test_refused_without_verified_tls_or_a_pinned_key(self):
        self.start()
        mariadb = self.by_flavor('mariadb')[1][0]
        mysql = [c[0] for c in self.sim.clusters if c[1] != 'mariadb']
        wait_for(lambda: self.statuses()[mariadb]['recovery']['analysis'] == 'ok', timeout=30, interval=0.3,
                 what='the MariaDB cluster probed')

        def refused():
            for n in mysql:
                ins = self.d.instances(n)
                if not ins or any(i['reachable'] or 'caching_sha2_password' not in (i['error'] or '') for i in ins.values()):
                    return False
            return True
        wait_for(refused, timeout=20, interval=0.3, what='MySQL servers refused, naming caching_sha2_password')
        self.assertEqual(int(self.stats()['auth_sha2_fast']), 0, 'a caching_sha2 login was completed')


if __name__ == '__main__':
    unittest.main()
