"""The control socket (issue 11, item 3): CURVE keys and roles on tcp:// endpoints, bounded
requests, and ipc paths that never replace the state database or any other file.

The daemon is the real `myorch run`; the clients are the real CLI, except for the oversized
request, which a hand-written ZMTP 3.0 client (stdlib sockets) sends as a libzmq DEALER would.
"""
import json
import os
import socket
import struct
import subprocess
import threading
import time

import harness
from harness import myorch, wait_for, free_tcp_port


def vm_kb(pid, field):
    """VmRSS / VmHWM of a process in KiB."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise AssertionError('no %s for pid %d' % (field, pid))


def recv_exact(s, n):
    buf = b''
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError('peer closed after %d of %d bytes' % (len(buf), n))
        buf += chunk
    return buf


def zmtp_null_dealer(path):
    """A ZMTP 3.0 NULL-mechanism DEALER connection to an ipc:// endpoint, after the handshake."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(b'\xff' + b'\0' * 8 + b'\x7f' + b'\x03\x00' + b'NULL'.ljust(20, b'\0') + b'\0' + b'\0' * 31)
    greeting = recv_exact(s, 64)
    assert greeting[0] == 0xff and greeting[9] == 0x7f, greeting
    body = b'\x05READY' + b'\x0bSocket-Type' + struct.pack('>I', 6) + b'DEALER'
    s.sendall(b'\x04' + bytes([len(body)]) + body)
    flags = recv_exact(s, 1)[0]
    size = recv_exact(s, 1)[0] if not flags & 0x02 else struct.unpack('>Q', recv_exact(s, 8))[0]
    assert flags & 0x04 and recv_exact(s, size).startswith(b'\x05READY'), 'no READY from the daemon'
    return s


class ControlSocket(harness.LabTestCase):
    SERVERS = 3

    def keygen(self, prefix):
        p = myorch('keygen', '--out', os.path.join(self.tmp, prefix), check=True)
        self.assertIn('wrote', p.stdout)
        return os.path.join(self.tmp, prefix + '.key'), os.path.join(self.tmp, prefix + '.pub')

    def config(self, name, global_extra='', seeds=None):
        state = os.path.join(self.tmp, name + '.state')
        os.makedirs(state, mode=0o700, exist_ok=True)
        return self.write_config(name + '.ini', f"""[myorch]
state_dir = {state}
poll_interval_ms = 300
read_timeout_ms = 800
connect_timeout_ms = 800
{global_extra}
[cluster.lab]
seeds = {seeds or self.lab.addr(2)}
user = myorch
password_file = {self.lab.myorch_password_file}
replication_user = repl
replication_password_file = {self.lab.repl_password_file}
""")

    def assert_refused_at_load(self, config, *texts):
        for cmd in ('check-config', 'run'):
            p = myorch(cmd, '-c', config, timeout=20)
            self.assertEqual(p.returncode, 4, '%s: %s %s' % (cmd, p.stdout, p.stderr))
            for t in texts:
                self.assertIn(t, p.stderr)

    # ---- tcp:// needs CURVE ---------------------------------------------------------------
    def test_tcp_without_keys_refused_at_load(self):
        port = free_tcp_port()
        cfg = self.config('nokeys', 'control_socket = tcp://127.0.0.1:%d\n' % port)
        self.assert_refused_at_load(cfg, 'nokeys.ini:', 'control_socket = tcp://127.0.0.1:%d accepts anyone' % port,
                                    "myorch keygen --out", 'control_secret_key_file')
        # Nothing listens: the daemon never started.
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(('127.0.0.1', port), timeout=2).close()

    def test_keygen_modes_and_no_overwrite(self):
        key, pub = self.keygen('kg')
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(pub).st_mode & 0o777, 0o644)
        for path in (key, pub):
            with open(path) as f:
                self.assertEqual(len(f.read().strip()), 40)
        with open(key) as f:
            before = f.read()
        p = myorch('keygen', '--out', os.path.join(self.tmp, 'kg'))
        self.assertEqual(p.returncode, 1)
        self.assertIn('never overwritten', p.stderr)
        with open(key) as f:
            self.assertEqual(f.read(), before)

    def test_curve_keys_and_roles(self):
        os.makedirs(os.path.join(self.tmp, 'operators'), mode=0o755)
        os.makedirs(os.path.join(self.tmp, 'readers'), mode=0o755)
        server_key, server_pub = self.keygen('server')
        alice_key, _ = self.keygen('operators/alice')
        bob_key, _ = self.keygen('readers/bob')
        eve_key, eve_pub = self.keygen('eve')
        ctl, ev = free_tcp_port(), free_tcp_port()
        ep = 'tcp://127.0.0.1:%d' % ctl
        cfg = self.config('curve', f"""control_socket = {ep}
event_socket = tcp://127.0.0.1:{ev}
control_secret_key_file = {server_key}
control_operator_keys = {self.tmp}/operators
control_readonly_keys = {self.tmp}/readers
control_client_key_file = {alice_key}
""")
        d = self.start_daemon(cfg)  # waits until `status -c cfg` (alice's key) answers
        try:
            wait_for(lambda: d.topology()['reachable'] == 3, what='lab discovered')
            # An operator key (from the config) runs status.
            st = json.loads(myorch('status', '-c', cfg, '--json', check=True).stdout)
            self.assertEqual(st['clusters'][0]['primary'], self.lab.addr(1))
            # A read-only key, without the controller's config: the server's .pub and the client's key file.
            remote = ['--socket', ep, '--server-key-file', server_pub, '--key-file', bob_key]
            p = myorch('status', *remote, '--json')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(json.loads(p.stdout)['clusters'][0]['primary'], self.lab.addr(1))
            p = myorch('topology', *remote)
            self.assertEqual(p.returncode, 0, p.stderr)
            # ... but a switchover (or any other change) is refused, and nothing happens.
            p = myorch('switchover', *remote, '--to', self.lab.addr(3), timeout=60)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("'switchover' is refused: this client's key (readonly:bob) is read-only", p.stderr)
            p = myorch('maintenance', 'begin', '--cluster', 'lab', *remote)
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn('read-only', p.stderr)
            self.assertEqual(self.lab.sql_value(1, 'SELECT @@read_only'), '0')
            self.assertIn("refused 'switchover' from readonly:bob", d.log_text())
            # An unknown key: refused by the ZAP handler; the CLI says so at once (no timeout wait).
            t0 = time.monotonic()
            p = myorch('status', '-c', cfg, '--key-file', eve_key, '--timeout-ms', '20000')
            self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
            self.assertIn("refused this client's key", p.stderr)
            self.assertLess(time.monotonic() - t0, 10)
            self.assertIn('refused a CURVE client from 127.0.0.1', d.log_text())
            # A client that does not know the real server key gets no answer and a clear message.
            p = myorch('status', '--socket', ep, '--server-key-file', eve_pub, '--key-file', alice_key,
                       '--timeout-ms', '2000')
            self.assertNotEqual(p.returncode, 0)
            self.assertIn('CURVE handshake', p.stderr)
            # Without keys the CLI refuses to talk to a tcp endpoint at all.
            p = myorch('status', '--socket', ep)
            self.assertEqual(p.returncode, 2)
            self.assertIn('needs CURVE keys', p.stderr)
            # A client speaking plain ZMTP (NULL mechanism) never gets a control session.
            s = socket.create_connection(('127.0.0.1', ctl), timeout=5)
            s.sendall(b'\xff' + b'\0' * 8 + b'\x7f' + b'\x03\x00' + b'NULL'.ljust(20, b'\0') + b'\0' * 32)
            with self.assertRaises(ConnectionError):  # the server drops it during the greeting
                recv_exact(s, 1000)
            s.close()

            # The read-only key follows the event stream while the operator switches over.
            events = subprocess.Popen([harness.MYORCH, 'events', '-c', cfg, '--key-file', bob_key, '--json',
                                       '--timeout-ms', '15000'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True)
            time.sleep(1.0)  # the subscription is in place (PUB drops for late joiners)
            p = myorch('switchover', '-c', cfg, '--to', self.lab.addr(3), '--json', timeout=120)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            r = json.loads(p.stdout)
            self.assertEqual(r['state'], 'done')
            self.assertEqual(r['new_primary'], self.lab.addr(3))
            wait_for(lambda: self.lab.sql_value(3, 'SELECT @@read_only') == '0' and
                     self.lab.sql_value(1, 'SELECT @@read_only') == '1', what='server 3 promoted, 1 demoted')
            wait_for(lambda: json.loads(myorch('status', *remote, '--json', check=True).stdout)
                     ['clusters'][0]['primary'] == self.lab.addr(3), what='read-only status shows the new primary')
            out, err = events.communicate(timeout=60)
            self.assertIn('switchover', out, err)
        finally:
            self.stop_daemon(d)

    # ---- bounded requests ------------------------------------------------------------------
    def test_oversized_request_dropped(self):
        cfg = self.config('big', seeds='127.0.0.1:1')
        d = self.start_daemon(cfg)
        try:
            path = os.path.join(self.tmp, 'big.state', 'control.sock')
            hwm_before = vm_kb(d.proc.pid, 'VmHWM')
            s = zmtp_null_dealer(path)
            total = 300 * 1024 * 1024
            s.sendall(b'\x01\x00')  # the empty delimiter frame, more to come
            s.sendall(b'\x02' + struct.pack('>Q', total))  # one 300 MB frame
            chunk = b'{' * (1024 * 1024)
            sent = 0
            try:
                while sent < total:
                    s.sendall(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                pass
            s.close()
            time.sleep(0.5)
            hwm_after = vm_kb(d.proc.pid, 'VmHWM')
            grew_mb = (hwm_after - hwm_before) / 1024.0
            print('oversized request: %d MB of 300 accepted by the socket, daemon peak RSS %d -> %d MB (+%.1f)'
                  % (sent >> 20, hwm_before >> 10, hwm_after >> 10, grew_mb))
            self.assertLess(sent, total, 'the daemon read the whole 300 MB request')
            self.assertLess(grew_mb, 32, 'the daemon grew by %.0f MB' % grew_mb)
            # It keeps answering.
            p = myorch('status', '-c', cfg, '--json')
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(d.proc.poll(), None)
        finally:
            self.stop_daemon(d)

    # ---- ipc paths -------------------------------------------------------------------------
    def test_event_socket_on_state_db_refused(self):
        cfg = self.config('db', seeds='127.0.0.1:1')
        d = self.start_daemon(cfg)
        self.stop_daemon(d)
        db = os.path.join(self.tmp, 'db.state', 'state.db')
        before = os.stat(db)
        with open(db, 'rb') as f:
            self.assertEqual(f.read(16), b'SQLite format 3\0')
        bad = self.config('db', 'event_socket = ipc://%s\n' % db, seeds='127.0.0.1:1')
        p = subprocess.Popen([harness.MYORCH, 'run', '-c', bad], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            out, err = p.communicate(timeout=5)  # refused at once; the old code ran on
        except subprocess.TimeoutExpired:
            p.terminate()
            out, err = p.communicate(timeout=20)
        after = os.lstat(db)
        self.assertTrue(os.path.isfile(db) and not os.path.islink(db), 'state.db was replaced (mode %o)' % after.st_mode)
        self.assertEqual((after.st_ino, after.st_size), (before.st_ino, before.st_size))
        with open(db, 'rb') as f:
            self.assertEqual(f.read(16), b'SQLite format 3\0')
        self.assertEqual(p.returncode, 4, out + err)
        self.assertIn("event_socket 'ipc://%s' is inside state_dir" % db, err)

    def test_ipc_path_on_a_regular_file_refused(self):
        notes = self.write_config('notes.txt', 'keep me\n', mode=0o644)
        cfg = self.config('notes', 'control_socket = ipc://%s\n' % notes, seeds='127.0.0.1:1')
        self.assert_refused_at_load(cfg, '%s exists and is not a socket (a regular file)' % notes)
        with open(notes) as f:
            self.assertEqual(f.read(), 'keep me\n')


if __name__ == '__main__':
    harness.main()
