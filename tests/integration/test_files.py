"""Files and process hardening of `myorch run` (issue 11, item 4). No database is needed:
the controller starts, creates its state and control socket, and probes a seed nobody
listens on.

- state_dir must be 0700: a group- or other-accessible one is refused.
- Whatever the caller's umask, state.db and its -wal/-shm are 0600 (umask 077 before SQLite).
- No core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0) unless allow_core_dumps = yes.
"""
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness
from harness import myorch, wait_for


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-files-')
        self.state = os.path.join(self.tmp, 'state')
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, extra=''):
        pw = os.path.join(self.tmp, 'pw')
        with open(pw, 'w') as f:
            f.write('secret\n')
        os.chmod(pw, 0o600)
        path = os.path.join(self.tmp, 'myorch.ini')
        with open(path, 'w') as f:
            f.write('[myorch]\nstate_dir = %s\n%s\n[cluster.c]\nseeds = 127.0.0.1:1\nuser = u\npassword_file = %s\n'
                    % (self.state, extra, pw))
        os.chmod(path, 0o600)
        return path

    def run_daemon(self, cfg, core_unlimited=False):
        def pre():
            os.umask(0o022)
            if core_unlimited:
                hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
                resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
        log = open(os.path.join(self.tmp, 'daemon.log'), 'ab')
        env = dict(os.environ)
        # An ASan build sets RLIMIT_CORE to 0 itself unless told not to.
        env['ASAN_OPTIONS'] = (env.get('ASAN_OPTIONS', '') + ':disable_coredump=0').lstrip(':')
        p = subprocess.Popen([harness.MYORCH, 'run', '-c', cfg], stdout=log, stderr=subprocess.STDOUT,
                             cwd=self.tmp, preexec_fn=pre, env=env)
        log.close()
        self.procs.append(p)
        wait_for(lambda: p.poll() is not None or
                 myorch('status', '-c', cfg, '--timeout-ms', '1000').returncode == 0, what='control socket')
        self.assertIsNone(p.poll(), self.log())
        return p

    def log(self):
        with open(os.path.join(self.tmp, 'daemon.log'), 'rb') as f:
            return f.read().decode(errors='replace')

    def stop(self, p):
        p.terminate()
        self.assertEqual(p.wait(20), 0, self.log())

    def test_state_files_private_whatever_the_umask(self):
        cfg = self.config()
        p = self.run_daemon(cfg)
        db = os.path.join(self.state, 'state.db')
        wait_for(lambda: os.path.exists(db + '-wal') and os.path.exists(db + '-shm'), what='WAL files')
        for name in sorted(os.listdir(self.state)):
            mode = os.stat(os.path.join(self.state, name)).st_mode & 0o777
            self.assertEqual(mode & 0o077, 0, '%s is mode %04o' % (name, mode))
        self.assertEqual(os.stat(self.state).st_mode & 0o777, 0o700)
        self.stop(p)

    def test_state_dir_must_be_0700(self):
        cfg = self.config()
        os.makedirs(self.state)
        for mode in (0o750, 0o705, 0o710):
            os.chmod(self.state, mode)
            r = subprocess.run([harness.MYORCH, 'run', '-c', cfg], capture_output=True, text=True, timeout=20)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("state_dir '%s' is accessible by other users (mode %04o, must be 0700): run chmod 700"
                          % (self.state, mode), r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.state, 'state.db')))

    def test_events_pruned_by_age_and_count(self):
        import sqlite3
        cfg = self.config('events_keep_days = 1\nevents_keep_max = 1000\n')
        self.stop(self.run_daemon(cfg))
        db = sqlite3.connect(os.path.join(self.state, 'state.db'))
        now_ms = int(time.time() * 1000)
        rows = [(now_ms - 3 * 86400000, 'old', 'info', 'c', None, 'three days old', None)] * 50
        rows += [(now_ms - 1000 + k, 'recent', 'info', 'c', None, 'recent %d' % k, None) for k in range(3000)]
        db.executemany('INSERT INTO events (ts_ms, name, level, cluster, instance, message, detail) '
                       'VALUES (?, ?, ?, ?, ?, ?, ?)', rows)
        db.commit()
        self.assertGreaterEqual(db.execute('SELECT count(*) FROM events').fetchone()[0], 3050)
        p = self.run_daemon(cfg)
        wait_for(lambda: db.execute("SELECT count(*) FROM events WHERE name='recent'").fetchone()[0] <= 1000,
                 what='events pruned to events_keep_max')
        self.assertEqual(db.execute("SELECT count(*) FROM events WHERE name='old'").fetchone()[0], 0)
        # (plus the few events the controller wrote after pruning)
        self.assertLessEqual(db.execute('SELECT count(*) FROM events').fetchone()[0], 1000 + 10)
        # The newest are the ones kept.
        self.assertEqual(db.execute("SELECT count(*) FROM events WHERE message='recent 2999'").fetchone()[0], 1)
        db.close()
        self.stop(p)

    def core_size(self, pid):
        with open('/proc/%d/limits' % pid) as f:
            for line in f:
                if line.startswith('Max core file size'):
                    return line.split()[4]
        return None

    def cores(self):
        return [n for n in os.listdir(self.tmp) if n.startswith('core')]

    def test_no_core_dumps(self):
        p = self.run_daemon(self.config(), core_unlimited=True)
        self.assertEqual(self.core_size(p.pid), '0')
        with open('/proc/sys/kernel/core_pattern') as f:
            pattern = f.read().strip()
        if not pattern.startswith('core'):
            self.skipTest('core_pattern %r does not write core files in the cwd' % pattern)
        if harness.sanitized(p.pid):
            self.skipTest('ASan handles SIGSEGV itself')
        os.kill(p.pid, signal.SIGSEGV)
        p.wait(20)
        time.sleep(0.5)
        self.assertEqual(self.cores(), [], 'a core file with the passwords was written')

    def test_allow_core_dumps(self):
        # The switch works, and so the test above could see a core file if one were written.
        p = self.run_daemon(self.config('allow_core_dumps = yes\n'), core_unlimited=True)
        self.assertNotEqual(self.core_size(p.pid), '0')
        self.assertIn('allow_core_dumps = yes', self.log())
        with open('/proc/sys/kernel/core_pattern') as f:
            if not f.read().strip().startswith('core') or harness.sanitized(p.pid):
                self.stop(p)
                return
        os.kill(p.pid, signal.SIGSEGV)
        p.wait(20)
        wait_for(lambda: self.cores(), timeout=10, what='a core file (allow_core_dumps = yes)')


if __name__ == '__main__':
    unittest.main(verbosity=2)
