"""myorch run as a Type=notify service: READY=1 once the configuration is loaded and the
state database open (and not on a bad configuration), WATCHDOG=1 every half WatchdogSec
from the loop, STOPPING=1 on SIGTERM, RELOADING=1 then READY=1 on SIGHUP. The test plays the service manager: a datagram
socket in $NOTIFY_SOCKET, $WATCHDOG_USEC as systemd sets it. No database is needed: the
seed is a closed port (the controller starts and probes it in vain)."""
import os
import select
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness


class SdNotify(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-notify-')
        self.sock_path = os.path.join(self.tmp, 'notify.sock')
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        pw = os.path.join(self.tmp, 'main.pass')
        with open(pw, 'w') as f:
            f.write('secret\n')
        os.chmod(pw, 0o600)
        self.state = os.path.join(self.tmp, 'state')
        self.config = os.path.join(self.tmp, 'myorch.ini')
        with open(self.config, 'w') as f:
            f.write('[myorch]\nstate_dir = %s\n\n[cluster.main]\nseeds = 127.0.0.1:1\nuser = myorch\n'
                    'password_file = %s\n' % (self.state, pw))
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc:
            self.proc.stderr.close()
        self.sock.close()
        subprocess.run(['rm', '-rf', self.tmp])

    def start(self, config=None, watchdog_usec=None):
        env = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'), 'NOTIFY_SOCKET': self.sock_path}
        if watchdog_usec is not None:
            env['WATCHDOG_USEC'] = str(watchdog_usec)
        self.proc = subprocess.Popen([harness.MYORCH, 'run', '-c', config or self.config], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def messages(self, seconds):
        """(monotonic time, message) for every datagram received within `seconds`."""
        out, end = [], time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return out
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                out.append((time.monotonic(), self.sock.recv(4096).decode()))

    def wait_message(self, prefix, seconds=10):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for t, m in self.messages(min(0.2, end - time.monotonic())):
                if m.startswith(prefix):
                    return t, m
            if self.proc.poll() is not None:
                self.fail('myorch exited %d: %s' % (self.proc.returncode, self.proc.stderr.read()))
        self.fail('no %s message within %ss' % (prefix, seconds))

    def test_ready_after_state_open_then_watchdog_then_stopping(self):
        self.start(watchdog_usec=400000)
        _, ready = self.wait_message('READY=1')
        self.assertIn('STATUS=monitoring 1 cluster(s)', ready)
        # the state database is open and the control socket answers once READY is sent
        self.assertTrue(os.path.exists(os.path.join(self.state, 'state.db')))
        st = harness.myorch('status', '-c', self.config, '--json')
        self.assertEqual(st.returncode, 0, st.stderr)
        # Drop what queued up while `myorch status` ran (read late, those arrive back to back).
        self.sock.setblocking(False)
        try:
            while self.sock.recv(4096):
                pass
        except BlockingIOError:
            pass
        self.sock.setblocking(True)
        pings = [t for t, m in self.messages(1.5) if m == 'WATCHDOG=1']
        # every 200 ms (half of 400 ms): 7 in 1.5 s; allow for a loaded machine
        self.assertGreaterEqual(len(pings), 5, pings)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 0.4, gaps)       # never the full interval
        self.assertGreater(min(gaps), 0.1, gaps)    # paced, not every loop turn
        self.proc.send_signal(signal.SIGTERM)
        self.wait_message('STOPPING=1')
        self.assertEqual(self.proc.wait(timeout=30), 0)

    def test_no_watchdog_without_watchdogsec(self):
        self.start()
        self.wait_message('READY=1')
        msgs = [m for _, m in self.messages(1.0)]
        self.assertNotIn('WATCHDOG=1', msgs)
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0)

    def reload_messages(self, seconds=10):
        """SIGHUP, then the messages until READY=1 (in order)."""
        self.proc.send_signal(signal.SIGHUP)
        got, end = [], time.monotonic() + seconds
        while time.monotonic() < end and not any(m.startswith('READY=1') for m in got):
            got += [m for _, m in self.messages(0.2)]
        return got

    def test_reload_reloading_then_ready(self):
        """SIGHUP (systemctl reload): RELOADING=1 with MONOTONIC_USEC, then READY=1 again,
        for an accepted file and for a refused one (the running configuration stays)."""
        self.start()
        self.wait_message('READY=1')
        with open(self.config, 'a') as f:
            f.write('poll_interval_ms = 700\n')
        for _ in range(2):
            got = self.reload_messages()
            kinds = [m.split('\n')[0] for m in got]
            self.assertIn('RELOADING=1', kinds)
            self.assertIn('READY=1', kinds)
            self.assertLess(kinds.index('RELOADING=1'), kinds.index('READY=1'), got)
            self.assertIn('MONOTONIC_USEC=', got[kinds.index('RELOADING=1')])
            with open(self.config, 'a') as f:
                f.write('no_such_key = 1\n')  # the second round: refused
        self.assertIsNone(self.proc.poll())
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(timeout=30), 0)
        err = self.proc.stderr.read()
        self.assertIn('config-reloaded', err)
        self.assertIn('config-reload-failed', err)

    def test_bad_configuration_never_ready(self):
        bad = os.path.join(self.tmp, 'bad.ini')
        with open(bad, 'w') as f:
            f.write('[myorch]\npoll_interval_ms = 5\n')
        self.start(config=bad, watchdog_usec=400000)
        self.assertEqual(self.proc.wait(timeout=30), 4)
        self.assertEqual(self.messages(0.3), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
