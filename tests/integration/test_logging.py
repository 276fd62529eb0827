"""The controller's log: log_format = json, journald-friendly lines when stderr is the
journal ($JOURNAL_STREAM), log_file reopened on SIGUSR1 (logrotate), and the config
errors of those keys. No database needed: the seed is a closed port."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

import harness

def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


TS = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z ')


class Logging(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-log-')
        self.pw = os.path.join(self.tmp, 'main.pass')
        with open(self.pw, 'w') as f:
            f.write('secret\n')
        os.chmod(self.pw, 0o600)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        subprocess.run(['rm', '-rf', self.tmp])

    def config(self, extra):
        path = os.path.join(self.tmp, 'myorch.ini')
        with open(path, 'w') as f:
            f.write('[myorch]\nstate_dir = %s/state\n%s\n[cluster.main]\nseeds = 127.0.0.1:1\nuser = myorch\n'
                    'password_file = %s\n' % (self.tmp, extra, self.pw))
        return path

    def run_daemon(self, config, env_extra=None, stderr_path=None):
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin')}
        env.update(env_extra or {})
        err = open(stderr_path or os.path.join(self.tmp, 'stderr'), 'wb')
        p = subprocess.Popen([harness.MYORCH, 'run', '-c', config], env=env, stdout=subprocess.DEVNULL, stderr=err)
        err.close()
        self.procs.append(p)
        return p

    def wait_text(self, path, what, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if os.path.exists(path):
                with open(path, 'rb') as f:
                    t = f.read().decode('utf-8', 'replace')
                if what in t:
                    return t
            time.sleep(0.05)
        self.fail('%r not in %s within %ss' % (what, path, timeout))

    def stop(self, p):
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=30), 0)

    def test_json_lines(self):
        p = self.run_daemon(self.config('log_format = json'))
        self.wait_text(os.path.join(self.tmp, 'stderr'), 'first probe round')
        self.stop(p)
        lines = read(os.path.join(self.tmp, 'stderr')).splitlines()
        self.assertGreater(len(lines), 3)
        for line in lines:
            j = json.loads(line)                   # every line one JSON document
            self.assertEqual(set(j), {'ts', 'level', 'msg'})
            self.assertRegex(j['ts'] + ' ', TS)
            self.assertIn(j['level'], ('error', 'warn', 'info', 'debug'))
        self.assertTrue(any('running' in json.loads(l)['msg'] for l in lines))

    def test_journal_stream_no_timestamps_and_priorities(self):
        err = os.path.join(self.tmp, 'stderr')
        open(err, 'wb').close()
        st = os.stat(err)
        p = self.run_daemon(self.config(''), {'JOURNAL_STREAM': '%d:%d' % (st.st_dev, st.st_ino)}, err)
        self.wait_text(err, 'first probe round')
        self.stop(p)
        lines = read(err).splitlines()
        for line in lines:
            self.assertRegex(line, r'^<[3467]>(error|warn |info |debug) ')
            self.assertNotRegex(line[3:], TS)
        self.assertTrue(any(l.startswith('<6>info  myorch') and 'running' in l for l in lines))
        self.assertTrue(any(l.startswith('<3>error instance-down') for l in lines))

    def test_journal_stream_of_another_file_is_ignored(self):
        # e.g. inherited from a parent whose stderr was the journal, ours is a file
        p = self.run_daemon(self.config(''), {'JOURNAL_STREAM': '1:2'})
        err = os.path.join(self.tmp, 'stderr')
        self.wait_text(err, 'first probe round')
        self.stop(p)
        for line in read(err).splitlines():
            self.assertRegex(line, TS)

    def test_log_file_reopened_on_sigusr1(self):
        log = os.path.join(self.tmp, 'logs', 'myorch.log')
        os.mkdir(os.path.dirname(log))
        p = self.run_daemon(self.config('log_file = %s' % log))
        self.wait_text(log, 'first probe round')
        self.assertEqual(os.stat(log).st_mode & 0o777, 0o600)
        os.rename(log, log + '.1')                 # logrotate's move
        p.send_signal(signal.SIGUSR1)
        self.wait_text(log, 'SIGUSR1: log file reopened')
        self.stop(p)
        new = read(log)
        self.assertIn('signal 15: stopping', new)   # later lines go to the new file
        old = read(log + '.1')
        self.assertIn('running', old)
        self.assertNotIn('SIGUSR1', old)
        self.assertEqual(read(os.path.join(self.tmp, 'stderr')), '')  # nothing on stderr

    def test_unopenable_log_file_refuses_to_start(self):
        p = self.run_daemon(self.config('log_file = %s/no/such/dir/myorch.log' % self.tmp))
        self.assertEqual(p.wait(timeout=30), 1)
        err = read(os.path.join(self.tmp, 'stderr'))
        self.assertIn("log_file '%s/no/such/dir/myorch.log': cannot open: No such file or directory" % self.tmp, err)

    def test_config_errors(self):
        for extra, want in [
            ('log_format = xml', 'log_format'),
            ('log_file = myorch.log', 'an absolute file path'),
            ('log_file = %s/state/myorch.log' % self.tmp, 'inside state_dir'),
        ]:
            r = harness.myorch('check-config', '-c', self.config(extra))
            self.assertEqual(r.returncode, 4, (extra, r.stdout, r.stderr))
            self.assertIn('myorch.ini:3:', r.stderr)
            self.assertIn(want, r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
