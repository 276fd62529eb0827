"""Errors a user can cause, each with one clear message and a non-zero exit."""
import json
import os
import time

import harness
from harness import myorch, wait_for


class UserErrors(harness.LabTestCase):
    SERVERS = 3

    def config(self, name, cluster_extra='', global_extra='', password_file=None):
        state = os.path.join(self.tmp, name + '.state')
        return self.write_config(name + '.ini', f"""[myorch]
state_dir = {state}
poll_interval_ms = 300
{global_extra}
[cluster.lab]
seeds = {self.lab.addr(2)}
user = myorch
password_file = {password_file or self.lab.myorch_password_file}
{cluster_extra}
""")

    def test_wrong_password_names_the_server(self):
        bad = self.write_config('bad.pass', 'not-the-password\n')
        d = self.start_daemon(self.config('wrongpw', password_file=bad))
        try:
            i = wait_for(lambda: d.instances()[self.lab.addr(2)]['error'], what='error reported')
            self.assertIn('Access denied', i)
            self.assertIn('1045', i)
            log = d.log_text()
            self.assertIn('instance-down', log)
            self.assertIn(self.lab.addr(2), log)
            self.assertIn('wrong user or password', log)
            self.assertNotIn('not-the-password', log)
            out = myorch('topology', '-c', d.config, check=True).stdout
            self.assertIn('Access denied', out)
        finally:
            self.stop_daemon(d)
        # The one-shot discovery says the same, names the server and exits 1.
        p = myorch('discover', '--seed', self.lab.addr(2), '--user', 'myorch', '--password-file', bad)
        self.assertEqual(p.returncode, 1)
        self.assertIn(self.lab.addr(2), p.stderr)
        self.assertIn('Access denied', p.stderr)

    def test_missing_privilege_named(self):
        self.lab.sql(2, "REVOKE SLAVE MONITOR ON *.* FROM 'myorch'@'127.0.0.1'")
        try:
            p = myorch('discover', '--seed', self.lab.addr(2), '--user', 'myorch',
                       '--password-file', self.lab.myorch_password_file)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn(self.lab.addr(2), p.stderr)
            self.assertIn('SLAVE MONITOR', p.stderr)
        finally:
            self.lab.sql(2, "GRANT SLAVE MONITOR ON *.* TO 'myorch'@'127.0.0.1'")

    def test_unreachable_seed(self):
        p = myorch('discover', '--seed', '127.0.0.1:1', '--user', 'myorch',
                   '--password-file', self.lab.myorch_password_file, '--timeout-ms', '3000')
        self.assertEqual(p.returncode, 1)
        self.assertIn('127.0.0.1:1', p.stderr)
        self.assertIn("Can't connect", p.stderr)

    def test_no_daemon_exit_3(self):
        cfg = self.config('nodaemon')
        for cmd in ('status', 'topology'):
            p = myorch(cmd, '-c', cfg)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertIn('no myorch daemon is listening', p.stderr)

    def test_bad_config_exit_4(self):
        cfg = self.config('badkey', global_extra='poll_intervall_ms = 100')
        for args in (('check-config', '-c', cfg), ('run', '-c', cfg)):
            p = myorch(*args)
            self.assertEqual(p.returncode, 4, p.stderr)
            self.assertIn('badkey.ini:4', p.stderr)
            self.assertIn("poll_intervall_ms", p.stderr)
        # World-readable password file: refused, with the chmod to run.
        loose = self.write_config('loose.pass', 'x\n', mode=0o644)
        p = myorch('check-config', '-c', self.config('loose', password_file=loose))
        self.assertEqual(p.returncode, 4)
        self.assertIn('chmod', p.stderr)
        good = myorch('check-config', '-c', self.lab.config_path, '--json')
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertTrue(json.loads(good.stdout)['ok'])

    def test_switchover_help_names_each_option_once(self):
        out = myorch('switchover', '--help', check=True).stdout
        self.assertEqual(out.count('--timeout-ms'), 1, out)   # how long to wait for the controller
        self.assertIn("--catch-up-ms N bound for the target to apply the old primary's final position", out)
        self.assertIn("how long to wait for the controller's answer", out)
        for cmd in ('failover', 'relocate', 'status'):
            out = myorch(cmd, '--help', check=True).stdout
            self.assertEqual(out.count('--timeout-ms'), 1, out)
        p = myorch('switchover', '--catch-up-ms', 'x')
        self.assertEqual(p.returncode, 2)
        self.assertIn('--catch-up-ms', p.stderr)

    def test_bad_cli_arguments_exit_2(self):
        for args in (('topology', '--bogus'), ('discover', '--user', 'x'), ('discover', '--seed', 'h:99999', '--user', 'u'),
                     ('status', '--timeout-ms', 'abc'), ('nosuchcommand',), ()):
            p = myorch(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.strip(), args)
        for cmd in ('run', 'check-config', 'status', 'topology', 'events', 'discover'):
            p = myorch(cmd, '--help')
            self.assertEqual(p.returncode, 0)
            self.assertIn('usage: myorch ' + cmd, p.stdout)
            self.assertIn('Exit codes', p.stdout)

    def test_unknown_cluster(self):
        d = self.start_daemon(self.config('unknowncl'))
        try:
            p = myorch('topology', '-c', d.config, '--cluster', 'nope')
            self.assertEqual(p.returncode, 1)
            self.assertIn("unknown cluster 'nope'", p.stderr)
            self.assertIn('lab', p.stderr)
        finally:
            self.stop_daemon(d)

    def test_forget_after(self):
        n = self.lab.add_replica(1)
        d = self.start_daemon(self.config('forget', global_extra='forget_after_s = 2'))
        try:
            wait_for(lambda: d.instances().get(self.lab.addr(n), {}).get('reachable'), what='new replica seen')
            self.lab.kill(n, 'KILL')
            wait_for(lambda: not d.instances()[self.lab.addr(n)]['reachable'], what='marked down')
            t0 = time.monotonic()
            wait_for(lambda: self.lab.addr(n) not in d.instances(), timeout=15, what='forgotten')
            self.assertGreaterEqual(time.monotonic() - t0, 0.5)
            self.assertIn('instance-forgotten', d.log_text())
            # Seeds are never forgotten, other servers stay.
            self.assertEqual(len(d.instances()), 3)
        finally:
            self.stop_daemon(d)


if __name__ == '__main__':
    harness.main()
