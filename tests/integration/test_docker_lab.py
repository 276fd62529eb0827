"""The docker lab's files, checked without starting containers (seconds, no engine needed).

The lab itself (images, failover, switchover) runs in `docker/lab e2e`, which .ci/run calls
when a Docker engine is present. Here: the compose file validates, HAProxy accepts its
configuration, myorch accepts the lab's configuration (hook lines included), the hook accepts
the options the configuration gives it, the scripts parse, `docker/lab e2e` skips cleanly
without an engine, and the writer's range arithmetic (what `docker/lab check` reports).
"""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('MYORCH_SRC') or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKER = os.path.join(SRC, 'docker')
MYORCH = os.environ.get('MYORCH_BIN')


def load_writer():
    path = os.path.join(DOCKER, 'writer', 'lab-writer')
    loader = importlib.machinery.SourceFileLoader('lab_writer', path)
    spec = importlib.util.spec_from_loader('lab_writer', loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def compose_cli():
    if shutil.which('docker'):
        r = subprocess.run(['docker', 'compose', 'version'], capture_output=True, text=True)
        if r.returncode == 0:
            return ['docker', 'compose']
    if shutil.which('docker-compose'):
        return ['docker-compose']
    return None


class ScriptsTest(unittest.TestCase):
    def test_shell_scripts_parse(self):
        for rel, shell in (('lab', 'bash'), ('e2e.sh', 'bash'), ('base/mkbase.sh', 'bash'),
                           ('mariadb/entrypoint.sh', 'bash'), ('myorch/entrypoint.sh', 'sh')):
            path = os.path.join(DOCKER, rel)
            self.assertTrue(os.access(path, os.X_OK), '%s is not executable' % path)
            r = subprocess.run([shell, '-n', path], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, '%s: %s' % (rel, r.stderr))

    def test_help(self):
        r = subprocess.run([os.path.join(DOCKER, 'lab'), 'help'], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ('up', '--ha', 'kill-primary', 'kill-controller', 'switchover', 'check', 'down', 'e2e'):
            self.assertIn(word, r.stdout)

    def test_e2e_skips_without_engine(self):
        env = dict(os.environ, DOCKER_HOST='unix:///nonexistent/docker.sock')
        r = subprocess.run([os.path.join(DOCKER, 'lab'), 'e2e'], capture_output=True, text=True, env=env,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('skipped', r.stdout)


class ComposeTest(unittest.TestCase):
    def test_compose_config_validates(self):
        cli = compose_cli()
        if cli is None:
            self.skipTest('no docker compose / docker-compose CLI')
        # needs the CLI only: no engine, no secrets, no images
        env = dict(os.environ, DOCKER_HOST='unix:///nonexistent/docker.sock')
        for extra in ({}, {'LAB_FLAVOR': 'mariadb', 'LAB_DB_IMAGE': 'mariadb:11.4'}):
            r = subprocess.run(cli + ['-p', 'myorch-lab-test', '-f', os.path.join(DOCKER, 'docker-compose.yml'),
                                      'config'], capture_output=True, text=True, env=dict(env, **extra), timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            for svc in ('db1:', 'db2:', 'db3:', 'myorch:', 'haproxy:', 'writer:'):
                self.assertIn(svc, r.stdout)
            self.assertIn('%s.cnf' % extra.get('LAB_FLAVOR', 'mysql'), r.stdout)
            # secrets are files: an environment variable may name one, never hold one
            self.assertNotRegex(r.stdout, r'(?im)^[ \t]+\w*(PASSWORD|PWD)\w*:[ \t]*(?!/run/secrets/)\S',
                                'a password value in the compose file')

    def test_ha_compose_config_validates(self):
        """docker-compose.ha.yml on top of docker-compose.yml (what docker/lab passes): etcd1..3 and
        myorch1..3 beside the single lab's services, each controller with its own state volume."""
        cli = compose_cli()
        if cli is None:
            self.skipTest('no docker compose / docker-compose CLI')
        env = dict(os.environ, DOCKER_HOST='unix:///nonexistent/docker.sock')
        r = subprocess.run(cli + ['-p', 'myorch-lab-test', '-f', os.path.join(DOCKER, 'docker-compose.yml'),
                                  '-f', os.path.join(DOCKER, 'docker-compose.ha.yml'), 'config'],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        for svc in ('db1:', 'haproxy:', 'writer:', 'etcd1:', 'etcd2:', 'etcd3:', 'myorch1:', 'myorch2:',
                    'myorch3:', 'myorch1-state:', 'myorch3-state:', 'myorch-ha.ini'):
            self.assertIn(svc, r.stdout)
        self.assertIn('--initial-cluster=etcd1=http://etcd1:2380,etcd2=http://etcd2:2380,etcd3=http://etcd3:2380',
                      r.stdout)
        self.assertNotRegex(r.stdout, r'(?im)^[ \t]+\w*(PASSWORD|PWD)\w*:[ \t]*(?!/run/secrets/)\S',
                            'a password value in the compose file')


class HaproxyConfigTest(unittest.TestCase):
    def test_haproxy_accepts_the_lab_config(self):
        haproxy = shutil.which('haproxy') or ('/usr/sbin/haproxy' if os.access('/usr/sbin/haproxy', os.X_OK) else None)
        if haproxy is None:
            self.skipTest('haproxy is not installed')
        r = subprocess.run([haproxy, '-c', '-f', os.path.join(DOCKER, 'haproxy', 'haproxy.cfg')],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_hook_accepts_the_configured_options(self):
        hook = os.path.join(SRC, 'hooks', 'myorch-haproxy')
        hook_lines = {}
        for ini in ('myorch.ini', 'myorch-ha.ini'):
            with open(os.path.join(DOCKER, 'myorch', ini)) as f:
                hook_lines[ini] = [ln for ln in f
                                   if ln.startswith(('post_failover', 'post_switchover', 'on_topology_change'))]
        # the HA controllers move HAProxy exactly as the single one does
        self.assertEqual(hook_lines['myorch.ini'], hook_lines['myorch-ha.ini'])
        lines = [ln.split('=', 1)[1].split() for ln in hook_lines['myorch.ini']]
        self.assertEqual(len(lines), 3)
        for argv in lines:
            self.assertEqual(argv[0], 'myorch-haproxy')
            r = subprocess.run([hook] + argv[1:] + ['--print-config', '--servers', 'db1:3306,db2:3306,db3:3306'],
                               capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            for name in ('db1', 'db2', 'db3'):
                self.assertIn('server %s db%s:3306' % (name, name[-1]), r.stdout)


class MyorchConfigTest(unittest.TestCase):
    def test_myorch_accepts_the_lab_config(self):
        self.check_config('myorch.ini')

    def test_myorch_accepts_the_ha_lab_config(self):
        self.check_config('myorch-ha.ini')

    def check_config(self, ini):
        if not MYORCH or not os.access(MYORCH, os.X_OK):
            self.skipTest('MYORCH_BIN not set (run through ctest)')
        tmp = tempfile.mkdtemp(prefix='myorch-docker-cfg-')
        try:
            with open(os.path.join(DOCKER, 'myorch', ini)) as f:
                text = f.read()
            if ini == 'myorch-ha.ini':
                self.assertRegex(text, r'(?m)^coordination = etcd$')
                self.assertRegex(text, r'(?m)^etcd_endpoints = http://etcd1:2379, http://etcd2:2379, '
                                       r'http://etcd3:2379$')
            for name in ('myorch_password', 'repl_password'):
                p = os.path.join(tmp, name)
                fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)
                os.write(fd, b'secret-' + name.encode())
                os.close(fd)
                text = text.replace('/run/myorch/' + name, p)
            text = text.replace('state_dir = /var/lib/myorch', 'state_dir = ' + os.path.join(tmp, 'state'))
            cfg = os.path.join(tmp, 'myorch.ini')
            with open(cfg, 'w') as f:
                f.write(text)
            # The image puts the shipped hooks in PATH; config load checks the hook programs exist.
            env = dict(os.environ, PATH=os.path.join(os.path.dirname(DOCKER), 'hooks') + ':' + os.environ['PATH'])
            r = subprocess.run([MYORCH, 'check-config', '-c', cfg], capture_output=True, text=True, timeout=30,
                               env=env)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            # ... and it is refused where they are missing, naming the program.
            env['PATH'] = '/usr/bin:/bin'
            r = subprocess.run([MYORCH, 'check-config', '-c', cfg], capture_output=True, text=True, timeout=30,
                               env=env)
            self.assertEqual(r.returncode, 4, r.stdout + r.stderr)
            self.assertIn('not found in PATH', r.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class WriterRangesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.w = load_writer()

    def test_merge(self):
        self.assertEqual(self.w.merge_ranges([[5, 7], [1, 3], [4, 4], [10, 12], [11, 15]]), [[1, 7], [10, 15]])
        self.assertEqual(self.w.merge_ranges([]), [])

    def test_subtract(self):
        s = self.w.subtract
        self.assertEqual(s([[1, 10]], [[1, 10]]), [])
        self.assertEqual(s([[1, 10]], []), [[1, 10]])
        self.assertEqual(s([[1, 10]], [[1, 3], [5, 6], [9, 12]]), [[4, 4], [7, 8]])
        self.assertEqual(s([[1, 3], [7, 9]], [[2, 8]]), [[1, 1], [9, 9]])
        self.assertEqual(s([[5, 5]], [[1, 4], [6, 9]]), [[5, 5]])

    def test_ranges_of_sorted(self):
        self.assertEqual(self.w.ranges_of_sorted([1, 2, 3, 5, 6, 9]), [[1, 3], [5, 6], [9, 9]])

    def test_segments_fold_into_state_with_stalls(self):
        w = self.w
        st = w.new_state('haproxy:3306')
        # seqwriter --gap-threshold-ms 0: one [last_ok, length] per acknowledged write
        w.merge_segment(st, {'acked': 3, 'errors': 0, 'dup_on_retry': 0, 'next': 4,
                             'acked_ranges': [[1, 3]], 'gaps': [[1000, 5], [1005, 5], [1010, 5]]}, 1000)
        w.merge_segment(st, {'acked': 0, 'errors': 40, 'dup_on_retry': 0, 'next': 4, 'first_error': '2013: lost',
                             'acked_ranges': [], 'gaps': []}, 2000)
        w.merge_segment(st, {'acked': 2, 'errors': 1, 'dup_on_retry': 1, 'next': 7,
                             'acked_ranges': [[5, 6]], 'gaps': [[3000, 400], [3400, 5]]}, 3000)
        self.assertEqual(st['acked'], 5)
        self.assertEqual(st['errors'], 41)
        self.assertEqual(st['next'], 7)
        self.assertEqual(st['acked_ranges'], [[1, 3], [5, 6]])
        self.assertEqual(st['last_ack_ms'], 3405)
        self.assertEqual(st['stalls'], [[1015, 2385]])
        self.assertEqual(st['first_error'], '2013: lost')


if __name__ == '__main__':
    unittest.main(verbosity=2)
