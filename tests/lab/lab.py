#!/usr/bin/env python3
"""Local lab of real MariaDB servers on 127.0.0.1 for myorch tests.

Module and CLI (Python 3.11, stdlib only). See tests/lab/README.md.

    import sys; sys.path.insert(0, 'tests/lab'); import lab
    L = lab.Lab('/tmp/x', base_port=23306)
    L.up(servers=3, topology='star')
    L.sql(2, 'SHOW SLAVE STATUS', user='myorch')
    L.down()

Everything lives under the caller-given directory DIR:
    DIR/lab.json            servers, ports, pids, roles (rewritten on every change)
    DIR/myorch.ini          ready controller config (cluster "lab", seed = server 2)
    DIR/myorch.pass         password of the myorch user (0600, no trailing newline)
    DIR/repl.pass           password of the repl user (0600, no trailing newline)
    DIR/state/              controller state_dir (created, empty)
    DIR/sN/data             datadir of server N (copied from a cached template)
    DIR/sN/error.log        server error log
    DIR/sN/mariadbd.out     server stdout/stderr
Server N listens on 127.0.0.1:(base_port + N - 1) with server_id N.

The users myorch and repl are created from sql/grants-mariadb.sql (placeholders
substituted), never with extra privileges; root is only used over the unix socket.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GRANTS_FILE = os.path.join(REPO, 'sql', 'grants-mariadb.sql')
BOOTSTRAP_FILE = os.path.join(REPO, 'sql', 'lab-bootstrap.sql')

# Options given both to mariadb-install-db (template) and to every server: the
# InnoDB system tablespace and redo log must match what the template was built with.
INNODB_FILE_OPTS = [
    '--innodb-log-file-size=8M',
    '--innodb-data-file-path=ibdata1:4M:autoextend',
    '--innodb-autoextend-increment=1',
    '--innodb-buffer-pool-size=16M',
]

SIGNALS = {'KILL': signal.SIGKILL, 'STOP': signal.SIGSTOP,
           'CONT': signal.SIGCONT, 'TERM': signal.SIGTERM,
           'INT': signal.SIGINT, 'HUP': signal.SIGHUP}


class LabError(RuntimeError):
    pass


class SQLError(LabError):
    def __init__(self, msg, returncode=None, stderr=''):
        super().__init__(msg)
        self.returncode = returncode
        self.stderr = stderr


# ---------------------------------------------------------------- helpers

def _which(names, fallback_dirs=('/usr/sbin', '/usr/bin', '/usr/local/bin',
                                 '/usr/local/mysql/bin')):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
        for d in fallback_dirs:
            c = os.path.join(d, n)
            if os.access(c, os.X_OK):
                return c
    raise LabError('none of %s found in PATH' % (names,))


def _binaries():
    env = os.environ
    return {
        'mariadbd': env.get('MYORCH_MARIADBD') or _which(['mariadbd', 'mysqld']),
        'install_db': env.get('MYORCH_MARIADB_INSTALL_DB')
        or _which(['mariadb-install-db', 'mysql_install_db']),
        'client': env.get('MYORCH_MARIADB_CLIENT') or _which(['mariadb', 'mysql']),
    }


def _server_version(mariadbd):
    out = subprocess.run([mariadbd, '--version'], capture_output=True,
                         text=True, timeout=30).stdout
    m = re.search(r'Ver\s+(\S+)', out)
    v = m.group(1) if m else 'unknown'
    return re.sub(r'[^A-Za-z0-9._-]', '_', v)


def _write_file(path, data, mode=0o644):
    tmp = path + '.tmp%d' % os.getpid()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data.encode() if isinstance(data, str) else data)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def tail(path, n=40, offset=0):
    """Last n lines of a log, starting no earlier than byte offset."""
    try:
        with open(path, 'rb') as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(offset if offset <= size else 0, size - 16384))
            lines = f.read().decode(errors='replace').splitlines()
        return '\n'.join(lines[-n:])
    except OSError as e:
        return '(cannot read %s: %s)' % (path, e)


def proc_state(pid):
    """'R','S','T','Z',... or None if no such process."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            s = f.read()
        return s[s.rindex(')') + 2]
    except (OSError, ValueError):
        return None


def proc_cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return [a.decode(errors='replace') for a in f.read().split(b'\0') if a]
    except OSError:
        return []


def _mysql_handshake_ok(sock_path, timeout=1.0):
    """True when the server accepts on its unix socket and sends a handshake."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        hdr = b''
        while len(hdr) < 5:
            chunk = s.recv(5 - len(hdr))
            if not chunk:
                return False
            hdr += chunk
        return hdr[4] == 10        # protocol version 10 (0xff would be an error packet)
    except OSError:
        return False
    finally:
        s.close()


def _parse_xml_output(out):
    """Parse `mariadb --xml` output (one document per result set) into a list
    of (columns, rows) with NULL -> None."""
    results = []
    for doc in out.split('<?xml version="1.0"?>'):
        doc = doc.strip()
        if not doc:
            continue
        root = ET.fromstring(doc)
        cols, rows = [], []
        for row in root.iter('row'):
            vals, names = [], []
            for field in row.iter('field'):
                names.append(field.get('name'))
                nil = field.get('{http://www.w3.org/2001/XMLSchema-instance}nil')
                vals.append(None if nil == 'true' else (field.text or ''))
            if not cols:
                cols = names
            rows.append(tuple(vals))
        results.append((cols, rows))
    return results


def _tls_state(tls):
    if not tls:
        return None
    out = {}
    for k in ('ca', 'cert', 'key'):
        if not tls.get(k) or not os.path.isfile(tls[k]):
            raise LabError('tls: %s file missing: %r' % (k, tls.get(k)))
        out[k] = os.path.abspath(tls[k])
    out['require_secure_transport'] = bool(tls.get('require_secure_transport', True))
    return out


def sql_str(s):
    return "'" + str(s).replace('\\', '\\\\').replace("'", "\\'") + "'"


def free_base_port(count=8, start=23306, stop=40000, step=10):
    """First base port >= start such that base..base+count-1 are all free on
    127.0.0.1 (for tests that run several labs side by side)."""
    for base in range(start, stop, step):
        ok = True
        for port in range(base, base + count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mariadbd does
                s.bind(('127.0.0.1', port))
            except OSError:
                ok = False
            finally:
                s.close()
            if not ok:
                break
        if ok:
            return base
    raise LabError('no free range of %d ports in [%d, %d)' % (count, start, stop))


# ---------------------------------------------------------------- the lab

class Lab:
    """A set of mariadbd processes under one directory.

    Server indexes start at 1. Server N: port base_port+N-1, server_id N.
    """

    def __init__(self, dir, base_port=23306, cache_dir=None, slave_net_timeout=2,
                 start_timeout=60.0, sql_timeout=30.0):
        self.dir = os.path.abspath(dir)
        self.base_port = int(base_port)
        self.cache_dir = (cache_dir or os.environ.get('MYORCH_LAB_CACHE')
                          or tempfile.gettempdir())
        self.slave_net_timeout = slave_net_timeout
        self.start_timeout = start_timeout
        self.sql_timeout = sql_timeout
        self.timings = {}
        self._procs = {}            # index -> Popen (servers started by this object)
        self._lock = threading.RLock()
        self._bins = None
        self.state = {'servers': {}, 'base_port': self.base_port}
        self._load()

    # ------------------------------------------------ state / paths
    @property
    def json_path(self):
        return os.path.join(self.dir, 'lab.json')

    @property
    def config_path(self):
        return os.path.join(self.dir, 'myorch.ini')

    @property
    def myorch_password_file(self):
        return os.path.join(self.dir, 'myorch.pass')

    @property
    def app_password_file(self):
        """Password of the lab's application user `app` (INSERT/SELECT/UPDATE/DELETE on lab.*)."""
        return os.path.join(self.dir, 'app.pass')

    @property
    def repl_password_file(self):
        return os.path.join(self.dir, 'repl.pass')

    @property
    def servers(self):
        """List of server dicts (index, port, datadir, socket, pid, server_id,
        role, source, error_log), ordered by index."""
        return [self.state['servers'][k]
                for k in sorted(self.state['servers'], key=int)]

    @property
    def indexes(self):
        return sorted(int(k) for k in self.state['servers'])

    def server(self, i):
        try:
            return self.state['servers'][str(int(i))]
        except KeyError:
            raise LabError('no server %s in lab %s' % (i, self.dir)) from None

    def port(self, i):
        return self.base_port + int(i) - 1

    def addr(self, i):
        return '127.0.0.1:%d' % self.port(i)

    def index_of_port(self, port):
        for s in self.servers:
            if s['port'] == int(port):
                return s['index']
        return None

    @property
    def primary(self):
        for s in self.servers:
            if s['role'] == 'primary':
                return s['index']
        return None

    def password(self, user):
        if user == 'myorch':
            return self.state.get('myorch_password')
        if user == 'repl':
            return self.state.get('repl_password')
        if user == 'app':
            return self.state.get('app_password')
        return None

    def _load(self):
        try:
            with open(self.json_path) as f:
                st = json.load(f)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as e:
            raise LabError('cannot read %s: %s' % (self.json_path, e)) from None
        self.state = st
        if 'base_port' in st:
            self.base_port = int(st['base_port'])

    def _save(self):
        with self._lock:
            os.makedirs(self.dir, exist_ok=True)
            _write_file(self.json_path, json.dumps(self.state, indent=2, sort_keys=True) + '\n', 0o600)

    def _bin(self, name):
        if self._bins is None:
            self._bins = _binaries()
        return self._bins[name]

    def socket_path(self, i):
        """Server i's unix socket (a short path in /tmp when the lab's own would not fit)."""
        p = os.path.join(self.dir, 's%d' % i, 'mysqld.sock')
        if len(p.encode()) <= 100:
            return p
        # sun_path is 108 bytes: fall back to a short per-lab directory in /tmp
        h = hashlib.sha1(self.dir.encode()).hexdigest()[:12]
        d = '/tmp/myorch-lab-%s' % h
        os.makedirs(d, mode=0o700, exist_ok=True)
        return os.path.join(d, 's%d.sock' % i)

    # ------------------------------------------------ template
    def template_dir(self):
        """Create (once, under a lock) and return the cached template datadir."""
        t0 = time.monotonic()
        version = _server_version(self._bin('mariadbd'))
        h = hashlib.sha1(' '.join(INNODB_FILE_OPTS).encode()).hexdigest()[:8]
        os.makedirs(self.cache_dir, exist_ok=True)
        tdir = os.path.join(self.cache_dir, 'myorch-lab-template-%s-%s' % (version, h))
        if os.path.isfile(os.path.join(tdir, '.complete')):
            self.timings['template'] = time.monotonic() - t0
            return tdir
        with open(tdir + '.lock', 'w') as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            if not os.path.isfile(os.path.join(tdir, '.complete')):
                tmp = tempfile.mkdtemp(prefix=os.path.basename(tdir) + '.tmp', dir=self.cache_dir)
                data = os.path.join(tmp, 'data')
                cmd = [self._bin('install_db'), '--no-defaults',
                       '--auth-root-authentication-method=normal', '--skip-test-db',
                       '--user=root', '--datadir=' + data,
                       '--skip-name-resolve'] + INNODB_FILE_OPTS
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                if r.returncode != 0:
                    shutil.rmtree(tmp, ignore_errors=True)
                    raise LabError('mariadb-install-db failed (rc=%d):\n%s\n%s'
                                   % (r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
                # files that must not be shared between servers
                for f in ('auto.cnf',):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(data, f))
                open(os.path.join(data, '.complete'), 'w').close()
                shutil.rmtree(tdir, ignore_errors=True)
                os.rename(data, tdir)
                shutil.rmtree(tmp, ignore_errors=True)
                self.timings['template_created'] = True
        self.timings['template'] = time.monotonic() - t0
        return tdir

    # ------------------------------------------------ server processes
    def _server_args(self, s):
        i = s['index']
        # Its own tmpdir: temporary tables of servers sharing /tmp (parallel labs, other
        # tools cleaning /tmp) must not meet.
        tmpdir = os.path.join(os.path.dirname(s['datadir']), 'tmp')
        os.makedirs(tmpdir, exist_ok=True)
        a = [self._bin('mariadbd'), '--no-defaults', '--user=root',
             '--datadir=' + s['datadir'], '--socket=' + s['socket'], '--tmpdir=' + tmpdir,
             '--pid-file=' + s['pid_file'], '--port=%d' % s['port'],
             '--bind-address=127.0.0.1', '--server-id=%d' % s['server_id'],
             '--log-bin=mysql-bin', '--relay-log=relay-bin', '--log-slave-updates',
             '--binlog-format=ROW', '--gtid-strict-mode=ON',
             '--report-host=127.0.0.1', '--report-port=%d' % s['port'],
             '--skip-name-resolve', '--performance-schema=OFF',
             '--slave-net-timeout=%d' % self.slave_net_timeout,
             '--log-error=' + s['error_log'],
             '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0',
             '--innodb-temp-data-file-path=ibtmp1:1M:autoextend',
             '--key-buffer-size=1M', '--aria-pagecache-buffer-size=8M',
             '--max-connections=200', '--table-open-cache=400',
             '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
             ] + INNODB_FILE_OPTS
        a.append('--read-only=%s' % ('OFF' if s['role'] == 'primary' else 'ON'))
        tls = self.state.get('tls')
        if tls:
            a += ['--ssl-ca=' + tls['ca'], '--ssl-cert=' + tls['cert'], '--ssl-key=' + tls['key']]
            if tls.get('require_secure_transport', True):
                a.append('--require-secure-transport=ON')
        if self.state.get('semi_sync'):
            a.append('--rpl-semi-sync-slave-enabled=ON')
            if s['role'] == 'primary' and s.get('semi_sync_master_ready'):
                a.append('--rpl-semi-sync-master-enabled=ON')
        a += s.get('extra_args', [])
        return a

    def _spawn(self, i):
        s = self.server(i)
        os.makedirs(os.path.dirname(s['error_log']), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(s['socket'])
        s['error_log_offset'] = (os.path.getsize(s['error_log'])
                                 if os.path.exists(s['error_log']) else 0)
        out = open(os.path.join(self.dir, 's%d' % i, 'mariadbd.out'), 'ab')
        try:
            p = subprocess.Popen(self._server_args(s), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True, close_fds=True)
        finally:
            out.close()
        self._procs[i] = p
        s['pid'] = p.pid
        return p

    def _alive(self, i, pid=None):
        """True if server i's process exists and is not a zombie (reaps our children)."""
        s = self.server(i)
        pid = pid or s.get('pid')
        if not pid:
            return False
        p = self._procs.get(i)
        if p is not None and p.pid == pid:
            if p.poll() is not None:
                return False
        st = proc_state(pid)
        if st is None or st in 'ZX':
            return False
        return self._is_ours(pid)

    def _is_ours(self, pid):
        cmd = proc_cmdline(pid)
        if not cmd or not os.path.basename(cmd[0]).startswith(('mariadbd', 'mysqld')):
            return False
        prefix = '--datadir=' + self.dir + os.sep
        return any(a.startswith(prefix) for a in cmd)

    def _wait_ready(self, i, deadline):
        s = self.server(i)
        while True:
            if not self._alive(i):
                raise LabError('server %d (port %d) died during startup; error log %s:\n%s'
                               % (i, s['port'], s['error_log'], tail(s['error_log'], offset=s.get('error_log_offset', 0))))
            if _mysql_handshake_ok(s['socket']):
                return
            if time.monotonic() > deadline:
                raise LabError('server %d (port %d) not ready after %.0fs; error log %s:\n%s'
                               % (i, s['port'], self.start_timeout, s['error_log'],
                                  tail(s['error_log'], offset=s.get('error_log_offset', 0))))
            time.sleep(0.02)

    def _check_port_free(self, port):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('127.0.0.1', port))
        except OSError as e:
            raise LabError('port %d on 127.0.0.1 is not free (%s): pick another --base-port'
                           % (port, e)) from None
        finally:
            s.close()

    def _new_server(self, i, role):
        sdir = os.path.join(self.dir, 's%d' % i)
        s = {
            'index': i, 'port': self.port(i), 'server_id': i, 'role': role,
            'source': None, 'datadir': os.path.join(sdir, 'data'),
            'socket': self.socket_path(i),
            'pid_file': os.path.join(sdir, 'mariadbd.pid'),
            'error_log': os.path.join(sdir, 'error.log'), 'pid': None,
        }
        self.state['servers'][str(i)] = s
        return s

    def _provision(self, i, template):
        s = self.server(i)
        sdir = os.path.dirname(s['datadir'])
        if os.path.exists(sdir):
            shutil.rmtree(sdir)
        os.makedirs(sdir)
        r = subprocess.run(['cp', '-a', '--reflink=auto', template, s['datadir']],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise LabError('cp of template failed: %s' % r.stderr)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(s['datadir'], '.complete'))

    def _start_many(self, idxs):
        for i in idxs:
            self._check_port_free(self.port(i))
        for i in idxs:
            self._spawn(i)
        self._save()
        deadline = time.monotonic() + self.start_timeout
        for i in idxs:
            self._wait_ready(i, deadline)

    # ------------------------------------------------ public API
    def up(self, servers=3, topology='star', semi_sync=False, tls=None):
        """Create and start `servers` servers: 1 is the primary; star: all others
        replicate from 1; chain: N replicates from N-1. Returns self.

        tls: None, or {'ca': FILE, 'cert': FILE, 'key': FILE[, 'require_secure_transport': True]}:
        every server gets these --ssl-* options (and require_secure_transport=ON unless
        False), replication uses MASTER_SSL with the CA, and sql() for users other than
        root connects with TLS verified against the CA."""
        if topology not in ('star', 'chain'):
            raise LabError('topology must be star or chain')
        servers = int(servers)
        if servers < 1:
            raise LabError('need at least one server')
        live = [s['index'] for s in self.servers if self._alive(s['index'])]
        if live:
            raise LabError('lab in %s already has running servers %s: run down first'
                           % (self.dir, live))
        t0 = time.monotonic()
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):
            if re.fullmatch(r's\d+', name):
                shutil.rmtree(os.path.join(self.dir, name))
        self.state = {
            'dir': self.dir, 'base_port': self.base_port, 'topology': topology,
            'semi_sync': bool(semi_sync), 'servers': {},
            'tls': _tls_state(tls),
            'myorch_password': secrets.token_hex(12),
            'repl_password': secrets.token_hex(12),
            'app_password': secrets.token_hex(12),
        }
        for i in range(1, servers + 1):
            self._new_server(i, 'primary' if i == 1 else 'replica')
        self._write_config()
        try:
            tpl = self.template_dir()
            t1 = time.monotonic()
            threads = [threading.Thread(target=self._provision, args=(i, tpl))
                       for i in range(1, servers + 1)]
            errs = []
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for i in range(1, servers + 1):
                if not os.path.isdir(os.path.join(self.server(i)['datadir'], 'mysql')):
                    errs.append(i)
            if errs:
                raise LabError('provisioning datadirs failed for %s' % errs)
            self.timings['copy'] = time.monotonic() - t1
            t2 = time.monotonic()
            self._start_many(list(range(1, servers + 1)))
            self.timings['start'] = time.monotonic() - t2
            t3 = time.monotonic()
            self._bootstrap_primary(1)
            for i in range(2, servers + 1):
                src = 1 if topology == 'star' else i - 1
                self.set_source(i, src, wait=False, from_binlog_pos=False)
            for i in range(2, servers + 1):
                self.wait_replicating(i, timeout=self.start_timeout)
            if semi_sync:
                self._enable_semi_sync(1)
            self.timings['replication'] = time.monotonic() - t3
        except BaseException:
            with contextlib.suppress(Exception):
                self.down()
            raise
        self.timings['up'] = time.monotonic() - t0
        self._save()
        return self

    def _write_config(self):
        os.makedirs(os.path.join(self.dir, 'state'), mode=0o700, exist_ok=True)
        _write_file(self.myorch_password_file, self.state['myorch_password'], 0o600)
        _write_file(self.repl_password_file, self.state['repl_password'], 0o600)
        _write_file(self.app_password_file, self.state['app_password'], 0o600)
        seed = 2 if len(self.state['servers']) >= 2 else 1
        ini = ('[myorch]\n'
               'state_dir = %s\n'
               'poll_interval_ms = 500\n'
               'log_level = info\n'
               '\n'
               '[cluster.lab]\n'
               'seeds = 127.0.0.1:%d\n'
               'user = myorch\n'
               'password_file = %s\n'
               'replication_user = repl\n'
               'replication_password_file = %s\n'
               % (os.path.join(self.dir, 'state'), self.port(seed),
                  self.myorch_password_file, self.repl_password_file))
        _write_file(self.config_path, ini, 0o600)

    def grants_sql(self, host='127.0.0.1'):
        """Contents of sql/grants-mariadb.sql with placeholders substituted."""
        with open(GRANTS_FILE) as f:
            text = f.read()
        subst = {'@MYORCH_PASSWORD@': self.state['myorch_password'],
                 '@REPL_PASSWORD@': self.state['repl_password'],
                 '@MYORCH_HOST@': host, '@REPL_HOST@': host}
        for k, v in subst.items():
            text = text.replace(k, v.replace('\\', '\\\\').replace("'", "\\'"))
        left = re.findall(r'@[A-Z_]+@', text)
        if left:
            raise LabError('unsubstituted placeholders in %s: %s' % (GRANTS_FILE, left))
        return text

    def _bootstrap_primary(self, i):
        sql = self.grants_sql()
        if os.path.exists(BOOTSTRAP_FILE):
            with open(BOOTSTRAP_FILE) as f:
                sql += '\n' + f.read().replace('@APP_PASSWORD@', sql_str(self.state['app_password'])[1:-1])
        self.sql(i, sql)

    def _enable_semi_sync(self, primary):
        self.sql(primary, 'SET GLOBAL rpl_semi_sync_master_enabled=ON')
        s = self.server(primary)
        s['semi_sync_master_ready'] = True
        # replicas negotiate semi-sync when their IO thread connects
        for r in self.servers:
            if r['source'] == primary:
                self.sql(r['index'], 'STOP SLAVE IO_THREAD; START SLAVE IO_THREAD')
        deadline = time.monotonic() + self.start_timeout
        want = sum(1 for r in self.servers if r['source'] == primary)
        while True:
            st = dict(self.sql(primary, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                                        "('Rpl_semi_sync_master_clients','Rpl_semi_sync_master_status')"))
            if int(st.get('Rpl_semi_sync_master_clients', 0)) >= want and \
                    st.get('Rpl_semi_sync_master_status') == 'ON':
                return
            if time.monotonic() > deadline:
                raise LabError('semi-sync did not come up on server %d: %s' % (primary, st))
            time.sleep(0.05)

    def down(self, remove=False):
        """Kill (CONT then KILL) every mariadbd of this lab: pids from lab.json,
        children of this object, and any process whose --datadir lies in DIR.
        Idempotent. remove=True also deletes the server directories."""
        t0 = time.monotonic()
        pids = set()
        for s in self.servers:
            if s.get('pid'):
                pids.add(s['pid'])
        for p in self._procs.values():
            pids.add(p.pid)
        pids |= set(self._scan_pids())
        for pid in pids:
            if self._is_ours(pid):
                for sig in (signal.SIGCONT, signal.SIGKILL):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
        deadline = time.monotonic() + 30
        for pid in pids:
            while proc_state(pid) not in (None, 'Z', 'X') and self._is_ours(pid):
                if time.monotonic() > deadline:
                    raise LabError('pid %d did not die after SIGKILL' % pid)
                time.sleep(0.01)
        for p in self._procs.values():
            with contextlib.suppress(Exception):
                p.wait(timeout=5)
        self._procs.clear()
        for s in self.servers:
            s['pid'] = None
        if self.state['servers']:
            self._save()
        if remove:
            for name in os.listdir(self.dir) if os.path.isdir(self.dir) else []:
                if re.fullmatch(r's\d+', name):
                    shutil.rmtree(os.path.join(self.dir, name), ignore_errors=True)
        h = hashlib.sha1(self.dir.encode()).hexdigest()[:12]
        shutil.rmtree('/tmp/myorch-lab-%s' % h, ignore_errors=True)
        self.timings['down'] = time.monotonic() - t0

    def _scan_pids(self):
        out = []
        for d in os.listdir('/proc'):
            if d.isdigit() and self._is_ours(int(d)):
                if proc_state(int(d)) not in (None, 'Z', 'X'):
                    out.append(int(d))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()
        return False

    # ------------------------------------------------ SQL
    def sql(self, i, stmt, user='root', password=None, timeout=None, dicts=False):
        """Run stmt (one or more ;-separated statements) on server i.
        root: over the unix socket; other users: TCP 127.0.0.1:port with the
        password in a temporary 0600 defaults file. Returns the rows of all
        result sets as tuples of str/None (dicts=True: list of dicts)."""
        s = self.server(i)
        client = self._bin('client')
        timeout = timeout or self.sql_timeout
        tmpf = None
        if user == 'root' and password is None:
            cmd = [client, '--no-defaults', '-uroot', '--socket=' + s['socket']]
        else:
            if password is None:
                password = self.password(user)
            if password is None:
                raise LabError('no password known for user %r' % user)
            fd, tmpf = tempfile.mkstemp(prefix='myorch-lab-', suffix='.cnf')
            try:
                os.fchmod(fd, 0o600)
                pw = password.replace('\\', '\\\\').replace('"', '\\"')
                os.write(fd, ('[client]\nuser="%s"\npassword="%s"\n' % (user, pw)).encode())
            finally:
                os.close(fd)
            cmd = [client, '--defaults-file=' + tmpf, '--protocol=TCP',
                   '-h127.0.0.1', '-P%d' % s['port']]
            if self.state.get('tls'):
                cmd += ['--ssl', '--ssl-ca=' + self.state['tls']['ca']]
        cmd += ['--batch', '--xml', '--connect-timeout=5']
        try:
            r = subprocess.run(cmd, input=stmt, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SQLError('server %d: statement timed out after %ss: %s'
                           % (i, timeout, stmt[:200])) from None
        finally:
            if tmpf:
                os.unlink(tmpf)
        if r.returncode != 0:
            raise SQLError('server %d (%s): %s' % (i, user, r.stderr.strip() or r.returncode),
                           r.returncode, r.stderr)
        results = _parse_xml_output(r.stdout)
        if dicts:
            return [dict(zip(cols, row)) for cols, rows in results for row in rows]
        return [row for _, rows in results for row in rows]

    def sql_value(self, i, stmt, **kw):
        rows = self.sql(i, stmt, **kw)
        return rows[0][0] if rows else None

    def slave_status(self, i, **kw):
        rows = self.sql(i, 'SHOW SLAVE STATUS', dicts=True, **kw)
        return rows[0] if rows else None

    # ------------------------------------------------ processes
    def kill(self, i, sig='KILL', wait=True, timeout=60):
        """Send a signal to server i (KILL|STOP|CONT|TERM|INT|HUP or a number).
        With wait: KILL/TERM/INT return once the process is gone, STOP/CONT once
        the process state shows stopped/continued."""
        s = self.server(i)
        signum = SIGNALS[sig.upper().replace('SIG', '')] if isinstance(sig, str) else int(sig)
        pid = s.get('pid')
        if not pid or not self._alive(i):
            raise LabError('server %d is not running' % i)
        if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT if signum == signal.SIGTERM else 0)
        os.kill(pid, signum)
        if wait and signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            deadline = time.monotonic() + timeout
            while self._alive(i, pid):
                if time.monotonic() > deadline:
                    raise LabError('server %d (pid %d) still alive %ss after %s'
                                   % (i, pid, timeout, sig))
                time.sleep(0.01)
            p = self._procs.pop(i, None)
            if p is not None:
                with contextlib.suppress(Exception):
                    p.wait(timeout=5)
            s['pid'] = None
            self._save()
        elif wait and signum in (signal.SIGSTOP, signal.SIGCONT):
            deadline = time.monotonic() + timeout
            while (proc_state(pid) == 'T') != (signum == signal.SIGSTOP):
                if time.monotonic() > deadline:
                    raise LabError('server %d (pid %d): %s not effective after %ss'
                                   % (i, pid, sig, timeout))
                time.sleep(0.005)

    def is_running(self, i):
        return self._alive(i)

    def alive(self, i):
        """Running and not stopped (SIGSTOP): it answers."""
        pid = self.server(i).get('pid')
        return self._alive(i) and proc_state(pid) not in ('T', 't')

    def is_stopped(self, i):
        pid = self.server(i).get('pid')
        return bool(pid) and self._alive(i) and proc_state(pid) == 'T'

    def start(self, i, read_only=None, wait=True):
        """Restart server i with the same datadir and options (replication resumes
        from its saved position). read_only: None = ON unless its role is primary."""
        s = self.server(i)
        if self._alive(i):
            raise LabError('server %d is already running (pid %s)' % (i, s['pid']))
        extra = [a for a in s.get('extra_args', []) if not a.startswith('--read-only')]
        if read_only is not None:
            extra.append('--read-only=%s' % ('ON' if read_only else 'OFF'))
        s['extra_args'] = extra
        self._check_port_free(s['port'])
        self._spawn(i)
        self._save()
        if wait:
            self._wait_ready(i, time.monotonic() + self.start_timeout)

    def add_replica(self, source_i, wait=True):
        """Create a new server (next index) from the template, as a GTID replica of
        source_i. Returns its index."""
        if not self.state['servers']:
            raise LabError('lab is not up')
        i = max(self.indexes) + 1
        self._new_server(i, 'replica')
        tpl = self.template_dir()
        self._provision(i, tpl)
        self._start_many([i])
        self.set_source(i, source_i, wait=wait, from_binlog_pos=False)
        self._save()
        return i

    def set_source(self, i, source_i, wait=True, from_binlog_pos=None, timeout=None):
        """Make server i a GTID replica (MASTER_USE_GTID=slave_pos) of source_i,
        read_only=ON. from_binlog_pos: set gtid_slave_pos=@@gtid_binlog_pos first
        (needed when i was a primary: its own transactions are not in its slave
        position); None = only if its role was primary."""
        s = self.server(i)
        src = self.server(source_i)
        if from_binlog_pos is None:
            from_binlog_pos = s['role'] == 'primary'
        stmts = ['STOP SLAVE', 'RESET SLAVE ALL', 'SET GLOBAL read_only=ON']
        if from_binlog_pos:
            stmts.append('SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos')
        stmts.append("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, "
                     "MASTER_USER='repl', MASTER_PASSWORD=%s, MASTER_USE_GTID=slave_pos, "
                     "MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.1%s"
                     % (src['port'], sql_str(self.state['repl_password']), self._master_ssl()))
        stmts.append('START SLAVE')
        self.sql(i, ';\n'.join(stmts) + ';')
        s['role'] = 'replica'
        s['source'] = source_i
        self._save()
        if wait:
            self.wait_replicating(i, timeout=timeout or self.start_timeout)

    def _master_ssl(self):
        tls = self.state.get('tls')
        if not tls:
            return ''
        return ", MASTER_SSL=1, MASTER_SSL_CA=%s" % sql_str(tls['ca'])

    def set_role(self, i, role, source=None):
        """Record a role change made outside the lab (e.g. by the controller)."""
        s = self.server(i)
        s['role'] = role
        s['source'] = source
        self._save()

    def wait_replicating(self, i, timeout=30, caught_up=True):
        """Wait until server i has both replication threads running and (if
        caught_up) has applied its source's gtid_binlog_pos. Returns slave status."""
        deadline = time.monotonic() + timeout
        st = None
        while True:
            st = self.slave_status(i)
            if st is None:
                raise LabError('server %d is not configured as a replica' % i)
            if st.get('Slave_IO_Running') == 'Yes' and st.get('Slave_SQL_Running') == 'Yes':
                break
            if st.get('Last_SQL_Errno', '0') != '0' and st.get('Slave_SQL_Running') == 'No':
                raise LabError('server %d: SQL thread stopped: %s' % (i, st.get('Last_SQL_Error')))
            if time.monotonic() > deadline:
                raise LabError('server %d not replicating after %ss: IO=%s SQL=%s '
                               'Last_IO_Error=%s Last_SQL_Error=%s'
                               % (i, timeout, st.get('Slave_IO_Running'),
                                  st.get('Slave_SQL_Running'), st.get('Last_IO_Error'),
                                  st.get('Last_SQL_Error')))
            time.sleep(0.05)
        if caught_up:
            src = self.index_of_port(st.get('Master_Port'))
            if src is not None:
                pos = self.sql_value(src, 'SELECT @@gtid_binlog_pos')
                left = max(1.0, deadline - time.monotonic())
                if pos:
                    r = self.sql_value(i, 'SELECT MASTER_GTID_WAIT(%s, %.1f)' % (sql_str(pos), left),
                                       timeout=left + 10)
                    if r != '0':
                        raise LabError('server %d did not reach %s of server %d within %ss'
                                       % (i, pos, src, timeout))
        return st

    def write(self, i, rows=10):
        """Insert rows into lab.t on server i as root; returns @@last_gtid."""
        rows = int(rows)
        tag = 's%d-%d' % (i, time.time_ns())
        vals = ','.join("('%s-%d')" % (tag, n) for n in range(rows))
        out = self.sql(i, 'INSERT INTO lab.t (v) VALUES %s; SELECT @@last_gtid;' % vals)
        return out[0][0] if out else None

    def count(self, i, user='root'):
        return int(self.sql_value(i, 'SELECT COUNT(*) FROM lab.t', user=user))

    def status(self):
        """List of dicts per server: index, port, pid, state (running/stopped/down),
        role, and if reachable read_only, gtid positions and replication threads."""
        out = []
        for s in self.servers:
            i = s['index']
            d = {'index': i, 'port': s['port'], 'pid': s.get('pid'), 'role': s['role'],
                 'source': s.get('source')}
            if not self._alive(i):
                d['state'] = 'down'
            elif proc_state(s['pid']) == 'T':
                d['state'] = 'stopped'
            else:
                d['state'] = 'running'
                try:
                    r = self.sql(i, 'SELECT @@read_only, @@gtid_binlog_pos, @@gtid_slave_pos',
                                 timeout=5)[0]
                    d.update(read_only=r[0], gtid_binlog_pos=r[1], gtid_slave_pos=r[2])
                    st = self.slave_status(i, timeout=5)
                    if st:
                        d.update(master_port=st.get('Master_Port'),
                                 io=st.get('Slave_IO_Running'), sql=st.get('Slave_SQL_Running'),
                                 lag=st.get('Seconds_Behind_Master'))
                except LabError as e:
                    d['error'] = str(e)
            out.append(d)
        return out


# ---------------------------------------------------------------- etcd

class EtcdCluster:
    """A 3-member (or N) etcd cluster on loopback for controller coordination tests
    (issue 14). Debian etcd-server. Member N (e1..) serves clients on
    127.0.0.1:(base + 2(N-1)) and peers on the port after it.

        E = lab.EtcdCluster('/tmp/x/etcd')      # free ports picked
        E.up()                                  # all members healthy, in seconds
        E.endpoints                             # 'http://127.0.0.1:P1,http://...'
        E.kill(2); E.start(2); E.down()

    DIR/etcd.json holds ports and pids; DIR/eN/ the data dir and log of member N.
    """

    def __init__(self, dir, members=3, base_port=None, tls=None, extra_args=()):
        """tls: {'ca': PEM, 'cert': PEM, 'key': KEY} (tests/integration/tlscerts.py): clients
        speak https:// and must present a certificate signed by that CA. extra_args: more etcd
        options for every member (e.g. ('--auth-token-ttl', '1'))."""
        self.tls = tls
        self.extra_args = list(extra_args)
        self.dir = os.path.abspath(dir)
        os.makedirs(self.dir, exist_ok=True)
        self._procs = {}   # members started by this object: reaped when killed
        self.members = members
        self.state = {'members': []}
        path = os.path.join(self.dir, 'etcd.json')
        if os.path.exists(path):
            with open(path) as f:
                self.state = json.load(f)
            self.members = len(self.state['members'])
        else:
            base = base_port or free_base_port(count=2 * members, start=24379)
            token = 'myorch-lab-' + secrets.token_hex(4)
            self.state = {'token': token, 'members': [
                {'index': i + 1, 'name': 'e%d' % (i + 1), 'client': base + 2 * i, 'peer': base + 2 * i + 1,
                 'pid': None} for i in range(members)]}
            self._save()

    def _save(self):
        _write_file(os.path.join(self.dir, 'etcd.json'), json.dumps(self.state, indent=1).encode())

    @staticmethod
    def binary():
        b = _which(['etcd'])
        if not b:
            raise LabError('etcd not found: install etcd-server (tests/deps.sh)')
        return b

    def member(self, i):
        return self.state['members'][i - 1]

    def url(self, i):
        return '%s://127.0.0.1:%d' % ('https' if self.tls else 'http', self.member(i)['client'])

    @property
    def endpoints(self):
        return ','.join(self.url(m['index']) for m in self.state['members'])

    def _args(self, m):
        cluster = ','.join('%s=http://127.0.0.1:%d' % (x['name'], x['peer']) for x in self.state['members'])
        d = os.path.join(self.dir, m['name'])
        tls = ['--cert-file', self.tls['cert'], '--key-file', self.tls['key'], '--trusted-ca-file',
               self.tls['ca'], '--client-cert-auth'] if self.tls else []
        return [self.binary(), '--name', m['name'], '--data-dir', os.path.join(d, 'data'),
                '--listen-client-urls', self.url(m['index']),
                '--advertise-client-urls', self.url(m['index']), *tls,
                '--listen-peer-urls', 'http://127.0.0.1:%d' % m['peer'],
                '--initial-advertise-peer-urls', 'http://127.0.0.1:%d' % m['peer'],
                '--initial-cluster', cluster, '--initial-cluster-token', self.state['token'],
                '--initial-cluster-state', 'new',
                # Loopback, but a loaded 2-core machine: elections quick, not twitchy.
                '--heartbeat-interval', '100', '--election-timeout', '1000',
                '--log-level', 'warn', '--logger', 'zap', *self.extra_args]

    def _spawn(self, m):
        d = os.path.join(self.dir, m['name'])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'etcd.log'), 'ab') as log:
            p = subprocess.Popen(self._args(m), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        m['pid'] = p.pid
        self._procs[m['index']] = p
        self._save()

    def alive(self, i):
        pid = self.member(i)['pid']
        if not pid or _proc_state(pid) in (None, 'Z'):
            return False
        d = os.path.join(self.dir, self.member(i)['name'], 'data')
        return d in _proc_cmdline(pid)

    def healthy(self, i, timeout=1.0):
        import ssl
        import urllib.request
        ctx = None
        if self.tls:
            ctx = ssl.create_default_context(cafile=self.tls['ca'])
            ctx.load_cert_chain(self.tls['cert'], self.tls['key'])
        try:
            with urllib.request.urlopen(self.url(i) + '/health', timeout=timeout, context=ctx) as r:
                return json.loads(r.read(4096).decode()).get('health') == 'true'
        except Exception:
            return False

    def up(self, timeout=30):
        t0 = time.monotonic()
        for m in self.state['members']:
            if not self.alive(m['index']):
                self._spawn(m)
        self.wait_healthy(timeout=timeout)
        self.up_seconds = time.monotonic() - t0
        return self

    def wait_healthy(self, idxs=None, timeout=30):
        idxs = idxs or [m['index'] for m in self.state['members']]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.healthy(i) for i in idxs):
                return
            for i in idxs:
                if not self.alive(i):
                    raise LabError('etcd member %d exited: %s' % (
                        i, _tail(os.path.join(self.dir, self.member(i)['name'], 'etcd.log'))))
            time.sleep(0.1)
        raise LabError('etcd members %s not healthy after %ss' % (idxs, timeout))

    def kill(self, i, sig='KILL'):
        pid = self.member(i)['pid']
        if self.alive(i):
            os.kill(pid, SIGNALS[sig])
            if sig == 'KILL':
                for _ in range(100):
                    if _proc_state(pid) in (None, 'Z'):
                        break
                    time.sleep(0.05)
        p = self._procs.pop(i, None) if sig == 'KILL' else None
        if p is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)

    def start(self, i, wait=True):
        if not self.alive(i):
            self._spawn(self.member(i))
        if wait:
            self.wait_healthy([i])

    def down(self, remove=False):
        for m in self.state['members']:
            self.kill(m['index'])
            m['pid'] = None
        self._save()
        if remove:
            for m in self.state['members']:
                shutil.rmtree(os.path.join(self.dir, m['name']), ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.down()


# ---------------------------------------------------------------- CLI

# The names these helpers had when they were private, for callers not yet moved to the public
# ones (tests/faults, bench/ and the integration tests use tail, proc_state, proc_cmdline,
# sql_str, Lab.socket_path, Lab.alive).
_tail, _proc_state, _proc_cmdline, _sql_str = tail, proc_state, proc_cmdline, sql_str
Lab._socket_path = Lab.socket_path


def _cli(argv=None):
    ap = argparse.ArgumentParser(prog='lab.py', description='myorch MariaDB lab on loopback')
    sub = ap.add_subparsers(dest='cmd', required=True)

    def add(name, **kw):
        p = sub.add_parser(name, **kw)
        p.add_argument('--dir', required=True)
        p.add_argument('--base-port', type=int, default=None)
        return p

    p = add('up')
    p.add_argument('--servers', type=int, default=3)
    p.add_argument('--topology', choices=['star', 'chain'], default='star')
    p.add_argument('--semi-sync', action='store_true')
    p = add('down')
    p.add_argument('--remove', action='store_true', help='also delete server directories')
    add('status')
    p = add('sql')
    p.add_argument('n', type=int)
    p.add_argument('statement')
    p.add_argument('--user', default='root')
    p = add('kill')
    p.add_argument('n', type=int)
    p.add_argument('--signal', default='KILL', choices=sorted(SIGNALS))
    p = add('start')
    p.add_argument('n', type=int)
    p.add_argument('--read-only', choices=['on', 'off'], default=None)
    p = add('add-replica')
    p.add_argument('--source', type=int, required=True)
    p = add('set-source')
    p.add_argument('n', type=int)
    p.add_argument('--source', type=int, required=True)
    p = add('write')
    p.add_argument('n', type=int)
    p.add_argument('--rows', type=int, default=10)
    p = add('etcd-up', help='start a 3-member etcd cluster on loopback (DIR/etcd.json)')
    p.add_argument('--members', type=int, default=3)
    add('etcd-down')
    p = add('etcd-kill')
    p.add_argument('n', type=int)
    p = add('etcd-start')
    p.add_argument('n', type=int)
    a = ap.parse_args(argv)

    if a.cmd.startswith('etcd-'):
        E = EtcdCluster(a.dir, members=getattr(a, 'members', 3), base_port=a.base_port)
        if a.cmd == 'etcd-up':
            E.up()
            print('etcd up in %.2fs: etcd_endpoints = %s' % (E.up_seconds, E.endpoints))
        elif a.cmd == 'etcd-down':
            E.down()
        elif a.cmd == 'etcd-kill':
            E.kill(a.n)
        elif a.cmd == 'etcd-start':
            E.start(a.n)
        return 0

    kw = {}
    if a.base_port is not None:
        kw['base_port'] = a.base_port
    L = Lab(a.dir, **kw)
    if a.cmd == 'up':
        L.up(servers=a.servers, topology=a.topology, semi_sync=a.semi_sync)
        print('lab up in %.2fs: %s' % (L.timings['up'], ', '.join(
            '%d=%s:%d' % (s['index'], s['role'], s['port']) for s in L.servers)))
        print('config: %s' % L.config_path)
    elif a.cmd == 'down':
        L.down(remove=a.remove)
    elif a.cmd == 'status':
        for d in L.status():
            print(json.dumps(d, sort_keys=True))
    elif a.cmd == 'sql':
        for row in L.sql(a.n, a.statement, user=a.user):
            print('\t'.join('NULL' if v is None else v for v in row))
    elif a.cmd == 'kill':
        L.kill(a.n, a.signal)
    elif a.cmd == 'start':
        ro = None if a.read_only is None else a.read_only == 'on'
        L.start(a.n, read_only=ro)
    elif a.cmd == 'add-replica':
        print(L.add_replica(a.source))
    elif a.cmd == 'set-source':
        L.set_source(a.n, a.source)
    elif a.cmd == 'write':
        print(L.write(a.n, a.rows))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(_cli())
    except LabError as e:
        print('lab.py: error: %s' % e, file=sys.stderr)
        sys.exit(1)
