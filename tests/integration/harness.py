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


def start_lab(path, attempts=5, slave_net_timeout=2, **kw):
    """A lab on free ports; another process may grab a port between the check and the
    bind (parallel labs), so a failed start is retried on other ports. Retries scan from a
    random place: parallel runs scanning from the same first port pick the same range again."""
    import random
    for k in range(attempts):
        start = 23306 if k == 0 else random.randrange(23306, 38000, 10)
        L = lab.Lab(path + ('' if k == 0 else '-%d' % k), base_port=lab.free_base_port(count=8, start=start),
                    slave_net_timeout=slave_net_timeout)
        try:
            L.up(**kw)
            return L
        except lab.LabError:
            L.down()
            if k == attempts - 1:
                raise
    raise AssertionError('unreachable')


def start_etcd(path, attempts=3, **kw):
    """A 3-member etcd (lab.EtcdCluster) on free ports, up; a member that exits at start (a
    port taken between the pick and the bind) makes another set of ports be tried."""
    for k in range(attempts):
        e = lab.EtcdCluster(path + ('' if k == 0 else '-%d' % k), **kw)
        try:
            e.up()
            return e
        except lab.LabError:
            e.down(remove=True)
            if k == attempts - 1:
                raise
    raise AssertionError('unreachable')


def write_ha_config(tmp, name, etcd, lab, ttl_ms, prefix='/myorch-test', extra_cluster=''):
    """One controller's config for the HA tests (coordination = etcd): controller NAME, its own
    state directory under tmp, the lab's cluster; extra_cluster: more [cluster.lab] lines.
    Returns the file's path (0600)."""
    path = os.path.join(tmp, name + '.ini')
    with open(path, 'w') as f:
        f.write(f"""[myorch]
state_dir = {tmp}/state-{name}
poll_interval_ms = 300
read_timeout_ms = 800
connect_timeout_ms = 800
log_level = debug
coordination = etcd
etcd_endpoints = {etcd.endpoints}
etcd_prefix = {prefix}
controller_name = {name}
etcd_lease_ttl_ms = {ttl_ms}

[cluster.lab]
seeds = {lab.addr(2)}
user = myorch
password_file = {lab.myorch_password_file}
replication_user = repl
replication_password_file = {lab.repl_password_file}
failover_block_s = 0
{extra_cluster}""")
    os.chmod(path, 0o600)
    os.makedirs(os.path.join(tmp, 'state-' + name), mode=0o700, exist_ok=True)
    return path


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
        cls.lab = start_lab(os.path.join(cls.tmp, 'lab'), servers=cls.SERVERS, topology=cls.TOPOLOGY,
                            semi_sync=cls.SEMI_SYNC)
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


class ClusterTest(unittest.TestCase):
    """A fresh lab and controller per test; helpers to check the cluster from outside."""
    SERVERS = 3
    EXTRA_CLUSTER = ''
    SEMI_SYNC = False
    SLAVE_NET_TIMEOUT = 2

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-fo-')
        self.lab = start_lab(os.path.join(self.tmp, 'lab'), servers=self.SERVERS, semi_sync=self.SEMI_SYNC,
                             slave_net_timeout=self.SLAVE_NET_TIMEOUT, **self.lab_options())
        try:
            self._setup_controller()
        except BaseException:
            # tearDown does not run when setUp fails: stop the controller and the lab's servers here.
            if getattr(self, 'd', None):
                self.d.stop()
            self.lab.down()
            raise

    def _setup_controller(self):
        self.prepare()
        self.config = os.path.join(self.tmp, 'myorch.ini')
        with open(self.config, 'w') as f:
            f.write(f"""[myorch]
state_dir = {self.tmp}/state
poll_interval_ms = 300
read_timeout_ms = 800
connect_timeout_ms = 800
log_level = debug
{self.extra_global()}

[cluster.lab]
seeds = {self.seeds()}
user = myorch
password_file = {self.lab.myorch_password_file}
replication_user = repl
replication_password_file = {self.lab.repl_password_file}
{self.extra_cluster()}
""")
        os.chmod(self.config, 0o600)
        self.lab.sql(1, 'CREATE TABLE IF NOT EXISTS lab.seq (n BIGINT PRIMARY KEY)')
        self.d = Daemon(self.config)
        wait_for(lambda: self.d.topology()['reachable'] == self.SERVERS, what='lab discovered')
        wait_for(lambda: self.status()['recovery']['analysis'] == 'ok', what='analysis ok')

    def tearDown(self):
        rc = self.d.stop()
        failed = any(e for e in (getattr(self._outcome, 'errors', None) or []) if e[1]) if hasattr(self, '_outcome') else False
        if rc != 0 or os.environ.get('MYORCH_SHOW_LOG'):
            sys.stderr.write(self.d.log_text()[-6000:])
        self.lab.down()
        if not os.environ.get('MYORCH_KEEP_TMP'):
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, 'myorch run did not stop cleanly')
        del failed

    def prepare(self):
        """Called after the lab is up, before the controller starts (subclasses start proxies here)."""

    def lab_options(self):
        """Extra keyword arguments of Lab.up() (e.g. tls=...); self.tmp exists already."""
        return {}

    def seeds(self):
        """The seeds line of the [cluster.lab] section."""
        return self.lab.addr(2)

    def extra_cluster(self):
        """Extra lines for the [cluster.lab] section."""
        return self.EXTRA_CLUSTER

    def extra_global(self):
        """Extra lines for the [myorch] section (e.g. http_listen)."""
        return ''

    # ---- helpers -------------------------------------------------------------
    def status(self):
        return json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)['clusters'][0]

    def recoveries(self):
        return json.loads(myorch('recoveries', '-c', self.config, '--json', check=True).stdout)['recoveries']

    def recovery(self, rid):
        return json.loads(myorch('recoveries', '-c', self.config, '--json', '--id', str(rid), check=True).stdout)['recoveries'][0]

    def insert(self, i, first, count):
        vals = ','.join('(%d)' % n for n in range(first, first + count))
        self.lab.sql(i, 'INSERT INTO lab.seq (n) VALUES ' + vals)

    def alive(self, i):
        return self.lab.alive(i)

    def healthy(self, expect_primary=None):
        """Exactly one writable server among the live ones; every other live one replicates from it."""
        live = [i for i in self.lab.indexes if self.alive(i)]
        writable = [i for i in live if self.lab.sql_value(i, 'SELECT @@read_only') == '0']
        if len(writable) != 1:
            return None
        p = writable[0]
        if expect_primary is not None and p != expect_primary:
            return None
        for i in live:
            if i == p:
                continue
            st = self.lab.sql(i, 'SHOW SLAVE STATUS', dicts=True)
            if not st:
                return None
            st = st[0]
            if int(st['Master_Port']) != self.lab.port(p) or st['Slave_IO_Running'] != 'Yes' or st['Slave_SQL_Running'] != 'Yes':
                return None
        return p

    def wait_healthy(self, expect_primary=None, timeout=30):
        return wait_for(lambda: self.healthy(expect_primary), timeout=timeout, interval=0.1,
                        what='one writable primary and every live replica replicating from it')

    def wait_recovery_done(self, n=1, timeout=30):
        def done():
            r = self.recoveries()
            return r if len(r) >= n and r[0]['state'] != 'running' else None
        return wait_for(done, timeout=timeout, what='recovery %d finished' % n)[0]

    def count(self, i):
        return int(self.lab.sql_value(i, 'SELECT COUNT(*) FROM lab.seq'))




    def seqwriter(self, out, follow=True, targets=None, rate=0):
        """Start tests/tools/seqwriter against the lab (all servers, --follow the writable one)."""
        tool = os.path.join(os.environ.get('MYORCH_BUILD') or os.path.dirname(MYORCH), 'seqwriter')
        args = [tool, '--target', ','.join(targets or [self.lab.addr(i) for i in self.lab.indexes]),
                '--user', 'app', '--password-file', self.lab.app_password_file, '--out', out]
        if follow:
            args.append('--follow')
        if rate:
            args += ['--rate', str(rate)]
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    @staticmethod
    def stop_writer(p, out):
        p.terminate()
        p.wait(30)
        with open(out) as f:
            return json.loads(f.read())

    def assert_acked_present(self, result, server):
        """Every acknowledged number is in lab.seq on server, once."""
        rows = self.lab.sql(server, 'SELECT n FROM lab.seq')
        have = set(int(r[0]) for r in rows)
        self.assertEqual(len(have), len(rows), 'duplicate rows')
        missing = [n for lo, hi in result['acked_ranges'] for n in range(lo, hi + 1) if n not in have]
        self.assertEqual(missing[:20], [], '%d acknowledged rows missing' % len(missing))
        return len(have)


HAPROXY = '/usr/sbin/haproxy'


def free_tcp_port():
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class HAProxyFront:
    """A real HAProxy in front of a lab: writer and reader frontends, admin socket in tmp.
    Backends come from the shipped hook's --print-config (servers matched by address)."""

    def __init__(self, tmp, addrs):
        if not os.access(HAPROXY, os.X_OK):
            raise AssertionError('haproxy is not installed (%s): tests/deps.sh installs it' % HAPROXY)
        self.tmp = tmp
        self.sock = os.path.join(tmp, 'admin.sock')
        self.port_w, self.port_r = free_tcp_port(), free_tcp_port()
        hook = os.path.join(SRC, 'hooks', 'myorch-haproxy')
        gen = subprocess.run([hook, '--print-config', '--servers', ','.join(addrs), '--writer-backend', 'be_writer',
                              '--reader-backend', 'be_reader', '--balance', 'roundrobin',
                              '--writer-bind', '127.0.0.1:%d' % self.port_w, '--reader-bind', '127.0.0.1:%d' % self.port_r],
                             capture_output=True, text=True, timeout=60)
        if gen.returncode != 0:
            raise AssertionError('myorch-haproxy --print-config: %s' % gen.stderr)
        cfg = os.path.join(tmp, 'haproxy.cfg')
        with open(cfg, 'w') as f:
            f.write('global\n    stats socket %s mode 600 level admin\n\n'
                    'defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 60s\n'
                    '    timeout server 60s\n\n' % self.sock)
            f.write(gen.stdout)
        self.log = open(os.path.join(tmp, 'haproxy.log'), 'wb')
        self.proc = subprocess.Popen([HAPROXY, '-db', '-f', cfg], stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or 'be_writer' in self.admin('show servers state'),
                 timeout=20, what='HAProxy admin socket')
        if self.proc.poll() is not None:
            raise AssertionError('haproxy exited')

    def hook_command(self, max_lag_s=10):
        return '%s --socket %s --reader-backend be_reader --max-lag-s %s' % (
            os.path.join(SRC, 'hooks', 'myorch-haproxy'), self.sock, max_lag_s)

    def admin(self, command):
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall(command.encode() + b'\n')
            data = b''
            while True:
                c = s.recv(65536)
                if not c:
                    return data.decode()
                data += c
        except OSError:
            return ''
        finally:
            s.close()

    def backend(self, be):
        """{addr:port: 'ready'|'maint'} of a backend."""
        out = self.admin('show servers state').splitlines()
        if len(out) < 2:
            return {}
        cols = out[1][1:].split()
        res = {}
        for ln in out[2:]:
            if not ln.strip():
                continue
            f = dict(zip(cols, ln.split()))
            if f['be_name'] != be:
                continue
            maint = int(f['srv_admin_state']) & 0x23
            res['%s:%s' % (f['srv_addr'], f['srv_port'])] = 'maint' if maint else 'ready'
        return res

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ---- a forged replica registration (COM_REGISTER_SLAVE), MySQL protocol in the stdlib ----

def _read_packet(sock):
    def need(n):
        b = b''
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise ConnectionError('server closed the connection')
            b += chunk
        return b
    hdr = need(4)
    n = hdr[0] | hdr[1] << 8 | hdr[2] << 16
    return hdr[3], need(n)


def _write_packet(sock, seq, payload):
    n = len(payload)
    sock.sendall(bytes([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, seq & 0xff]) + payload)


def _native_scramble(password, salt):
    import hashlib
    if not password:
        return b''
    h1 = hashlib.sha1(password.encode()).digest()
    h2 = hashlib.sha1(h1).digest()
    h3 = hashlib.sha1(salt + h2).digest()
    return bytes(a ^ b for a, b in zip(h1, h3))


def mysql_login(port, user, password, host='127.0.0.1', timeout=10):
    """A logged-in socket (mysql_native_password), for sending raw commands."""
    import socket
    import struct
    s = socket.create_connection((host, port), timeout=timeout)
    seq, p = _read_packet(s)
    if p[0] != 10:
        raise AssertionError('unexpected handshake %r' % p[:20])
    i = p.index(b'\0', 1) + 1            # server version
    i += 4                               # connection id
    salt = p[i:i + 8]
    i += 8 + 1                           # salt part 1 + filler
    i += 2 + 1 + 2 + 2                   # caps low, charset, status, caps high
    salt_len = p[i]
    i += 1 + 10
    salt += p[i:i + max(13, salt_len - 8) - 1]
    caps = 0x0200 | 0x8000 | 0x80000 | 0x1  # PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH, LONG_PASSWORD
    auth = _native_scramble(password, salt)
    resp = struct.pack('<IIB23x', caps, 1 << 24, 33) + user.encode() + b'\0' + bytes([len(auth)]) + auth + \
        b'mysql_native_password\0'
    _write_packet(s, seq + 1, resp)
    seq, p = _read_packet(s)
    if p[0] == 0xfe:                     # auth switch
        j = p.index(b'\0', 1)
        plugin, salt = p[1:j], p[j + 1:].rstrip(b'\0')
        if plugin != b'mysql_native_password':
            raise AssertionError('server asks for auth plugin %r' % plugin)
        _write_packet(s, seq + 1, _native_scramble(password, salt))
        seq, p = _read_packet(s)
    if p[0] != 0:
        raise AssertionError('login as %s failed: %r' % (user, p[3:200]))
    return s


def register_fake_replica(port, user, password, server_id, report_host, report_port):
    """Send COM_REGISTER_SLAVE as any REPLICATION SLAVE account can. The primary lists the
    registration (SHOW SLAVE HOSTS) while the returned socket stays open."""
    return register_fake_replica_raw(port, user, password, server_id, report_host.encode(), report_port)


def register_fake_replica_raw(port, user, password, server_id, report_host_bytes, report_port):
    """register_fake_replica with the report_host given as bytes (any bytes, not only UTF-8)."""
    import struct
    s = mysql_login(port, user, password)
    h = report_host_bytes
    payload = bytes([0x15]) + struct.pack('<I', server_id) + bytes([len(h)]) + h + b'\0\0' + \
        struct.pack('<HII', report_port, 0, 0)
    _write_packet(s, 0, payload)
    _, p = _read_packet(s)
    if p[0] != 0:
        raise AssertionError('COM_REGISTER_SLAVE refused: %r' % p[3:200])
    return s


def sanitized(pid):
    """True when the process runs with AddressSanitizer (its RSS and core limits differ)."""
    try:
        with open('/proc/%d/maps' % pid) as f:
            return 'libasan' in f.read()
    except OSError:
        return False


class FakeListener:
    """A TCP listener that records every connection made to it (and never answers)."""

    def __init__(self, host='127.0.0.1'):
        import socket
        import threading
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.host, self.port = host, self.sock.getsockname()[1]
        self.connections = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        import socket
        while not self._stop:
            try:
                c, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections.append(peer)
            c.close()

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()
