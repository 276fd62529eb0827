"""Client authentication plugins: a server that asks for a plugin sending the password as
typed (mysql_clear_password, dialog) never receives it (issue 11 item 1).

A fake server (fakeauth.py) answers the handshake with an auth switch; the controller's
connection (myorch discover, which uses the same connection opener as the monitor and the
recovery executor) must refuse the switch and send nothing."""
import os
import shutil
import tempfile
import unittest

import harness
from fakeauth import FakeAuthServer
from harness import myorch


class RestrictedAuth(unittest.TestCase):
    PASSWORD = 'S3cret-pw-for-the-fake-server'

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-auth-')
        self.pwfile = os.path.join(self.tmp, 'pw')
        with open(self.pwfile, 'w') as f:
            f.write(self.PASSWORD)
        os.chmod(self.pwfile, 0o600)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def discover_against(self, plugin):
        srv = FakeAuthServer(plugin).start()
        try:
            p = myorch('discover', '--seed', '127.0.0.1:%d' % srv.port, '--user', 'myorch',
                       '--password-file', self.pwfile, '--timeout-ms', '1500', '--json', timeout=30)
        finally:
            srv.stop()
        self.assertGreaterEqual(srv.connections, 1, 'the client never connected to the fake server')
        return p, srv

    def assert_no_secret(self, srv):
        pw = self.PASSWORD.encode()
        self.assertNotIn(pw, srv.handshake_responses)
        self.assertNotIn(pw, srv.received, 'the password was sent to the fake server')
        self.assertEqual(srv.received, b'', 'the client answered the auth switch: %r' % srv.received)

    def test_clear_password_switch_gets_nothing(self):
        p, srv = self.discover_against('mysql_clear_password')
        self.assert_no_secret(srv)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('refused the authentication plugin the server asked for (allowed here: ', p.stderr)

    def test_dialog_switch_gets_nothing(self):
        p, srv = self.discover_against('dialog')
        self.assert_no_secret(srv)


if __name__ == '__main__':
    harness.main()
