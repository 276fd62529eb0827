"""Fault-injection lab: hosts as network namespaces on a private bridge (Python 3 stdlib).

Layout (one lab at a time; a lock file guards it):

    namespace myorchf-sw       the switch: bridge br0 and the switch side of every veth
                               (p-<host>); cuts are nftables rules here (table bridge faults)
    namespace myorchf-<host>   one per host: lo + eth0 = 10.77.0.<n>/24, no default route,
                               so nothing leaves the subnet; mariadbd / myorch / seqwriter
                               run inside with `ip netns exec`

Faults:
    isolate(h)       drop everything to and from h's switch port (a silent black hole,
                     like a pulled cable behind a switch); rejoin(h) undoes it
    link_down(h)     the switch port goes down (h sees NO-CARRIER); link_up(h)
    cut(a, b)        drop IP traffic between a and b only, both ways; heal(a, b)
    impair(delay_ms, loss_pct)
                     on every host's egress: loss with iptables `statistic` and delay with
                     an NFQUEUE delayer (nfqdelay.py). `tc netem` is the usual tool but this
                     kernel has no sch_netem (nor sch_fq): see nfqdelay.py
    processes:       kill/stop/continue via os.kill on pids the harness started

Everything the harness creates is named with the myorchf- prefix (namespaces) and lives
under one work directory; cleanup() (also run at exit, on SIGTERM/SIGINT, and by
`run --cleanup`) kills every process in those namespaces and deletes them, which also
removes the bridge and every veth.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
import lab  # tests/lab/lab.py, on the path set by the entry point (tests/faults/run)  # noqa: E402

PREFIX = 'myorchf-'
SWITCH = PREFIX + 'sw'
SUBNET = '10.77.0'
LOCK_PATH = '/run/myorch-faults.lock'
DB_PORT = 3306
HEARTBEAT_S = 0.1    # MASTER_HEARTBEAT_PERIOD of the lab's replicas (= myorch's default heartbeat_period_ms)
KILL_CONN_TIMEOUT_S = int(os.environ.get('MYORCH_FAULTS_KILL_CONN_TIMEOUT', '1'))


class FaultError(RuntimeError):
    pass


def sh(argv, check=True, input=None, timeout=30):
    r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise FaultError('%s failed (rc=%d): %s' % (' '.join(argv), r.returncode, (r.stderr or r.stdout).strip()))
    return r


def list_namespaces():
    r = sh(['ip', 'netns', 'list'], check=False)
    return [ln.split()[0] for ln in r.stdout.splitlines() if ln.strip()]


def ns_pids(ns):
    r = sh(['ip', 'netns', 'pids', ns], check=False)
    return [int(x) for x in r.stdout.split() if x.isdigit()]


def kill_pids(pids, timeout=10):
    for pid in pids:
        for sig in (signal.SIGCONT, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    for pid in pids:
        while lab.proc_state(pid) not in (None, 'Z', 'X') and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def cleanup_all(verbose=False):
    """Kill every process in a myorchf- namespace and delete the namespaces (idempotent)."""
    names = [n for n in list_namespaces() if n.startswith(PREFIX)]
    for n in names:
        pids = ns_pids(n)
        if pids and verbose:
            print('cleanup: killing %s in %s' % (pids, n), file=sys.stderr)
        kill_pids(pids)
    for n in names:
        sh(['ip', 'netns', 'del', n], check=False)
        if verbose:
            print('cleanup: deleted namespace %s' % n, file=sys.stderr)
    return names


class Lock:
    """One fault lab per machine (the subnet and namespace names are fixed)."""

    def __init__(self, path=LOCK_PATH):
        self.path = path
        self.f = None

    def acquire(self, wait=False):
        self.f = open(self.path, 'a+')
        try:
            fcntl.flock(self.f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            self.f.seek(0)
            holder = self.f.read().strip()
            self.f.close()
            self.f = None
            raise FaultError('another fault run holds %s (pid %s)' % (self.path, holder or '?')) from None
        self.f.seek(0)
        self.f.truncate()
        self.f.write(str(os.getpid()))
        self.f.flush()

    def release(self):
        if self.f:
            self.f.close()
            self.f = None


# ---------------------------------------------------------------- the network

class Net:
    def __init__(self):
        self.hosts = {}          # name -> octet
        self.isolated = set()    # host names
        self.cuts = set()        # frozenset({a, b})
        self.down = set()
        self.impairment = None   # (delay_ms, loss_pct)
        self.delayers = {}       # host -> Popen
        self.procs = []          # every Popen started in a namespace
        self._lock = threading.RLock()

    # -------------------------------------------------------- names
    @staticmethod
    def ns(host):
        return PREFIX + host

    def addr(self, host):
        return '%s.%d' % (SUBNET, self.hosts[host])

    def host_of_addr(self, ip):
        for h, o in self.hosts.items():
            if '%s.%d' % (SUBNET, o) == ip:
                return h
        return None

    def exec_argv(self, host, argv):
        return ['ip', 'netns', 'exec', self.ns(host)] + list(argv)

    # -------------------------------------------------------- build / tear down
    def setup(self):
        cleanup_all()
        sh(['ip', 'netns', 'add', SWITCH])
        sw = ['ip', '-n', SWITCH]
        sh(sw + ['link', 'set', 'lo', 'up'])
        sh(sw + ['link', 'add', 'br0', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'])
        sh(sw + ['link', 'set', 'br0', 'up'])
        self._apply_cuts()

    def add_host(self, name, octet):
        if len('p-' + name) > 15:
            raise FaultError('host name too long: %s' % name)
        ns = self.ns(name)
        sh(['ip', 'netns', 'add', ns])
        sh(['ip', '-n', SWITCH, 'link', 'add', 'p-' + name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
        sh(['ip', '-n', SWITCH, 'link', 'set', 'p-' + name, 'master', 'br0', 'up'])
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        sh(['ip', '-n', ns, 'addr', 'add', '%s.%d/24' % (SUBNET, octet), 'dev', 'eth0'])
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
        # No default route: only 10.77.0.0/24 (connected) is reachable from inside.
        self.hosts[name] = octet

    def teardown(self):
        for p in list(self.procs):
            with contextlib.suppress(Exception):
                kill_pids([p.pid])
                p.wait(timeout=5)
        self.procs.clear()
        self.delayers.clear()
        cleanup_all()
        self.hosts.clear()

    # -------------------------------------------------------- processes
    def popen(self, host, argv, log_path=None, **kw):
        out = open(log_path, 'ab') if log_path else subprocess.DEVNULL
        try:
            p = subprocess.Popen(self.exec_argv(host, argv), stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, **kw)
        finally:
            if log_path:
                out.close()
        self.procs.append(p)
        return p

    def run(self, host, argv, timeout=30, check=True):
        return sh(self.exec_argv(host, argv), check=check, timeout=timeout)

    # -------------------------------------------------------- faults
    def _apply_cuts(self):
        rules = []
        for h in sorted(self.isolated):
            rules += ['iifname "p-%s" drop' % h, 'oifname "p-%s" drop' % h]
        for pair in sorted(tuple(sorted(c)) for c in self.cuts):
            a, b = (self.addr(x) for x in pair)
            rules += ['ip saddr %s ip daddr %s drop' % (a, b), 'ip saddr %s ip daddr %s drop' % (b, a)]
        text = ('table bridge faults\nflush table bridge faults\n'
                'table bridge faults {\n  chain cuts {\n    type filter hook forward priority 0; policy accept;\n'
                + ''.join('    %s\n' % r for r in rules) + '  }\n}\n')
        sh(['ip', 'netns', 'exec', SWITCH, 'nft', '-f', '-'], input=text)

    def isolate(self, host):
        with self._lock:
            self.isolated.add(host)
            self._apply_cuts()

    def rejoin(self, host):
        with self._lock:
            self.isolated.discard(host)
            self._apply_cuts()

    def cut(self, a, b):
        with self._lock:
            self.cuts.add(frozenset((a, b)))
            self._apply_cuts()

    def split(self, zone_a, zone_b):
        """Cut every link between two groups of hosts at once (one nft transaction)."""
        with self._lock:
            for a in zone_a:
                for b in zone_b:
                    self.cuts.add(frozenset((a, b)))
            self._apply_cuts()

    def heal(self, a=None, b=None):
        with self._lock:
            if a is None:
                self.cuts.clear()
            else:
                self.cuts.discard(frozenset((a, b)))
            self._apply_cuts()

    def link_down(self, host):
        sh(['ip', '-n', SWITCH, 'link', 'set', 'p-' + host, 'down'])
        self.down.add(host)

    def link_up(self, host):
        sh(['ip', '-n', SWITCH, 'link', 'set', 'p-' + host, 'up'])
        self.down.discard(host)

    def reachable(self, a, b):
        """True when no fault in force separates hosts a and b (what the harness injected)."""
        with self._lock:
            return not ({a, b} & (self.isolated | self.down)) and frozenset((a, b)) not in self.cuts

    def impair(self, delay_ms, loss_pct, workdir, hosts=None):
        """Delay (ms, one way) and loss (%) on the egress of every host (or the given ones)."""
        hosts = list(hosts or self.hosts)
        for h in hosts:
            ready = os.path.join(workdir, 'nfqdelay-%s.ready' % h)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(ready)
            if delay_ms > 0:
                p = self.popen(h, [sys.executable, os.path.join(HERE, 'nfqdelay.py'), '--queue', '0',
                                   '--delay-ms', str(delay_ms), '--ready-file', ready],
                               log_path=os.path.join(workdir, 'nfqdelay-%s.log' % h))
                self.delayers[h] = p
                deadline = time.monotonic() + 10
                while not os.path.exists(ready):
                    if p.poll() is not None or time.monotonic() > deadline:
                        raise FaultError('nfqdelay in %s did not start: %s' % (
                            h, lab.tail(os.path.join(workdir, 'nfqdelay-%s.log' % h))))
                    time.sleep(0.02)
            ipt = ['iptables', '-w']
            dst = ['-d', '%s.0/24' % SUBNET]
            if loss_pct > 0:
                self.run(h, ipt + ['-A', 'OUTPUT'] + dst + ['-m', 'statistic', '--mode', 'random',
                                                            '--probability', '%.4f' % (loss_pct / 100.0), '-j', 'DROP'])
            if delay_ms > 0:
                self.run(h, ipt + ['-A', 'OUTPUT'] + dst + ['-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass'])
        self.impairment = (delay_ms, loss_pct)

    def clear_impairment(self):
        for h in self.hosts:
            self.run(h, ['iptables', '-w', '-F', 'OUTPUT'], check=False)
        for h, p in list(self.delayers.items()):
            with contextlib.suppress(Exception):
                p.terminate()
                p.wait(timeout=5)
        self.delayers.clear()
        self.impairment = None


# ---------------------------------------------------------------- MariaDB servers in namespaces

class NsLab(lab.Lab):
    """tests/lab/lab.py's Lab, with server N in namespace myorchf-dbN at 10.77.0.N:3306.

    Reuses the lab's cached template datadir, option set, bootstrap and semi-sync setup;
    changes only where the server lives and how replicas find their source."""

    def __init__(self, dir, net, semi_sync_timeout_ms=600000, semi_sync_wait_point='AFTER_SYNC', **kw):
        self.net = net
        self.semi_sync_timeout_ms = semi_sync_timeout_ms
        self.semi_sync_wait_point = semi_sync_wait_point
        super().__init__(dir, base_port=DB_PORT, **kw)

    @staticmethod
    def host(i):
        return 'db%d' % int(i)

    def ip(self, i):
        return self.net.addr(self.host(i))

    def port(self, i):
        return DB_PORT

    def addr(self, i):
        return '%s:%d' % (self.ip(i), DB_PORT)

    def index_of_ip(self, ip):
        h = self.net.host_of_addr(ip)
        return int(h[2:]) if h and h.startswith('db') else None

    def index_of_addr(self, addr):
        return self.index_of_ip(addr.rsplit(':', 1)[0]) if addr else None

    def _check_port_free(self, port):
        pass  # every server has its own namespace

    def _server_args(self, s):
        ip = self.ip(s['index'])
        a = []
        for x in super()._server_args(s):
            if x == '--bind-address=127.0.0.1':
                x = '--bind-address=' + ip
            elif x == '--report-host=127.0.0.1':
                x = '--report-host=' + ip
            a.append(x)
        if self.state.get('semi_sync'):
            a += ['--rpl-semi-sync-master-timeout=%d' % self.semi_sync_timeout_ms,
                  '--rpl-semi-sync-master-wait-point=%s' % self.semi_sync_wait_point,
                  # A semi-sync replica's STOP SLAVE connects to its primary to kill the dump
                  # thread; a hung primary accepts the TCP connection and never answers, so
                  # every STOP waits this bound (measured on 10.11.19: 2.0 s with the default 5,
                  # 1.0 s with 1; 0 means wait forever). Issue 18, see README.
                  '--rpl-semi-sync-slave-kill-conn-timeout=%d' % KILL_CONN_TIMEOUT_S]
        return a

    def _spawn(self, i):
        s = self.server(i)
        os.makedirs(os.path.dirname(s['error_log']), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(s['socket'])
        s['error_log_offset'] = os.path.getsize(s['error_log']) if os.path.exists(s['error_log']) else 0
        out = open(os.path.join(self.dir, 's%d' % i, 'mariadbd.out'), 'ab')
        try:
            p = subprocess.Popen(self.net.exec_argv(self.host(i), self._server_args(s)), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
        finally:
            out.close()
        self._procs[i] = p
        s['pid'] = p.pid       # `ip netns exec` execs mariadbd: same pid
        return p

    def _alive(self, i, pid=None):
        # A child we just started may still show the harness's command line (between fork
        # and the exec of `ip netns exec`, then of mariadbd): trust our own Popen for it.
        p = self._procs.get(int(i))
        pid = pid or self.server(i).get('pid')
        if p is not None and p.pid == pid:
            return p.poll() is None and lab.proc_state(pid) not in (None, 'Z', 'X')
        return super()._alive(i, pid)

    def _is_ours(self, pid):
        cmd = lab.proc_cmdline(pid)
        if not cmd:
            return False
        prefix = '--datadir=' + self.dir + os.sep
        if not any(a.startswith(prefix) for a in cmd):
            return False
        b = os.path.basename(cmd[0])
        return b.startswith(('mariadbd', 'mysqld')) or b == 'ip'

    def grants_sql(self, host=None):
        return super().grants_sql(host or '%s.%%' % SUBNET)

    def _bootstrap_primary(self, i):
        sql = self.grants_sql()
        with open(lab.BOOTSTRAP_FILE) as f:
            boot = f.read().replace('@APP_PASSWORD@', lab.sql_str(self.state['app_password'])[1:-1])
        sql += '\n' + boot.replace("'app'@'127.0.0.1'", "'app'@'%s.%%'" % SUBNET)
        self.sql(i, sql)

    def set_source(self, i, source_i, wait=True, from_binlog_pos=None, timeout=None, delay_s=0):
        s = self.server(i)
        if from_binlog_pos is None:
            from_binlog_pos = s['role'] == 'primary'
        stmts = ['STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only=ON']
        if from_binlog_pos:
            stmts.append('SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos')
        stmts.append("CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%d, MASTER_USER='repl', MASTER_PASSWORD=%s, "
                     "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=%.3f%s"
                     % (lab.sql_str(self.ip(source_i)), DB_PORT, lab.sql_str(self.state['repl_password']), HEARTBEAT_S,
                        ', MASTER_DELAY=%d' % delay_s if delay_s else ''))
        stmts.append('START SLAVE')
        self.sql(i, ';\n'.join(stmts) + ';')
        s['role'] = 'replica'
        s['source'] = source_i
        self._save()
        if wait:
            self.wait_replicating(i, timeout=timeout or self.start_timeout)

    def wait_replicating(self, i, timeout=30, caught_up=True):
        deadline = time.monotonic() + timeout
        while True:
            st = self.slave_status(i)
            if st is None:
                raise lab.LabError('server %d is not configured as a replica' % i)
            if st.get('Slave_IO_Running') == 'Yes' and st.get('Slave_SQL_Running') == 'Yes':
                break
            if time.monotonic() > deadline:
                raise lab.LabError('server %d not replicating after %ss: IO=%s SQL=%s %s %s'
                                   % (i, timeout, st.get('Slave_IO_Running'), st.get('Slave_SQL_Running'),
                                      st.get('Last_IO_Error'), st.get('Last_SQL_Error')))
            time.sleep(0.05)
        if caught_up and st.get('SQL_Delay', '0') in ('0', None):
            src = self.index_of_ip(st.get('Master_Host'))
            if src is not None:
                pos = self.sql_value(src, 'SELECT @@gtid_binlog_pos')
                left = max(1.0, deadline - time.monotonic())
                if pos and self.sql_value(i, 'SELECT MASTER_GTID_WAIT(%s, %.1f)' % (lab.sql_str(pos), left),
                                          timeout=left + 10) != '0':
                    raise lab.LabError('server %d did not reach %s within %ss' % (i, pos, timeout))
        return st

    def sql(self, i, stmt, user='root', password=None, timeout=None, dicts=False):
        if user != 'root' or password is not None:
            raise lab.LabError('NsLab.sql: only root over the unix socket')
        return super().sql(i, stmt, timeout=timeout, dicts=dicts)



# ---------------------------------------------------------------- etcd members in namespaces

ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380


class NsEtcd(lab.EtcdCluster):
    """tests/lab/lab.py's EtcdCluster (same options: heartbeat 100 ms, election 1000 ms), with
    member N in namespace myorchf-etcdN at 10.77.0.(30+N), client port 2379, peer port 2380:
    a member can be killed, stopped or cut off like any other host (issue 14)."""

    def __init__(self, dir, net, members=3):
        self.net = net
        super().__init__(dir, members=members, base_port=ETCD_CLIENT_PORT)
        for m in self.state['members']:
            m['client'], m['peer'] = ETCD_CLIENT_PORT, ETCD_PEER_PORT
        self._save()

    @staticmethod
    def host(i):
        return 'etcd%d' % int(i)

    def ip(self, i):
        return self.net.addr(self.host(i))

    def url(self, i):
        return 'http://%s:%d' % (self.ip(i), ETCD_CLIENT_PORT)

    def _args(self, m):
        """The lab's argv (its timing options included), with the namespace addresses."""
        peer = lambda i: 'http://%s:%d' % (self.ip(i), ETCD_PEER_PORT)  # noqa: E731
        repl = {'--listen-peer-urls': peer(m['index']), '--initial-advertise-peer-urls': peer(m['index']),
                '--initial-cluster': ','.join('%s=%s' % (x['name'], peer(x['index'])) for x in self.state['members'])}
        a = super()._args(m)
        for k, v in repl.items():
            a[a.index(k) + 1] = v
        return a

    def _spawn(self, m):
        d = os.path.join(self.dir, m['name'])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'etcd.log'), 'ab') as log:
            p = subprocess.Popen(self.net.exec_argv(self.host(m['index']), self._args(m)), stdout=log, stderr=log,
                                 stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        m['pid'] = p.pid       # `ip netns exec` execs etcd: same pid
        self._procs[m['index']] = p
        self._save()

    def healthy(self, i, timeout=1.0):
        """/health of member i asked from its own namespace (the harness has no route into the lab)."""
        r = self.net.run(self.host(i), ['curl', '-s', '-m', '%.1f' % timeout, self.url(i) + '/health'],
                         timeout=timeout + 5, check=False)
        try:
            return json.loads(r.stdout or '{}').get('health') == 'true'
        except ValueError:
            return False


# ---------------------------------------------------------------- helpers

def wait_for(pred, timeout=30.0, interval=0.05, what='condition'):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = pred()
        except Exception as e:  # noqa: BLE001 - transient CLI / SQL errors while things settle
            last = e
        if last and not isinstance(last, Exception):
            return last
        if time.monotonic() >= deadline:
            raise AssertionError('timed out after %.0fs waiting for %s (last: %r)' % (timeout, what, last))
        time.sleep(interval)


def now_ms():
    return int(time.time() * 1000)


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.chmod(path, 0o600)


# ---------------------------------------------------------------- a tiny MySQL client (unix socket, root)

class MiniConn:
    """Minimal MySQL protocol client for one-value queries as root over the unix socket
    (no password, as the lab's template has it): the writability sampler runs it every
    100 ms per server, far cheaper than spawning the mariadb client."""

    def __init__(self, path, timeout=1.0):
        import socket as _s
        self.s = _s.socket(_s.AF_UNIX, _s.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.seq = 0
        greet = self._read()
        if greet[0] != 10:
            raise OSError('unexpected handshake')
        caps = 0x00000200 | 0x00008000 | 0x00080000 | 0x00000001 | 0x00000004  # PROTOCOL_41 SECURE PLUGIN_AUTH LONG_PW LONG_FLAG
        resp = (caps.to_bytes(4, 'little') + (1 << 24).to_bytes(4, 'little') + bytes([33]) + b'\0' * 23
                + b'root\0' + b'\0' + b'mysql_native_password\0')
        self._write(resp)
        r = self._read()
        if r[0] == 0xfe:                      # auth switch: empty answer
            self._write(b'')
            r = self._read()
        if r[0] != 0:
            raise OSError('auth failed: %r' % r[:80])

    def _read(self):
        hdr = self._recvn(4)
        ln = int.from_bytes(hdr[:3], 'little')
        self.seq = (hdr[3] + 1) & 0xff
        return self._recvn(ln)

    def _recvn(self, n):
        b = b''
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise OSError('connection closed')
            b += c
        return b

    def _write(self, payload):
        self.s.sendall(len(payload).to_bytes(3, 'little') + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) & 0xff

    def value(self, sql):
        self.seq = 0
        self._write(b'\x03' + sql.encode())
        r = self._read()
        if r[0] == 0xff:
            raise OSError('query failed: %r' % r[3:120])
        ncol = r[0]
        for _ in range(ncol):
            self._read()                      # column definitions
        self._read()                          # EOF
        val = None
        first = True
        while True:
            r = self._read()
            if r[0] == 0xfe and len(r) < 9:   # EOF
                return val
            if first:
                first = False
                if r[0] == 0xfb:
                    val = None
                else:
                    n = r[0]
                    off = 1
                    if n == 0xfc:
                        n = int.from_bytes(r[1:3], 'little')
                        off = 3
                    val = r[off:off + n].decode()

    def close(self):
        with contextlib.suppress(OSError):
            self.s.close()
