"""myorch run --watch (issue 12 item 9): on a terminal the tree is redrawn in place with the
latest events under it; into a pipe or a file it is appended, as a log."""
import os
import pty
import select
import signal
import subprocess
import time

import harness
from harness import MYORCH, wait_for


def read_for(fd, seconds, until=None):
    out = b''
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if until and until in out:
                break
    return out


class Watch(harness.LabTestCase):
    SERVERS = 3

    def test_redraw_in_place_on_a_terminal(self):
        pid, fd = pty.fork()
        if pid == 0:
            os.execv(MYORCH, [MYORCH, 'run', '-c', self.lab.config_path, '--watch', '--no-color'])
        try:
            out = read_for(fd, 15, until=b'recent events')
            self.assertIn(b'\x1b[H\x1b[2J', out, 'the screen is cleared and redrawn')
            self.assertIn(b'--- recent events', out)
            out = read_for(fd, 10, until=b'instance-discovered')
            screens = (out.split(b'\x1b[H\x1b[2J'))
            self.assertTrue(any(b'instance-' in s or b'analysis-changed' in s for s in screens), out[-2000:])
        finally:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
            os.close(fd)

    def test_appended_into_a_pipe(self):
        p = subprocess.Popen([MYORCH, 'run', '-c', self.lab.config_path, '--watch'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        try:
            fd = p.stdout.fileno()
            out = read_for(fd, 15, until=b'=== ')
            out += read_for(fd, 1)
            self.assertIn(b'=== ', out)
            self.assertNotIn(b'\x1b[2J', out)
            self.assertNotIn(b'recent events', out)
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(30)


if __name__ == '__main__':
    harness.main()
