"""Shared helpers for myorch integration tests (Python stdlib only).

Each test module starts its own lab of real mariadbd servers (tests/lab/lab.py)
on free loopback ports, runs the real `myorch` binary against it and asserts
on what the CLI reports. Timeouts are generous: these tests assert behaviour,
not speed (speed lives in bench/).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get('MYORCH_SRC') or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, 'tests', 'lab'))
import lab  # noqa: E402

MYORCH = os.environ.get('MYORCH_BIN') or os.path.join(SRC, 'build', 'myorch')


def myorch(*args, timeout=30, check=False, input=None):
    """Run the myorch CLI; returns CompletedProcess (text)."""
    p = subprocess.run([MYORCH, *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and p.returncode != 0:
        raise AssertionError('myorch %s exited %d\nstdout: %s\nstderr: %s'
                         % (' '.join(args), p.returncode, p.stdout, p.stderr))
    return p


def wait_for(pred, timeout=30.0, interval=0.05, what='condition'):
    """Poll pred() until it returns a truthy value; return it, or fail."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
        except Exception as e:  # transient CLI / SQL errors while things settle
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError('timed out after %.0fs waiting for %s (last: %r)' % (timeout, what, last))


class Daemon:
    """A `myorch run` process on a lab's config."""

    def __init__(self, config, extra=()):
        self.config = config
        self.log_path = config + '.daemon.log'
        self.log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen([MYORCH, 'run', '-c', config, *extra], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or
                 myorch('status', '-c', config, '--timeout-ms', '1000').returncode == 0,
                 timeout=30, what='daemon control socket')
        if self.proc.poll() is not None:
            raise AssertionError('myorch run exited %d:\n%s' % (self.proc.returncode, self.log_text()))

    def log_text(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, 'rb') as f:
            return f.read().decode(errors='replace')

    def topology(self, cluster='lab'):
        p = myorch('topology', '-c', self.config, '--json', '--cluster', cluster, '--timeout-ms', '5000')
        if p.returncode != 0:
            raise RuntimeError('topology: %s' % p.stderr)
        return json.loads(p.stdout)['clusters'][0]

    def instances(self, cluster='lab'):
        return {i['addr']: i for i in self.topology(cluster)['instances']}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class LabTestCase(unittest.TestCase):
    """Starts a fresh lab per test class; subclasses set SERVERS/TOPOLOGY."""
    SERVERS = 3
    TOPOLOGY = 'star'
    SEMI_SYNC = False

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='myorch-it-')
        cls.lab = lab.Lab(os.path.join(cls.tmp, 'lab'), base_port=lab.free_base_port(count=8))
        cls.lab.up(servers=cls.SERVERS, topology=cls.TOPOLOGY, semi_sync=cls.SEMI_SYNC)
        cls.daemons = []

    @classmethod
    def tearDownClass(cls):
        for d in cls.daemons:
            d.stop()
        cls.lab.down()
        if os.environ.get('MYORCH_KEEP_TMP'):
            print('kept', cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def start_daemon(self, config=None, extra=()):
        d = Daemon(config or self.lab.config_path, extra)
        self.daemons.append(d)
        return d

    def stop_daemon(self, d):
        rc = d.stop()
        self.daemons.remove(d)
        # A clean stop exits 0; sanitizer reports (leaks at exit) make it non-zero.
        self.assertEqual(rc, 0, 'myorch run exited %s:\n%s' % (rc, d.log_text()[-4000:]))
        return rc

    def write_config(self, name, text, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        os.chmod(path, mode)
        return path


def main():
    unittest.main(verbosity=2)
