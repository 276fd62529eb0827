#!/usr/bin/env python3
"""Self-test of tests/lab/lab.py and of sql/grants-mariadb.sql against real MariaDB.

    python3 tests/lab/selftest.py [--keep] [--base-port N]

Brings labs up in a temporary directory (with a freshly built template in a
temporary cache, to time it), checks replication, topologies, add_replica,
kill -9 / restart, every monitoring and failover statement as the `myorch`
user, that revoking each granted privilege breaks the matching statement, and
that down() leaves no mariadbd behind. Exit status 0 = pass.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab  # noqa: E402

MONITORING = [
    "SELECT @@server_id, @@read_only, @@gtid_binlog_pos, @@gtid_current_pos, "
    "@@gtid_slave_pos, @@log_bin, @@log_slave_updates, @@binlog_format",
    "SHOW SLAVE STATUS",
    "SHOW REPLICA STATUS",
    "SHOW MASTER STATUS",
    "SHOW BINLOG STATUS",
    "SHOW SLAVE HOSTS",
    "SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'",
    "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'",
    "SHOW FULL PROCESSLIST",
]

T = {}
STEP = [0]


def step(msg):
    STEP[0] += 1
    print('[%2d] %s' % (STEP[0], msg), flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_denied(L, i, stmt, codes=('1227',)):
    try:
        L.sql(i, stmt, user='myorch')
    except lab.SQLError as e:
        if any('ERROR %s' % c in str(e) for c in codes):
            return str(e).strip().splitlines()[-1]
        raise AssertionError('%r failed, but not with %s: %s' % (stmt, codes, e))
    raise AssertionError('%r succeeded although its privilege was revoked' % stmt)


def counts_equal(L, idxs, expect=None):
    c = {i: L.count(i) for i in idxs}
    check(len(set(c.values())) == 1, 'row counts differ: %s' % c)
    if expect is not None:
        check(list(c.values())[0] == expect, 'expected %d rows, got %s' % (expect, c))
    return list(c.values())[0]


def ours_alive(d):
    """pids of mariadbd processes whose --datadir lies under d."""
    out = []
    for p in os.listdir('/proc'):
        if not p.isdigit():
            continue
        cmd = lab._proc_cmdline(int(p))
        if cmd and os.path.basename(cmd[0]).startswith('mariadbd') and \
                any(a.startswith('--datadir=' + d) for a in cmd) and \
                lab._proc_state(int(p)) not in (None, 'Z', 'X'):
            out.append(int(p))
    return out


def background_root_sleep(L, i, secs=30):
    s = L.server(i)
    p = subprocess.Popen([L._bin('client'), '--no-defaults', '-uroot', '--socket=' + s['socket'],
                          '-e', 'SELECT SLEEP(%d) AS victim' % secs],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        rows = L.sql(i, "SELECT ID FROM information_schema.PROCESSLIST "
                        "WHERE USER='root' AND INFO LIKE 'SELECT SLEEP%victim'", user='myorch')
        if rows:
            return p, rows[0][0]
        time.sleep(0.05)
    p.kill()
    raise AssertionError('background root session not visible to myorch')


def run_monitoring(L, i):
    res = {}
    for stmt in MONITORING:
        res[stmt] = L.sql(i, stmt, user='myorch', dicts=True)
    return res


def test_star(L, base):
    t = time.monotonic()
    L.up(servers=3, topology='star')
    T['template (fresh)'] = L.timings.get('template')
    T['up star 3 (incl. template)'] = time.monotonic() - t
    step('star lab up: %s' % L.timings)
    check(L.servers[0]['role'] == 'primary' and L.servers[1]['source'] == 1, 'roles')
    for s in L.servers:
        check(os.path.exists(s['socket']), 'socket %s' % s['socket'])
    ini = open(L.config_path).read()
    check('seeds = 127.0.0.1:%d' % L.port(2) in ini, 'seed is server 2')
    check(oct(os.stat(L.myorch_password_file).st_mode & 0o777) == '0o600', 'pass mode')
    check(open(L.myorch_password_file).read() == L.password('myorch'), 'password file')

    # grants: exactly the file's privileges
    g = L.sql(1, "SHOW GRANTS FOR 'myorch'@'127.0.0.1'")[0][0]
    step('myorch grants: %s' % g.split(' TO ')[0])
    check('SUPER' not in g and 'ALL PRIVILEGES' not in g, 'no SUPER/ALL')
    g = L.sql(1, "SHOW GRANTS FOR 'repl'@'127.0.0.1'")[0][0]
    check(g.startswith('GRANT REPLICATION SLAVE ON *.*'), 'repl grants: %s' % g)

    gtid = L.write(1, 10)
    for i in (2, 3):
        L.wait_replicating(i, 30)
    n = counts_equal(L, [1, 2, 3], 10)
    step('write of 10 rows (%s) replicated to both replicas: %d rows on all' % (gtid, n))

    # monitoring statements as myorch, on the primary and a replica
    for i in (1, 2):
        res = run_monitoring(L, i)
        v = res[MONITORING[0]][0]
        check(v['@@server_id'] == str(i), 'server_id')
        check(v['@@read_only'] == ('0' if i == 1 else '1'), 'read_only')
        check(v['@@gtid_binlog_pos'] == gtid, 'gtid_binlog_pos %s' % v)
        check(v['@@log_bin'] == '1' and v['@@binlog_format'] == 'ROW', 'binlog')
        if i == 1:
            check(res['SHOW SLAVE STATUS'] == [], 'primary has no slave status')
            ports = sorted(int(r['Port']) for r in res['SHOW SLAVE HOSTS'])
            check(ports == [L.port(2), L.port(3)], 'slave hosts %s' % ports)
            dumps = [r for r in res['SHOW FULL PROCESSLIST'] if r['Command'] == 'Binlog Dump']
            check(len(dumps) == 2 and all(r['User'] == 'repl' for r in dumps),
                  'processlist shows 2 repl Binlog Dump threads')
        else:
            st = res['SHOW SLAVE STATUS'][0]
            check(st['Slave_IO_Running'] == 'Yes' and st['Using_Gtid'] == 'Slave_Pos', 'st')
            check(res['SHOW REPLICA STATUS'][0]['Master_Port'] == str(L.port(1)), 'port')
        check(res['SHOW MASTER STATUS'][0]['File'].startswith('mysql-bin.'), 'master status')
        check(res['SHOW BINLOG STATUS'] == res['SHOW MASTER STATUS'], 'binlog status')
        check(any(r['Variable_name'] == 'rpl_semi_sync_master_enabled'
                  for r in res["SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync%'"]), 'semi vars')
        check(any(r['Variable_name'] == 'Rpl_semi_sync_master_status'
                  for r in res["SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync%'"]), 'semi status')
    step('all %d monitoring statements OK as myorch on primary and replica' % len(MONITORING))

    # kill -9 a replica, write meanwhile, restart: it resumes
    L.kill(3, 'KILL')
    check(not L.is_running(3), 'server 3 dead')
    L.write(1, 5)
    t = time.monotonic()
    L.start(3)
    T['restart after kill -9'] = time.monotonic() - t
    L.wait_replicating(3, 30)
    counts_equal(L, [1, 2, 3], 15)
    check(L.sql_value(3, 'SELECT @@read_only') == '1', 'restarted replica read_only')
    step('kill -9 of replica 3 + start: resumed, 15 rows on all (restart %.2fs)'
         % T['restart after kill -9'])

    # SIGSTOP / SIGCONT
    L.kill(2, 'STOP')
    check(L.is_stopped(2), 'server 2 stopped')
    L.kill(2, 'CONT')
    check(not L.is_stopped(2) and L.is_running(2), 'server 2 continued')
    step('SIGSTOP/SIGCONT of server 2')

    # add_replica
    t = time.monotonic()
    n4 = L.add_replica(1)
    T['add_replica'] = time.monotonic() - t
    check(n4 == 4 and L.server(4)['port'] == base + 3, 'new index 4')
    counts_equal(L, [1, 2, 3, 4], 15)
    step('add_replica(1) -> server %d, caught up (%.2fs)' % (n4, T['add_replica']))

    # ---------------- failover statements as myorch: switchover 1 -> 2
    step('switchover 1 -> 2 using only the myorch account')
    M = lambda i, s: L.sql(i, s, user='myorch')  # noqa: E731
    victim, vid = background_root_sleep(L, 1)
    M(1, 'SET GLOBAL read_only=1')
    M(1, 'KILL %s' % vid)
    check(victim.wait(timeout=10) != 0, 'killed session ended with an error')
    pos = L.sql(1, 'SELECT @@gtid_binlog_pos', user='myorch')[0][0]
    check(M(2, "SELECT MASTER_GTID_WAIT('%s', 10)" % pos) == [('0',)], 'MASTER_GTID_WAIT')
    check(M(2, "SELECT MASTER_GTID_WAIT('0-1-1', 1)") == [('0',)], 'MASTER_GTID_WAIT 0-1-1')
    M(2, 'STOP SLAVE IO_THREAD')
    M(2, 'STOP SLAVE')
    M(2, 'RESET SLAVE ALL')
    M(2, 'SET GLOBAL read_only=0')
    check(M(2, 'SHOW SLAVE STATUS') == [], 'no slave status after RESET SLAVE ALL')
    change = ("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d, MASTER_USER='repl', "
              "MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, "
              "MASTER_HEARTBEAT_PERIOD=1" % (L.port(2), L.password('repl')))
    for i in (3, 4):
        M(i, 'STOP SLAVE')
        M(i, change)
        M(i, 'START SLAVE')
    M(1, 'SET GLOBAL gtid_slave_pos=@@gtid_binlog_pos')
    M(1, change)
    M(1, 'START SLAVE')
    L.set_role(2, 'primary')
    for i in (1, 3, 4):
        L.set_role(i, 'replica', 2)
    # semi-sync switches (set back at once: no semi-sync replicas in this lab)
    M(3, 'SET GLOBAL rpl_semi_sync_master_enabled=1')
    M(3, 'SET GLOBAL rpl_semi_sync_master_enabled=0')
    M(3, 'SET GLOBAL rpl_semi_sync_slave_enabled=1')
    M(3, 'SET GLOBAL rpl_semi_sync_slave_enabled=0')
    L.write(2, 7)
    for i in (1, 3, 4):
        L.wait_replicating(i, 30)
    counts_equal(L, [1, 2, 3, 4], 22)
    check(L.sql(1, 'SHOW SLAVE STATUS', user='myorch', dicts=True)[0]['Master_Port']
          == str(L.port(2)), 'old primary follows 2')
    step('switchover done: 22 rows on all 4, old primary replicates from 2')

    # ---------------- revoke each privilege: the matching statement must fail
    def without(priv, fn, i=3, user="'myorch'@'127.0.0.1'"):
        L.sql(i, 'SET SESSION sql_log_bin=0; REVOKE %s ON *.* FROM %s' % (priv, user))
        try:
            return fn()
        finally:
            L.sql(i, 'SET SESSION sql_log_bin=0; GRANT %s ON *.* TO %s' % (priv, user))

    denied = {}

    def d(priv, stmts, codes=('1227',), i=3):
        def fn():
            return [expect_denied(L, i, s, codes) for s in stmts]
        denied[priv] = (stmts, without(priv, fn, i))

    d('SLAVE MONITOR', ['SHOW SLAVE STATUS', 'SHOW REPLICA STATUS'])
    d('BINLOG MONITOR', ['SHOW MASTER STATUS', 'SHOW BINLOG STATUS'])
    d('REPLICATION MASTER ADMIN', ['SHOW SLAVE HOSTS', 'SET GLOBAL rpl_semi_sync_master_enabled=0'])
    d('REPLICATION SLAVE ADMIN', ['STOP SLAVE', 'STOP SLAVE IO_THREAD', 'START SLAVE', change,
                                  'SET GLOBAL gtid_slave_pos=@@gtid_slave_pos',
                                  'SET GLOBAL rpl_semi_sync_slave_enabled=0'])
    d('RELOAD', ['RESET SLAVE ALL'])
    d('READ_ONLY ADMIN', ['SET GLOBAL read_only=1'])

    def no_connection_admin():
        p, vid = background_root_sleep(L, 3)
        try:
            return [expect_denied(L, 3, 'KILL %s' % vid, ('1095',))]
        finally:
            p.kill()
            p.wait()
    denied['CONNECTION ADMIN'] = (['KILL <root session>'],
                                  without('CONNECTION ADMIN', no_connection_admin))

    def no_process():
        rows = L.sql(3, 'SHOW FULL PROCESSLIST', user='myorch', dicts=True)
        check(all(r['User'] == 'myorch' for r in rows), 'PROCESS revoked but sees others')
        return ['SHOW FULL PROCESSLIST shows only own sessions (%d rows)' % len(rows)]
    denied['PROCESS'] = (['SHOW FULL PROCESSLIST'], without('PROCESS', no_process))
    rows = L.sql(3, 'SHOW FULL PROCESSLIST', user='myorch', dicts=True)
    check(any(r['User'] != 'myorch' for r in rows), 'with PROCESS sees other users')

    # repl without REPLICATION SLAVE (on the source only): the replica IO thread fails
    def no_repl_slave():
        L.sql(3, 'STOP SLAVE IO_THREAD; START SLAVE IO_THREAD')
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            st = L.slave_status(3)
            if st['Last_IO_Errno'] not in ('0', None) and st['Slave_IO_Running'] != 'Yes':
                return ['IO thread: %s %s' % (st['Last_IO_Errno'], st['Last_IO_Error'][:90])]
            time.sleep(0.1)
        raise AssertionError('replica still connected without REPLICATION SLAVE')
    denied['repl: REPLICATION SLAVE'] = (['replica IO thread'],
                                         without('REPLICATION SLAVE', no_repl_slave, i=2,
                                                 user="'repl'@'127.0.0.1'"))
    L.sql(3, 'STOP SLAVE IO_THREAD; START SLAVE IO_THREAD')
    L.wait_replicating(3, 30)
    for priv, (stmts, errs) in denied.items():
        step('without %-24s denied: %s' % (priv, errs[0][:110]))
    # all statements work again with the full grants
    for s in ['SHOW SLAVE STATUS', 'SHOW MASTER STATUS', 'SHOW SLAVE HOSTS',
              'SET GLOBAL read_only=1']:
        M(3, s)

    # down with one server SIGSTOPped
    L.kill(4, 'STOP')
    t = time.monotonic()
    L.down()
    T['down (4 servers, one SIGSTOPped)'] = time.monotonic() - t
    left = ours_alive(L.dir)
    check(not left, 'mariadbd left after down: %s' % left)
    L.down()   # idempotent
    step('down() with server 4 SIGSTOPped: no mariadbd left (%.2fs); second down() OK'
         % T['down (4 servers, one SIGSTOPped)'])


def test_chain(L):
    t = time.monotonic()
    L.up(servers=3, topology='chain')
    T['up chain 3 (cached template)'] = time.monotonic() - t
    check(L.slave_status(3)['Master_Port'] == str(L.port(2)), '3 replicates from 2')
    check(L.slave_status(2)['Master_Port'] == str(L.port(1)), '2 replicates from 1')
    L.write(1, 4)
    L.wait_replicating(2, 30)
    L.wait_replicating(3, 30)
    counts_equal(L, [1, 2, 3], 4)
    hosts = L.sql(2, 'SHOW SLAVE HOSTS', user='myorch', dicts=True)
    check([int(h['Port']) for h in hosts] == [L.port(3)], 'server 2 sees 3 as replica')
    # the CLI on the same lab
    here = os.path.dirname(os.path.abspath(__file__))
    r = subprocess.run([sys.executable, os.path.join(here, 'lab.py'), 'status', '--dir', L.dir],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0 and r.stdout.count('"running"') == 3, 'CLI status: %s' % r.stdout)
    r = subprocess.run([sys.executable, os.path.join(here, 'lab.py'), 'sql', '--dir', L.dir,
                        '3', 'SELECT COUNT(*) FROM lab.t'], capture_output=True, text=True)
    check(r.stdout.strip() == '4', 'CLI sql: %r %r' % (r.stdout, r.stderr))
    t = time.monotonic()
    L.down()
    T['down (3 servers)'] = time.monotonic() - t
    check(not ours_alive(L.dir), 'chain lab left servers')
    step('chain 1 -> 2 -> 3: replicated, SHOW SLAVE HOSTS on 2, CLI status/sql (up %.2fs)'
         % T['up chain 3 (cached template)'])


def test_semi_sync(L):
    t = time.monotonic()
    L.up(servers=3, topology='star', semi_sync=True)
    T['up star 3 semi-sync'] = time.monotonic() - t
    st = dict(L.sql(1, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_%'", user='myorch'))
    check(st['Rpl_semi_sync_master_status'] == 'ON' and st['Rpl_semi_sync_master_clients'] == '2',
          'semi-sync status %s' % st)
    t = time.monotonic()
    L.write(1, 3)
    w = time.monotonic() - t
    check(w < 2, 'semi-sync write took %.2fs (timeout fallback?)' % w)
    yes = dict(L.sql(1, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_yes_tx'"))
    check(int(yes['Rpl_semi_sync_master_yes_tx']) >= 1, 'acknowledged tx')
    L.down(remove=True)
    check(not ours_alive(L.dir), 'semi-sync lab left servers')
    step('semi-sync lab: status ON, 2 clients, write acked in %.3fs' % w)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--keep', action='store_true', help='keep the temp dir')
    ap.add_argument('--base-port', type=int, default=None)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix='myorch-lab-selftest-')
    base = a.base_port or lab.free_base_port(count=8)
    print('selftest dir %s, base port %d' % (root, base), flush=True)
    cache = os.path.join(root, 'cache')       # fresh template, to time its creation
    labs = [lab.Lab(os.path.join(root, n), base_port=base, cache_dir=cache)
            for n in ('star', 'chain', 'semi')]
    ok = False
    t0 = time.monotonic()
    try:
        test_star(labs[0], base)
        test_chain(labs[1])
        test_semi_sync(labs[2])
        check(not ours_alive(root), 'servers left under %s' % root)
        ok = True
    finally:
        for L in labs:
            try:
                L.down()
            except Exception as e:  # noqa: BLE001
                print('down failed: %s' % e)
        left = ours_alive(root)
        if left:
            print('ERROR: mariadbd still running: %s' % left)
            ok = False
        T['selftest total'] = time.monotonic() - t0
        print('\ntimings:')
        for k, v in T.items():
            print('  %-36s %6.2fs' % (k, v or 0))
        if ok and not a.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print('kept %s' % root)
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
