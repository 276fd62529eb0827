"""The fault scenarios (issue 7). Each takes a Ctx, raises AssertionError on failure and
fills ctx.metrics (failover_ms = promoted_ms from the audit minus the wall clock taken
right before the fault was injected; lost = acknowledged rows missing on the final primary).

Topology: db1 primary (10.77.0.1), db2 and db3 replicas, semi-sync on (AFTER_SYNC, 600 s
timeout: an acknowledged row is on a replica), writer host 10.77.0.20, myorch on 10.77.0.10.
"""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

from faultlab import now_ms, wait_for

ADDR_RE_OK = ('done',)


def _bulk(ctx, i, trx=20, rows=2000):
    """Big transactions (replicas take a while to apply them): trx x rows into lab.t as root."""
    for _ in range(trx):
        ctx.lab.sql(i, "USE lab; INSERT INTO lab.t (v) SELECT CONCAT('bulk-', seq) FROM seq_1_to_%d" % rows, timeout=60)


def _check_failover_audit(ctx, rec, old, new=None, analysis=('dead-primary', 'dead-primary-and-some-replicas')):
    if rec['state'] not in ('done', 'done-hooks-failed'):
        raise AssertionError('recovery #%s %s: %s' % (rec['id'], rec['state'], rec.get('error')))
    if rec['kind'] != 'failover':
        raise AssertionError('recovery kind %s' % rec['kind'])
    if analysis and rec['analysis'] not in analysis:
        raise AssertionError('recovery analysis %s, want %s' % (rec['analysis'], analysis))
    if rec['old_primary'] != ctx.lab.addr(old):
        raise AssertionError('audit old_primary %s, want %s' % (rec['old_primary'], ctx.lab.addr(old)))
    if new is not None and rec['new_primary'] != ctx.lab.addr(new):
        raise AssertionError('audit new_primary %s, want %s' % (rec['new_primary'], ctx.lab.addr(new)))
    if rec.get('lost_gtids'):
        raise AssertionError('audit lost_gtids=%s' % rec['lost_gtids'])
    kinds = [s['kind'] for s in rec.get('steps', [])]
    for k in ('detach', 'set-writable'):
        if k not in kinds:
            raise AssertionError('audit steps lack %s: %s' % (k, kinds))
    return ctx.lab.index_of_addr(rec['new_primary'])


def _old_primary_fenced(ctx, i, timeout=20):
    try:
        wait_for(lambda: ctx.ro(i) == '1', timeout=timeout, interval=0.05, what='old primary %d read-only' % i)
    except AssertionError:
        ctx.diag(i)  # what the server was doing tells why the controller could not fence it
        raise


def _rejoined_or_diverged(ctx, old, new, since, timeout=20):
    """The fenced old primary either replicates from the new one (primary-rejoined) or was
    reported primary-diverged (it holds transactions the new one lacks: never acknowledged)."""
    def ok():
        names = ctx.event_names(since)
        st = ctx.lab.slave_status(old, timeout=5)
        if st and st['Master_Host'] == ctx.lab.ip(new) and st['Slave_IO_Running'] == 'Yes' \
                and st['Slave_SQL_Running'] == 'Yes':
            return 'rejoined'
        if 'primary-diverged' in names:
            return 'diverged'
        return None
    how = wait_for(ok, timeout=timeout, interval=0.1, what='old primary %d rejoined or reported diverged' % old)
    ctx.note('old primary %s', how)
    return () if how == 'rejoined' else (old,)


def _local_writers(ctx):
    """Applications co-located with the primary db1 that keep writing to it through a
    partition: semi-sync must keep it from acknowledging anything once it is cut off."""
    return [ctx.start_writer('stale%d' % k, host='db1', targets=[ctx.lab.addr(1)], follow=False,
                             start=1000000 * (k + 1), rate=50) for k in range(3)]


def _local_writers_lost(ctx, stale, new):
    """Stop the local writers; fail when the new primary lacks a row one of them got an OK for
    (a commit the cut-off old primary acknowledged would be a second writer)."""
    lost = 0
    for w in stale:
        sres = w.stop()
        m = ctx.acked_missing(sres, new)
        ctx.note('local writer %s on db1: %d acked, %d errors, %d acked rows missing on the new primary',
                 w.name, sres['acked'], sres['errors'], m)
        lost += m
    ctx.metrics['lost'] = (ctx.metrics.get('lost') or 0) + lost
    if lost:
        raise AssertionError('the cut-off old primary acknowledged %d rows the new primary does not have' % lost)


# ---------------------------------------------------------------- 1
def s01_primary_killed(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.assert_events(['primary-dead', 'recovery-started', 'candidate-selected', 'replica-promoted',
                       'recovery-done'], t)
    ctx.wait_healthy(new)
    # The old primary restarts writable (as its config says): fenced at once, then rejoined.
    t2 = now_ms()
    ctx.returned(1)
    ctx.lab.start(1, read_only=False)
    _old_primary_fenced(ctx, 1)
    allow = _rejoined_or_diverged(ctx, 1, new, t2)
    ctx.assert_events(['primary-fenced'], t2)
    time.sleep(1)
    ctx.finish(new, allow)


# ---------------------------------------------------------------- 2
def s02_primary_stopped(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('SIGSTOP db1')
    ctx.kill(1, 'STOP')
    try:
        rec = ctx.wait_recovery(1, timeout=60)
        new = _check_failover_audit(ctx, rec, 1)
        ctx.failover_time(rec, t)
        ctx.wait_healthy(new)
    finally:
        t2 = now_ms()
        ctx.returned(1)
        ctx.kill(1, 'CONT')
    _old_primary_fenced(ctx, 1)
    allow = _rejoined_or_diverged(ctx, 1, new, t2)
    ctx.assert_events(['primary-dead', 'replica-promoted', 'recovery-done', 'primary-fenced'], t)
    time.sleep(1)
    ctx.finish(new, allow)


# ---------------------------------------------------------------- 3
def s03_primary_isolated(ctx):
    ctx.setup()
    ctx.start_writer()
    stale = _local_writers(ctx)
    ctx.wait_writer_progress()
    t = ctx.inject('isolate db1 (bridge port drops everything)')
    ctx.net.isolate('db1')
    rec = ctx.wait_recovery(1, timeout=60)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.wait_healthy(new)
    time.sleep(3)
    t2 = ctx.inject('reconnect db1')
    ctx.returned(1)
    ctx.net.rejoin('db1')
    _old_primary_fenced(ctx, 1, timeout=30)
    fenced_ms = now_ms() - t2
    ctx.metrics['fence_after_reconnect_ms'] = fenced_ms
    ctx.note('old primary read-only %d ms after reconnection', fenced_ms)
    allow = _rejoined_or_diverged(ctx, 1, new, t2)
    time.sleep(1)
    ctx.finish(new, allow)
    _local_writers_lost(ctx, stale, new)


# ---------------------------------------------------------------- 4
def s04_orch_primary_cut(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('cut orch <-> db1')
    ctx.net.cut('orch', 'db1')
    seen = set()
    before = ctx.max_seq(1)
    end = time.monotonic() + 12
    while time.monotonic() < end:
        seen.add(ctx.analysis())
        time.sleep(0.25)
    ctx.assert_no_recovery()
    if 'primary-unreachable-but-replicas-replicating' not in seen:
        raise AssertionError('analysis never primary-unreachable-but-replicas-replicating: %s' % seen)
    if ctx.max_seq(1) <= before:
        raise AssertionError('writes stopped on the primary during the cut')
    ctx.assert_events(['primary-suspect'], t)
    if 'primary-dead' in ctx.event_names(t):
        raise AssertionError('primary-dead reported')
    ctx.note('analyses seen: %s', sorted(seen))
    ctx.net.heal()
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after heal')
    ctx.finish(1)


# ---------------------------------------------------------------- 5
def s05_replicas_primary_cut(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('cut db2 <-> db1, db3 <-> db1')
    ctx.net.cut('db2', 'db1')
    ctx.net.cut('db3', 'db1')
    seen = set()
    end = time.monotonic() + 12
    while time.monotonic() < end:
        seen.add(ctx.analysis())
        time.sleep(0.25)
    ctx.assert_no_recovery()
    warn = [e for e in ctx.events() if e.get('ts_ms', 0) >= t and e['name'] == 'analysis-changed'
            and e.get('level') in ('warn', 'error')
            and (e.get('detail') or {}).get('analysis') in ('replicas-broken', 'locked-semi-sync')]
    if not (seen & {'replicas-broken', 'locked-semi-sync'}):
        raise AssertionError('no warning analysis during the cut: %s' % seen)
    if not warn:
        names = [(e['name'], e['level'], (e.get('detail') or {}).get('analysis')) for e in ctx.events()
                 if e.get('ts_ms', 0) >= t]
        raise AssertionError('no warn-level analysis-changed event for the broken replicas: %s' % names[:20])
    if 'primary-dead' in ctx.event_names(t) or 'recovery-started' in ctx.event_names(t):
        raise AssertionError('failover started although the controller saw the primary')
    ctx.note('analyses seen: %s', sorted(seen))
    ctx.net.heal()
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after heal')
    before = ctx.max_seq(1)
    wait_for(lambda: ctx.max_seq(1) > before + 20, timeout=20, what='writes resume after heal')
    ctx.finish(1)


# ---------------------------------------------------------------- 6
def s06_lagging_replicas(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    # db2 receives everything but applies nothing for a while; db3 stops receiving.
    ctx.lab.sql(2, 'STOP SLAVE SQL_THREAD')
    ctx.lab.sql(3, 'STOP SLAVE IO_THREAD')
    _bulk(ctx, 1, trx=30, rows=3000)
    time.sleep(2)
    # Both start catching up; the primary dies in the middle of it.
    ctx.lab.sql(2, 'START SLAVE SQL_THREAD')
    ctx.lab.sql(3, 'START SLAVE IO_THREAD')
    time.sleep(0.05)
    t = ctx.inject('kill -9 db1 while db2 applies a backlog and db3 downloads one')
    ctx.kill(1, 'KILL')
    lag = [(ctx.lab.sql_value(i, 'SELECT @@gtid_slave_pos'), ctx.lab.slave_status(i)) for i in (2, 3)]
    ctx.note('at the kill: db2 applied %s received %s; db3 applied %s received %s', lag[0][0],
             lag[0][1].get('Gtid_IO_Pos'), lag[1][0], lag[1][1].get('Gtid_IO_Pos'))
    rec = ctx.wait_recovery(1, timeout=90)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.finish(new)


# ---------------------------------------------------------------- 7
def s07_errant_candidate(ctx):
    ctx.setup(cluster_extra='prefer = 10.77.0.2:3306')
    ctx.start_writer()
    ctx.wait_writer_progress()
    # The preferred replica gets a transaction of its own (another GTID domain).
    ctx.lab.sql(2, "SET SESSION gtid_domain_id=7; INSERT INTO lab.t (v) VALUES ('errant on db2')")
    wait_for(lambda: '7-2-' in (ctx.topology_instance(2)['snapshot']['gtid_binlog_pos'] or ''), timeout=10,
             what='controller sees the errant transaction')
    t = ctx.inject('kill -9 db1 (preferred candidate db2 is errant)')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1)
    new = _check_failover_audit(ctx, rec, 1, new=3)
    ctx.failover_time(rec, t)
    ex = rec['plan'].get('excluded') or ''
    if 'errant' not in ex or ctx.lab.addr(2) not in ex or '7-2-1' not in ex:
        raise AssertionError('plan does not exclude db2 as errant: %r' % ex)
    ctx.finish(new)


# ---------------------------------------------------------------- 8
def s08_delayed_replica(ctx):
    def delay_db2():
        # A delayed replica does not acknowledge semi-sync (it could be the only one holding an
        # acknowledged row, which it applies an hour later): the usual configuration.
        ctx.lab.sql(2, 'SET GLOBAL rpl_semi_sync_slave_enabled=OFF')
        ctx.lab.set_source(2, 1, delay_s=3600, wait=False)
        ctx.lab.wait_replicating(2, caught_up=False)
    ctx.setup(cluster_extra='prefer = 10.77.0.2:3306', before_daemon=delay_db2)
    ctx.start_writer()
    ctx.wait_writer_progress(200)
    t = ctx.inject('kill -9 db1 (preferred db2 is delayed 3600 s)')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1)
    new = _check_failover_audit(ctx, rec, 1, new=3)
    ctx.failover_time(rec, t)
    ex = rec['plan'].get('excluded') or ''
    if ctx.lab.addr(2) not in ex or 'delay' not in ex:
        raise AssertionError('plan does not exclude the delayed db2: %r' % ex)
    # The delayed replica stays a (delayed) replica of the new primary; it is not checked for data.
    p = ctx.wait_healthy(new)
    for name, w in list(ctx.writers.items()):
        w.stop()
    ctx.finish(p, allow=(2,))
    st = ctx.lab.slave_status(2)
    if st['Master_Host'] != ctx.lab.ip(new) or st['Slave_IO_Running'] != 'Yes':
        raise AssertionError('delayed db2 does not replicate from the new primary: %s %s' % (
            st['Master_Host'], st['Slave_IO_Running']))
    if int(st.get('SQL_Delay') or 0) != 3600:
        ctx.note('db2 SQL_Delay after repoint: %s', st.get('SQL_Delay'))


# ---------------------------------------------------------------- 9
def s09_two_failures_in_block(ctx):
    ctx.setup(cluster_extra='failover_block_s = 600')
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.wait_healthy(new)
    time.sleep(1)
    other = 5 - new
    t2 = ctx.inject('kill -9 db%d (the new primary) inside the block period' % new)
    ctx.kill(new, 'KILL')
    ctx.wait_event('recovery-blocked', t2, timeout=30)
    time.sleep(3)
    if ctx.ro(other) != '1':
        raise AssertionError('db%d was made writable inside the block period' % other)
    if len(ctx.recoveries()) != 1:
        raise AssertionError('a second recovery ran inside the block period')
    st = ctx.status()['recovery']
    if not st['blocked_for_s'] > 0:
        raise AssertionError('status does not show the block: %s' % st)
    # The operator acknowledges: the second failover proceeds.
    t3 = ctx.inject('myorch ack')
    p = ctx.myorch('ack', '--cluster', 'lab')
    if p.returncode != 0:
        raise AssertionError('ack failed: %s' % p.stderr)
    rec2 = ctx.wait_recovery(2)
    _check_failover_audit(ctx, rec2, new, other)
    ctx.metrics['second_failover_after_ack_ms'] = rec2['promoted_ms'] - t3
    ctx.finish(other)


# ---------------------------------------------------------------- 10
# Where scenario 10 kills the controller, by run number: right after that step succeeded on
# the server and before the controller recorded it (the executor's test failpoint,
# MYORCH_TEST_CRASH_AFTER_STEP), or None: at a random time 0-1 s after recovery-started.
S10_SWEEP = ['detach', None, 'stop-io', 'wait-apply', 'set-writable', 'semi-sync-source', 'repoint', 'verify',
             'fence']


def s10_controller_killed_mid_failover(ctx):
    crash = S10_SWEEP[(ctx.run_no - 1) % len(S10_SWEEP)]
    ctx.note('controller killed %s', 'right after step %s' % crash if crash else 'at a random time')
    ctx.setup(daemon_env={'MYORCH_TEST_CRASH_AFTER_STEP': crash} if crash else None)
    ctx.start_writer()
    ctx.wait_writer_progress()
    # A backlog on both replicas makes the failover's wait-apply step last ~1 s.
    for i in (2, 3):
        ctx.lab.sql(i, 'STOP SLAVE SQL_THREAD')
    _bulk(ctx, 1, trx=30, rows=3000)
    for i in (2, 3):
        ctx.lab.sql(i, 'START SLAVE SQL_THREAD')
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    ev = ctx.wait_event('recovery-started', t, timeout=30)
    if crash:
        try:
            ctx.daemon.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError('the controller did not crash after step %s' % crash) from None
        d = (now_ms() - ev['ts_ms']) / 1000.0
    else:
        d = ctx.rng.uniform(0, 1.0)
        time.sleep(d)
        ctx.inject('kill -9 myorch %.0f ms after recovery-started' % (d * 1000))
        ctx.kill_daemon()
    ctx.note('myorch killed %.0f ms after recovery-started', d * 1000)
    del ev
    writable_now = [i for i in (2, 3) if ctx.ro(i) == '0']
    ctx.note('writable when the controller died: %s', writable_now or 'none')
    t2 = now_ms()
    ctx.start_daemon()
    time.sleep(3)
    recs = ctx.recoveries()
    if not recs:
        raise AssertionError('the audit lost the recovery: no record after the controller restart (killed %.0f ms '
                             'after recovery-started; writable then: %s; writable now: %s)'
                             % (d * 1000, writable_now or 'none',
                                [i for i in ctx.reachable_servers() if ctx.ro(i) == '0'] or 'none'))
    r1 = ctx.recovery(recs[-1]['id'])
    steps = [(s['kind'], s.get('result')) for s in r1.get('steps', [])]
    ctx.note('recovery #1 after restart: state=%s steps=%s', r1['state'], steps)
    if r1['state'] == 'running':
        raise AssertionError('recovery #1 still "running" after the controller restarted')
    if r1['state'] == 'rolled-back':
        # Interrupted before the point of no return: the restarted controller gives the
        # candidate its replication back and fails over afresh, without an operator.
        # (logged at start, before the harness's event subscriber is back: read the log)
        wait_for(lambda: 'recovery-interrupted' in ctx.daemon_log_text().split('==== harness: myorch run started')[-1],
                 timeout=20, what='recovery-interrupted reported')
        rec2 = ctx.wait_recovery(2, timeout=60)
        _check_failover_audit(ctx, rec2, 1)
        ctx.note('rolled back, then recovery #%s promoted %s', rec2['id'], rec2['new_primary'])
    elif r1['state'] not in ('done', 'done-hooks-failed'):
        # Interrupted past the point of no return: reported, automatic recovery blocked until acknowledged.
        wait_for(lambda: 'interrupted' in ctx.daemon_log_text().split('==== harness: myorch run started')[-1],
                 timeout=20, what='interruption reported')
        t3 = ctx.inject('myorch ack')
        p = ctx.myorch('ack', '--cluster', 'lab')
        if p.returncode != 0:
            raise AssertionError('ack failed: %s' % p.stderr)
        ctx.metrics['ack_at'] = t3 - t
    p = ctx.wait_healthy(timeout=60)
    recs = ctx.recoveries()
    promoted = [r for r in recs if r.get('new_primary') == ctx.lab.addr(p)]
    ctx.note('recoveries: %s', [(r['id'], r['state'], r.get('new_primary')) for r in recs])
    last = ctx.recovery(recs[0]['id'])
    if last.get('promoted_ms'):
        ctx.metrics['failover_ms'] = last['promoted_ms'] - t
    del promoted, t2
    ctx.finish(p)


# ---------------------------------------------------------------- 11
def s11_hook_hangs(ctx):
    marker = os.path.join(ctx.dir, 'hook-ran')
    ctx.setup(cluster_extra='hook_timeout_ms = 1000\n'
                            "pre_failover = sh -c 'echo pre >> %s; exec sleep 600'\n"
                            "post_failover = sh -c 'echo post >> %s; exec sleep 600'\n" % (marker, marker))
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1 (pre_failover and post_failover hooks hang, hook_timeout_ms=1000)')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1, timeout=60)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    hooks = [s for s in rec['steps'] if s['kind'] == 'hook']
    if rec['state'] != 'done-hooks-failed':
        raise AssertionError('recovery state %s, want done-hooks-failed (post hook timed out)' % rec['state'])
    if len(hooks) < 2 or not all('timed out' in (s.get('message') or '') for s in hooks):
        raise AssertionError('hook steps do not report timeouts: %s' % [(s.get('description'), s.get('message'))
                                                                       for s in hooks])
    for s in hooks:
        dur = s['ended_ms'] - s['started_ms']
        if dur > 1000 + 1000 + 500:
            raise AssertionError('hook step took %d ms (timeout 1000 + grace 1000)' % dur)
    ours = {p.pid for p in ctx.net.procs}          # myorch run, myorch events
    left = [pid for pid in _ns_pids(ctx, 'orch') if pid not in ours]
    if left:
        raise AssertionError('hook processes left behind: %s' % left)
    with open(marker) as f:
        ran = f.read().split()
    if ran != ['pre', 'post']:
        raise AssertionError('hooks ran: %s' % ran)
    ctx.finish(new)


def _ns_pids(ctx, host):
    import faultlab
    return faultlab.ns_pids(ctx.net.ns(host))


# ---------------------------------------------------------------- 12
def s12_pre_failover_veto(ctx):
    veto = os.path.join(ctx.dir, 'veto')
    open(veto, 'w').close()
    ctx.setup(cluster_extra="pre_failover = sh -c 'if test -e %s; then echo vetoed by the test; exit 3; fi'\n" % veto)
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1 (pre_failover vetoes)')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_recovery(1, timeout=60)
    if rec['state'] == 'done' or rec.get('promoted_ms'):
        raise AssertionError('vetoed failover promoted: %s' % rec['state'])
    ctx.assert_events(['hook-vetoed'], t)
    hooks = [s for s in rec['steps'] if s['kind'] == 'hook']
    if not hooks or 'vetoed by the test' not in (hooks[0].get('message') or ''):
        raise AssertionError('audit lacks the veto output: %s' % hooks)
    time.sleep(2)
    for i in (2, 3):
        if ctx.ro(i) != '1':
            raise AssertionError('db%d writable after a veto' % i)
        st = ctx.lab.slave_status(i)
        if st['Slave_SQL_Running'] != 'Yes':
            raise AssertionError('db%d SQL thread not running after the veto' % i)
    ctx.note('vetoed recovery #%s state=%s', rec['id'], rec['state'])
    # The veto is lifted and the operator acknowledges: the failover proceeds.
    os.unlink(veto)
    t2 = ctx.inject('veto lifted, myorch ack')
    p = ctx.myorch('ack', '--cluster', 'lab')
    if p.returncode != 0:
        raise AssertionError('ack failed: %s' % p.stderr)
    rec2 = ctx.wait_recovery(2, timeout=60)
    new = _check_failover_audit(ctx, rec2, 1)
    ctx.metrics['failover_ms'] = rec2['promoted_ms'] - t2
    ctx.finish(new)


# ---------------------------------------------------------------- 13
def s13_all_replicas_down(ctx):
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db2 and db3')
    ctx.kill(2, 'KILL')
    ctx.kill(3, 'KILL')
    seen = set()
    end = time.monotonic() + 8
    while time.monotonic() < end:
        seen.add(ctx.analysis())
        time.sleep(0.25)
    ctx.assert_no_recovery()
    if ctx.ro(1) != '0':
        raise AssertionError('primary read-only')
    if 'primary-dead' in ctx.event_names(t):
        raise AssertionError('primary-dead reported')
    ctx.note('analyses seen: %s', sorted(seen))
    if not (seen & {'replicas-broken', 'locked-semi-sync'}):
        raise AssertionError('no warning analysis with every replica down: %s' % seen)
    ctx.lab.start(2)
    ctx.lab.start(3)
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after the replicas return')
    before = ctx.max_seq(1)
    wait_for(lambda: ctx.max_seq(1) > before + 20, timeout=20, what='writes resume')
    ctx.finish(1)


# ---------------------------------------------------------------- 14
def s14_switchover_under_load(ctx):
    ctx.setup()
    ctx.start_writer(rate=0)
    ctx.wait_writer_progress(200)
    t = ctx.inject('myorch switchover')
    p = ctx.myorch('switchover', '--cluster', 'lab', '--json', timeout=120)
    if p.returncode != 0:
        raise AssertionError('switchover failed: %s %s' % (p.stdout[-800:], p.stderr))
    r = ctx.jmyorch('recoveries', '--id', str(ctx.recoveries()[0]['id']))['recoveries'][0]
    if r['state'] != 'done' or r['kind'] != 'switchover':
        raise AssertionError('switchover audit: %s %s' % (r['kind'], r['state']))
    new = ctx.lab.index_of_addr(r['new_primary'])
    ctx.metrics['failover_ms'] = r['promoted_ms'] - t
    res = __import__('json').loads(p.stdout)
    ctx.metrics['writes_refused_ms'] = res.get('writes_refused_ms')
    ctx.note('writes_refused_ms=%s', res.get('writes_refused_ms'))
    time.sleep(1)
    _, results = ctx.finish(new)
    st = ctx.lab.slave_status(1)
    if st['Master_Host'] != ctx.lab.ip(new):
        raise AssertionError('old primary does not replicate from the new one')
    ctx.note('writer max gap %s ms', results['main']['max_gap_ms'])


# ---------------------------------------------------------------- 15
def s15_latency_loss(ctx, duration=30):
    ctx.setup()
    ctx.start_writer(rate=50)
    ctx.wait_writer_progress()
    t = ctx.inject('200 ms delay + 5%% loss on every host egress for %d s' % duration)
    ctx.net.impair(200, 5, ctx.dir)
    seen = {}
    before = ctx.max_seq(1)
    end = time.monotonic() + duration
    while time.monotonic() < end:
        a = ctx.analysis()
        seen[a] = seen.get(a, 0) + 1
        time.sleep(0.5)
    progress = ctx.max_seq(1) - before
    ctx.net.clear_impairment()
    ctx.note('analyses (samples): %s; rows written during the impairment: %d', seen, progress)
    suspects = ctx.event_names(t).count('primary-suspect')
    ctx.metrics['suspect_events'] = suspects
    # How long the controller had no working connection to the primary (instance-down -> -up).
    blind, down_at = 0, None
    for e in ctx.events():
        if e.get('instance') != ctx.lab.addr(1) or e.get('ts_ms', 0) < t:
            continue
        if e['name'] == 'instance-down' and e.get('level') != 'debug' and down_at is None:
            down_at = e['ts_ms']
        elif e['name'] == 'instance-up' and down_at is not None:
            blind += e['ts_ms'] - down_at
            down_at = None
    if down_at is not None:
        blind += now_ms() - down_at
    ctx.metrics['primary_unreachable_ms'] = blind
    losses = sum(1 for e in ctx.events() if e['name'] == 'instance-down' and e.get('level') != 'debug'
                 and e.get('instance') == ctx.lab.addr(1) and e.get('ts_ms', 0) >= t)
    ctx.note('controller lost the primary %d time(s), %d ms in all', losses, blind)
    ctx.assert_no_recovery()
    if 'primary-dead' in ctx.event_names(t):
        raise AssertionError('primary-dead reported under latency/loss')
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after the impairment')
    ctx.finish(1)


# ---------------------------------------------------------------- 16
def s16_crash_during_switchover(ctx):
    """Switchover to db2 while db2's applier is held back by a lock, so the switchover sits in
    wait-caught-up; a pre_switchover hook takes 300 ms. db1 is killed at a random moment 0-600 ms
    after the switchover started (during the hook, i.e. before the demote, or after it), the
    lock released at a random moment 0.2-4 s in (catch-up bound apply_timeout_ms = 3000: some
    runs promote, some roll back)."""
    ctx.setup(cluster_extra='apply_timeout_ms = 3000\npre_switchover = sleep 0.3')
    ctx.start_writer()
    ctx.wait_writer_progress(200)
    top = int(ctx.lab.sql_value(2, 'SELECT COALESCE(MAX(n), 0) FROM lab.seq'))
    sock = ctx.lab.server(2)['socket']
    # Next-key lock on every number above the current top: db2's applier blocks on the next insert.
    lock = subprocess.Popen(['mariadb', '--no-defaults', '-uroot', '--socket', sock, '-e',
                             'BEGIN; SELECT COUNT(*) FROM lab.seq WHERE n > %d FOR UPDATE; SELECT SLEEP(120)' % top],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: ctx.lab.sql_value(2, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                              "WHERE COMMAND='Slave_SQL' AND STATE LIKE '%write_row%'") != '0',
                 timeout=10, what='db2 applier blocked by the lock')
        t0 = now_ms()
        sw = subprocess.Popen([ctx.bins.myorch, 'switchover', '--cluster', 'lab', '--to', ctx.lab.addr(2), '--json',
                               '-c', ctx.config], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            ev = ctx.wait_event('recovery-started', t0, timeout=30)
        except AssertionError:
            if sw.poll() is not None:
                raise AssertionError('switchover refused: %s' % sw.stderr.read().strip()) from None
            raise
        d1, d2 = ctx.rng.uniform(0, 0.6), ctx.rng.uniform(0.2, 4.0)
        for when, what in sorted([(d1, 'kill'), (d2, 'unlock')]):
            time.sleep(max(0.0, ev['ts_ms'] / 1000.0 + when - time.time()))
            if what == 'kill':
                t = ctx.inject('kill -9 db1 %.0f ms into the switchover' % (d1 * 1000))
                ctx.kill(1, 'KILL')
            else:
                ctx.log('releasing the lock on db2 %.0f ms into the switchover', d2 * 1000)
                lock.kill()
        ctx.note('db1 killed %.0f ms, db2 unlocked %.0f ms after the switchover started', d1 * 1000, d2 * 1000)
        out, err = sw.communicate(timeout=120)
    finally:
        if lock.poll() is None:
            lock.kill()
        lock.wait()
    last_line = (out.strip().splitlines() or [''])[-1] if out.strip() else err.strip()
    ctx.note('switchover rc=%s: %s', sw.returncode, last_line[:300])
    recs = ctx.recoveries()
    r1 = ctx.recovery(recs[-1]['id'])
    ctx.note('switchover #%s %s, steps %s', r1['id'], r1['state'],
             [(s['kind'], s.get('result')) for s in r1.get('steps', [])])
    p = ctx.wait_healthy(timeout=60)
    recs = ctx.recoveries()
    last = ctx.recovery(recs[0]['id'])
    if last.get('promoted_ms'):
        ctx.metrics['failover_ms'] = last['promoted_ms'] - t
    ctx.note('recoveries: %s', [(r['id'], r['kind'], r['state'], r.get('new_primary')) for r in recs])
    ctx.finish(p)


# ---------------------------------------------------------------- 17
def s17_controller_killed_after_failover(ctx):
    """myorch SIGKILLed 50-500 ms after recovery-done, restarted: the audit, the fenced old
    primary and the anti-flap block must survive (a crash of the controller right after a
    failover is as likely as during one)."""
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    ev = ctx.wait_event('recovery-done', t, timeout=30)
    d = ctx.rng.uniform(0.05, 0.5)
    time.sleep(max(0.0, ev['ts_ms'] / 1000.0 + d - time.time()))
    ctx.inject('kill -9 myorch %.0f ms after recovery-done' % (d * 1000))
    ctx.kill_daemon()
    ctx.start_daemon()
    time.sleep(1)
    recs = ctx.recoveries()
    if not recs or recs[0]['state'] not in ('done', 'done-hooks-failed') or not recs[0].get('promoted_ms'):
        raise AssertionError('the audit lost the failover across a controller restart %.0f ms after it finished: %s'
                             % (d * 1000, [(r['id'], r['state']) for r in recs] or 'no recovery at all'))
    ctx.failover_time(recs[0], t)
    st = ctx.status()['recovery']
    if not st['blocked_for_s'] > 0:
        raise AssertionError('anti-flap block lost across the restart: %s' % st)
    new = ctx.lab.index_of_addr(recs[0]['new_primary'])
    # The old primary comes back writable: still known as demoted, so fenced at once.
    t2 = now_ms()
    ctx.returned(1)
    ctx.lab.start(1, read_only=False)
    _old_primary_fenced(ctx, 1)
    allow = _rejoined_or_diverged(ctx, 1, new, t2)
    time.sleep(1)
    ctx.finish(new, allow)


# ---------------------------------------------------------------- 18, 19
ZONE_SPLIT_S = 15


def s18_zone_split_minority(ctx):
    """Issue 14's zone split: {db1 (primary), db2, the clients} | {controller, db3} for 15 s.
    The controller reaches 2 of the 4 voters (itself and db3): it must report
    dead-primary-minority and wait, while db1 goes on committing with db2's semi-sync
    acknowledgements. After the heal: one primary, db1, and every acknowledged row on it."""
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    zone_a, zone_b = ('db1', 'db2', 'writer'), ('orch', 'db3')
    t = ctx.inject('zone split %s | %s for %d s' % (zone_a, zone_b, ZONE_SPLIT_S))
    ctx.net.split(zone_a, zone_b)
    seen = set()
    before = ctx.max_seq(1)
    end = time.monotonic() + ZONE_SPLIT_S
    while time.monotonic() < end:
        seen.add(ctx.analysis())
        time.sleep(0.25)
    ctx.note('analyses seen: %s', sorted(seen))
    ctx.assert_no_recovery()
    if 'dead-primary-minority' not in seen:
        raise AssertionError('analysis never dead-primary-minority during the split: %s' % sorted(seen))
    ctx.assert_events(['primary-dead-minority'], t)
    if 'primary-dead' in ctx.event_names(t) or 'recovery-started' in ctx.event_names(t):
        raise AssertionError('the minority side started a failover')
    if ctx.ro(3) != '1':
        raise AssertionError('db3 (minority side) was made writable')
    after = ctx.max_seq(1)
    ctx.note('db1 committed %d rows during the split (acknowledged by db2)', after - before)
    if after <= before:
        raise AssertionError('the majority side stopped writing during the split')
    t2 = ctx.inject('heal the zone split')
    ctx.net.heal()
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after the heal')
    ctx.metrics['ok_after_heal_ms'] = now_ms() - t2
    ctx.finish(1)


def s19_zone_split_majority(ctx):
    """The mirror: the primary alone in its zone with local clients, {db1 + 3 local writers} |
    {controller, db2, db3, writer}. The controller's side holds 3 of 4 voters: it fails over as
    before, and the cut-off primary acknowledges nothing (semi-sync) until it is fenced."""
    ctx.setup()
    ctx.start_writer()
    stale = _local_writers(ctx)
    ctx.wait_writer_progress()
    t = ctx.inject('zone split (db1) | (orch, db2, db3, writer)')
    ctx.net.split(('db1',), ('orch', 'db2', 'db3', 'writer'))
    rec = ctx.wait_recovery(1, timeout=60)
    new = _check_failover_audit(ctx, rec, 1, analysis=('dead-primary',))
    ctx.failover_time(rec, t)
    ctx.wait_healthy(new)
    time.sleep(2)
    t2 = ctx.inject('heal the zone split')
    ctx.returned(1)
    ctx.net.heal()
    _old_primary_fenced(ctx, 1, timeout=30)
    allow = _rejoined_or_diverged(ctx, 1, new, t2)
    time.sleep(1)
    ctx.finish(new, allow)
    _local_writers_lost(ctx, stale, new)

# ---------------------------------------------------------------- 20
def s20_primary_slow_alive(ctx, duration=20):
    """Issue 18: a primary paused 300 ms every second (SIGSTOP, SIGCONT 300 ms later) for 20 s.
    Each pause silences it for less than stall_periods x heartbeat_period_ms (5 x 100 ms; 400 ms at
    most without writes: the pause and one period): never a failover."""
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    pid = ctx.lab.server(1)['pid']
    t = ctx.inject('SIGSTOP/SIGCONT db1: paused 300 ms every second for %d s' % duration)
    before = ctx.max_seq(1)
    pauses = 0
    end = time.monotonic() + duration
    try:
        while time.monotonic() < end:
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.3)
            os.kill(pid, signal.SIGCONT)
            pauses += 1
            time.sleep(0.7)
    finally:
        os.kill(pid, signal.SIGCONT)
    progress = ctx.max_seq(1) - before
    names = ctx.event_names(t)
    ctx.metrics['suspect_events'] = names.count('primary-suspect')
    ctx.note('%d pauses; rows written meanwhile: %d; primary-suspect events: %d', pauses, progress,
             names.count('primary-suspect'))
    ctx.assert_no_recovery()
    if 'primary-dead' in names:
        raise AssertionError('primary-dead reported for a primary paused 300 ms a second')
    if progress <= 0:
        raise AssertionError('no row written on the primary while it was paused 300 ms a second')
    wait_for(lambda: ctx.analysis() == 'ok', timeout=30, what='analysis ok after the pauses')
    ctx.finish(1)


# ---------------------------------------------------------------- 21
def s21_long_write_trx(ctx, seconds=30):
    """Issue 18: a 30 s write transaction on the primary (a row written, then SLEEP(30) inside
    the transaction, then COMMIT) while the writer goes on. The primary keeps sending events
    and heartbeats: never a failover."""
    ctx.setup()
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('a %d s write transaction on db1' % seconds)
    box = {}

    def long_trx():
        try:
            ctx.lab.sql(1, "START TRANSACTION; INSERT INTO lab.t (v) VALUES ('long-trx'); DO SLEEP(%d); COMMIT"
                        % seconds, timeout=seconds + 30)
            box['ok'] = True
        except Exception as e:  # reported below
            box['error'] = e
    th = threading.Thread(target=long_trx, daemon=True)
    th.start()
    th.join(seconds + 40)
    if not box.get('ok'):
        raise AssertionError('the long transaction did not commit: %s' % box.get('error'))
    names = ctx.event_names(t)
    ctx.note('primary-suspect events during the transaction: %d', names.count('primary-suspect'))
    ctx.assert_no_recovery()
    if 'primary-dead' in names:
        raise AssertionError('primary-dead reported during a long write transaction')
    wait_for(lambda: ctx.lab.sql_value(2, "SELECT COUNT(*) FROM lab.t WHERE v = 'long-trx'") == '1', timeout=30,
             what='the long transaction replicated')
    ctx.finish(1)


# ---------------------------------------------------------------- 22
def s22_intermediate_killed(ctx):
    """A chain db1 -> db2 -> db3 under write load; db2 (the intermediate primary, db1's only
    semi-sync replica) is killed: db1's commits wait for an acknowledgement until the
    controller moves db3 below db1 (db3 lost db2 itself), then go on. No failover, no row lost."""
    ctx.setup(topology='chain')
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db2 (intermediate primary)')
    ctx.kill(2, 'KILL')

    def moved():
        st = ctx.lab.slave_status(3, timeout=5)
        return st and st['Master_Host'] == ctx.lab.ip(1) and st['Slave_IO_Running'] == 'Yes' \
            and st['Slave_SQL_Running'] == 'Yes'
    wait_for(moved, timeout=30, interval=0.05, what='db3 replicating from db1')
    ctx.metrics['failover_ms'] = now_ms() - t
    rec = ctx.wait_recovery(1, timeout=30)
    if (rec['kind'], rec['state']) != ('intermediate', 'done'):
        raise AssertionError('recovery %s %s, want intermediate done: %s' % (rec['kind'], rec['state'],
                                                                             rec.get('error')))
    if ctx.ro(1) != '0':
        raise AssertionError('the primary was touched')
    ctx.assert_events(['intermediate-dead', 'recovery-done'], t)
    before = ctx.max_seq(1)
    wait_for(lambda: ctx.max_seq(1) > before + 20, timeout=20, what='writes go on after the move')
    time.sleep(1)
    ctx.finish(1)


# ================================================================ HA lab (issue 14)
# 3 etcd members (etcd1..3, 10.77.0.31-33) and 3 controllers c1..c3 (orch1..3, 10.77.0.11-13),
# coordination = etcd, etcd_lease_ttl_ms = 2000; the audit of each controller is its own.

ETCD_HOSTS = ('etcd1', 'etcd2', 'etcd3')
FAILOVER_DONE = ('done', 'done-hooks-failed')


def _others(ctx, n):
    return [m for m in ctx.ctls if m != n]


def _hook_recorder(ctx, kinds=('pre_failover', 'post_failover', 'post_failover_failed', 'pre_switchover',
                               'post_switchover')):
    """[cluster.lab] lines: every hook run appends 'KIND CONTROLLER' to hooks.log."""
    log = os.path.join(ctx.dir, 'hooks.log')
    return log, ''.join("%s = sh -c 'echo %s {ctl} >> %s'\n" % (k, k, log) for k in kinds)


def _hook_runs(log):
    try:
        with open(log) as f:
            return [ln.split() for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def _gate_hook(ctx, hold_s):
    """A pre_failover hook that holds the first failover (whoever runs it) for hold_s seconds and
    lets every later one through at once: the harness acts on the holder mid-recovery, before
    the point of no return. mkdir is the atomic 'first one' test."""
    gate = os.path.join(ctx.dir, 'gate')
    script = os.path.join(ctx.dir, 'gate.sh')
    with open(script, 'w') as f:
        f.write('if mkdir %s 2>/dev/null; then echo "$1" > %s/who; sleep %s; fi\nexit 0\n' % (gate, gate, hold_s))
    return gate, 'pre_failover = sh %s {ctl}\nhook_timeout_ms = %d\n' % (script, int(hold_s * 1000) + 20000)


def _wait_gate(ctx, gate, timeout=30):
    who = os.path.join(gate, 'who')
    return wait_for(lambda: os.path.exists(who) and open(who).read().strip(), timeout=timeout, interval=0.02,
                    what='the first pre_failover hook')


def _assert_ha_no_recovery(ctx, names=None):
    r = ctx.ha_recoveries(names)
    if r:
        raise AssertionError('unexpected recovery: %s' % __import__('json').dumps(r[0])[:600])


def _steps_since(rec, t_ms):
    """The audit's steps (hooks aside) that started at or after t_ms: what a controller did to
    servers. A step the fencing check refused ('not run: ...') did nothing."""
    return [s for s in rec.get('steps', []) if s['kind'] != 'hook' and (s.get('started_ms') or 0) >= t_ms
            and not (s.get('message') or '').startswith('not run')]


# ---------------------------------------------------------------- 23 (issue 14 a)
def s23_ha_ctl_primary_cut(ctx):
    """one controller cut from the primary only (odd runs the lock holder, even runs another) -> no failover"""
    ctx.setup(ha=True)
    h = ctx.holder()
    victim = h if ctx.run_no % 2 else ctx.rng.choice(_others(ctx, h))
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('cut %s (%s) <-> db1' % (victim, 'lock holder' if victim == h else 'not the holder'))
    ctx.net.cut(ctx.ctls[victim].host, 'db1')
    seen = set()
    before = ctx.max_seq(1)
    end = time.monotonic() + 12
    while time.monotonic() < end:
        seen.add(ctx.analysis(victim))
        time.sleep(0.25)
    _assert_ha_no_recovery(ctx)
    if 'primary-unreachable-but-replicas-replicating' not in seen:
        raise AssertionError('%s analysis never primary-unreachable-but-replicas-replicating: %s' % (victim, seen))
    if ctx.max_seq(1) <= before:
        raise AssertionError('writes stopped on the primary during the cut')
    dead = [e for e in ctx.events() if e['name'] == 'primary-dead' and e.get('ts_ms', 0) >= t]
    if dead:
        raise AssertionError('primary-dead reported: %s' % dead[0])
    ctx.note('analyses seen by %s: %s', victim, sorted(seen))
    ctx.net.heal()
    for n in ctx.ctls:
        wait_for(lambda: ctx.analysis(n) == 'ok', timeout=30, what='analysis ok on %s after heal' % n)
    ctx.finish(1)


# ---------------------------------------------------------------- 24 (issue 14 b)
def s24_ha_ctl_down_primary_killed(ctx):
    """primary crash with one controller down (odd runs the lock holder, even runs another) -> failover"""
    ctx.setup(ha=True)
    h = ctx.holder()
    victim = h if ctx.run_no % 2 else ctx.rng.choice(_others(ctx, h))
    ctx.start_writer()
    ctx.wait_writer_progress()
    ctx.inject('SIGKILL controller %s (%s)' % (victim, 'lock holder' if victim == h else 'not the holder'))
    ctx.stop_ctl(victim, signal.SIGKILL)
    time.sleep(ctx.rng.uniform(0, 1))
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_ha_recovery(timeout=60)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.note('failover by %s, %s down', rec['ctl'], victim)
    ctx.wait_healthy(new)
    time.sleep(1)
    recs = ctx.ha_recoveries()
    if len(recs) != 1:
        raise AssertionError('%d recoveries: %s' % (len(recs), [(r['ctl'], r['kind'], r['state']) for r in recs]))
    ctx.finish(new)


# ---------------------------------------------------------------- 25 (issue 14 c)
def s25_ha_etcd_quorum_lost(ctx, observe_s=6):
    """etcd quorum lost (odd runs 2 members killed, even runs cut off), primary crash -> no failover,
    status says why; etcd back -> the failover runs"""
    ctx.setup(ha=True)
    ctx.start_writer()
    ctx.wait_writer_progress()
    kill = ctx.run_no % 2 == 1
    t0 = ctx.inject('%s etcd2 and etcd3' % ('SIGKILL' if kill else 'cut off'))
    for k in (2, 3):
        if kill:
            ctx.etcd.kill(k)
        else:
            ctx.net.isolate('etcd%d' % k)
    wait_for(lambda: not any(ctx.coordination(n)['lease_ok'] for n in ctx.ctls), timeout=20, interval=0.2,
             what='every controller stops trusting its lease')
    ctx.note('leases untrusted %d ms after the quorum loss', now_ms() - t0)
    t = ctx.inject('kill -9 db1 (etcd without quorum)')
    ctx.kill(1, 'KILL')
    end = time.monotonic() + observe_s
    while time.monotonic() < end:
        for i in (2, 3):
            if ctx.ro(i) != '1':
                raise AssertionError('db%d writable while etcd has no quorum' % i)
        time.sleep(0.25)
    _assert_ha_no_recovery(ctx)
    for n in ctx.ctls:
        text = ctx.myorch('status', ctl=n).stdout
        if 'NOT TRUSTED: no recovery starts here' not in text:
            raise AssertionError('status of %s does not say why nothing recovers:\n%s' % (n, text[:1500]))
    names = ctx.event_names(t0)
    for ev in ('etcd-lease-lost', 'primary-dead'):
        if ev not in names:
            raise AssertionError('event %s missing (have %s)' % (ev, sorted(set(names))))
    held = [e for e in ctx.events() if e['name'] == 'recovery-held-coordination' and e.get('ts_ms', 0) >= t]
    ctx.note('recovery-held-coordination: %s', held[0].get('message', '')[:200] if held else 'none')
    if not held:
        raise AssertionError('no recovery-held-coordination event after the crash')
    t2 = ctx.inject('etcd2 and etcd3 back')
    for k in (2, 3):
        if kill:
            ctx.etcd.start(k, wait=False)
        else:
            ctx.net.rejoin('etcd%d' % k)
    rec = ctx.wait_ha_recovery(timeout=60)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.metrics['failover_ms'] = rec['promoted_ms'] - t2
    ctx.note('failover by %s %d ms after etcd came back', rec['ctl'], rec['promoted_ms'] - t2)
    ctx.wait_healthy(new)
    time.sleep(1)
    recs = ctx.ha_recoveries()
    if len(recs) != 1:
        raise AssertionError('%d recoveries: %s' % (len(recs), [(r['ctl'], r['kind'], r['state']) for r in recs]))
    ctx.finish(new)


# ---------------------------------------------------------------- 26 (issue 14 d)
def s26_ha_concurrent_switchovers(ctx):
    """two switchovers to different targets through two controllers (the holder and another) at once
    -> one runs, one is refused"""
    ctx.setup(ha=True, cluster_extra='pre_switchover = sleep 2\n')   # holds the first one open
    h = ctx.holder()
    pair = [h, ctx.rng.choice(_others(ctx, h))]
    ctx.rng.shuffle(pair)
    targets = dict(zip(pair, ctx.rng.sample([2, 3], 2)))
    ctx.start_writer()
    ctx.wait_writer_progress()
    res = {}
    go = threading.Event()

    def run(n):
        go.wait()
        res[n] = ctx.myorch('switchover', '--cluster', 'lab', '--to', ctx.lab.addr(targets[n]), '--json',
                            ctl=n, timeout=120)
    ths = [threading.Thread(target=run, args=(n,)) for n in pair]
    for th in ths:
        th.start()
    t = ctx.inject('switchover to db%d via %s and to db%d via %s at once (holder %s)'
                   % (targets[pair[0]], pair[0], targets[pair[1]], pair[1], h))
    go.set()
    for th in ths:
        th.join(150)
    ok = [n for n in pair if res[n].returncode == 0]
    for n in pair:
        ctx.note('%s -> db%d: rc %d %s', n, targets[n], res[n].returncode,
                 (res[n].stderr.strip() or res[n].stdout.strip())[-300:])
    if len(ok) != 1:
        raise AssertionError('%d switchovers succeeded (want exactly 1)' % len(ok))
    new = targets[ok[0]]
    recs = [r for r in ctx.ha_recoveries() if r['kind'] == 'switchover']
    if len(recs) != 1:
        raise AssertionError('%d switchover recoveries: %s' % (len(recs), [(r['ctl'], r['state']) for r in recs]))
    r = dict(ctx.recovery(recs[0]['id'], ctl=recs[0]['ctl']))
    if r['state'] != 'done' or r['new_primary'] != ctx.lab.addr(new):
        raise AssertionError('switchover audit: %s %s -> %s' % (r['state'], r.get('old_primary'), r.get('new_primary')))
    ctx.metrics['failover_ms'] = r['promoted_ms'] - t
    time.sleep(1)
    ctx.finish(new)
    st = ctx.lab.slave_status(1)
    if st['Master_Host'] != ctx.lab.ip(new):
        raise AssertionError('old primary does not replicate from the new one')


# ---------------------------------------------------------------- 27 (issue 14 e)
def s27_ha_rolling_restart(ctx):
    """a failover, then a rolling restart of every controller (SIGTERM, start, wait for it) ->
    no second recovery, every hook ran once"""
    log, hooks = _hook_recorder(ctx)
    ctx.setup(ha=True, cluster_extra=hooks)
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    rec = ctx.wait_ha_recovery(timeout=60)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.wait_healthy(new)
    wait_for(lambda: len(_hook_runs(log)) >= 2, timeout=20, what='pre and post_failover hooks ran')
    time.sleep(1)
    before = _hook_runs(log)
    ctx.note('hooks before the restarts: %s', before)
    order = list(ctx.ctls)
    ctx.rng.shuffle(order)
    for n in order:
        ctx.inject('rolling restart: SIGTERM %s' % n)
        ctx.stop_ctl(n, signal.SIGTERM)
        ctx.start_ctls([n])
        ctx.start_events(ctx.ctls[n])
        ctx.wait_ha_ready()
    time.sleep(3)
    recs = ctx.ha_recoveries()
    if len(recs) != 1:
        raise AssertionError('%d recoveries after the restarts: %s' % (
            len(recs), [(r['ctl'], r['kind'], r['state']) for r in recs]))
    after = _hook_runs(log)
    if after != before:
        raise AssertionError('hooks ran during the restarts: %s' % after[len(before):])
    kinds = [k for k, _ in after]
    if kinds.count('pre_failover') != 1 or kinds.count('post_failover') != 1:
        raise AssertionError('hook runs %s (want pre_failover and post_failover once)' % after)
    ctx.finish(new)


# ---------------------------------------------------------------- 28 (issue 14 f)
def s28_ha_holder_killed_mid_failover(ctx):
    """lock holder SIGKILLed mid-failover, after the promotion and before the repoint (test failpoint
    after set-writable, odd runs, or semi-sync-source, even runs) -> another controller finishes it"""
    step = 'set-writable' if ctx.run_no % 2 else 'semi-sync-source'
    ctx.setup(ha=True, first='c1', ctl_env={'c1': {'MYORCH_TEST_CRASH_AFTER_STEP': step}})
    if ctx.holder() != 'c1':
        raise AssertionError('c1 (with the failpoint) does not hold the lock')
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1 (the holder c1 dies right after %s)' % step)
    ctx.kill(1, 'KILL')
    c1 = ctx.ctls['c1']
    wait_for(lambda: c1.p.poll() is not None, timeout=60, what='c1 killed by its failpoint')
    t_crash = ctx.inject('c1 exited %s' % c1.p.returncode)
    promoted = [i for i in (2, 3) if ctx.ro(i) == '0']
    if len(promoted) != 1:
        raise AssertionError('writable after the crash: %s' % promoted)
    new = promoted[0]
    ctx.note('c1 promoted db%d and died', new)
    ctx.wait_healthy(new, timeout=60)
    ctx.metrics['handoff_ms'] = now_ms() - t_crash
    ctx.metrics['failover_ms'] = now_ms() - t
    ctx.note('handoff: every replica follows db%d %d ms after the holder died', new, ctx.metrics['handoff_ms'])
    recs = ctx.ha_recoveries()
    ctx.note('recoveries of c2, c3: %s', [(r['ctl'], r['kind'], r['state']) for r in recs])
    time.sleep(1)
    ctx.finish(new)


def _holder_paused(ctx, how):
    """g and h: the holder is held in its pre_failover hook, then cut from etcd (how = 'cut') or
    SIGSTOPped (how = 'stop'); another controller must fail over; the first must not act."""
    gate, hook = _gate_hook(ctx, hold_s=5 if how == 'cut' else 1)
    ctx.setup(ha=True, cluster_extra=hook)
    h = ctx.holder()
    others = _others(ctx, h)
    ctx.start_writer()
    ctx.wait_writer_progress()
    t = ctx.inject('kill -9 db1')
    ctx.kill(1, 'KILL')
    who = _wait_gate(ctx, gate)
    if who != h:
        raise AssertionError('the first pre_failover hook ran on %s, the holder is %s' % (who, h))
    if how == 'cut':
        t_fault = ctx.inject('cut %s from every etcd member (in its pre_failover hook)' % h)
        ctx.net.split([ctx.ctls[h].host], ETCD_HOSTS)
    else:
        t_fault = ctx.inject('SIGSTOP %s (in its pre_failover hook)' % h)
        ctx.stop_ctl(h, signal.SIGSTOP)
    # The new holder may first settle the interrupted recovery (rolled back: nothing was promoted),
    # then fail over itself.
    rec = ctx.wait_ha_recovery(timeout=60, names=others,
                               pred=lambda r: r['kind'] == 'failover' and r['state'] in FAILOVER_DONE)
    new = _check_failover_audit(ctx, rec, 1)
    ctx.failover_time(rec, t)
    ctx.note('failover by %s to db%d; recoveries of the others: %s', rec['ctl'], new,
             [(r['ctl'], r['kind'], r['state']) for r in ctx.ha_recoveries(others)])
    if how == 'stop':
        ctx.inject('SIGCONT %s' % h)
        ctx.stop_ctl(h, signal.SIGCONT)
    else:
        time.sleep(5)                 # the held hook ends while the holder is still cut off
    # The first holder lost its lock while held in its hook: it must not touch a server after that
    # (no step but the hook: stopping a replica's IO thread of the new primary is acting too).
    mine = wait_for(lambda: [r for r in ctx.recoveries(h) if r['state'] != 'running'] or None, timeout=60,
                    what='the recovery of %s ends' % h)
    full = ctx.recovery(mine[0]['id'], ctl=h)
    ctx.note('%s: recovery %s %s (%s)', h, full['kind'], full['state'], (full.get('error') or '')[:200])
    acted = _steps_since(full, t_fault)
    if full['state'] in FAILOVER_DONE or acted:
        raise AssertionError('the fenced holder %s acted after losing its lock: recovery %s, steps %s' % (
            h, full['state'], ['%s %s %s' % (s['kind'], s.get('target'), s.get('result')) for s in acted]))
    if how == 'cut':
        ctx.net.heal()
    ctx.wait_healthy(new)
    ctx.wait_ha_ready()
    time.sleep(2)
    ctx.finish(new)


# ---------------------------------------------------------------- 29 (issue 14 g)
def s29_ha_holder_cut_from_etcd(ctx):
    """lock holder cut from every etcd member in its pre_failover hook (before the point of no
    return) -> it stops, another controller fails over"""
    _holder_paused(ctx, 'cut')


# ---------------------------------------------------------------- 30 (issue 14 h)
def s30_ha_holder_sigstop(ctx):
    """lock holder SIGSTOPped in its pre_failover hook past its lease, continued after another
    controller failed over -> it must not act (fencing token)"""
    _holder_paused(ctx, 'stop')


SCENARIOS = [
    (1, 'primary-killed', s01_primary_killed),
    (2, 'primary-sigstop', s02_primary_stopped),
    (3, 'primary-isolated', s03_primary_isolated),
    (4, 'orch-primary-cut', s04_orch_primary_cut),
    (5, 'replicas-primary-cut', s05_replicas_primary_cut),
    (6, 'lagging-replicas', s06_lagging_replicas),
    (7, 'errant-candidate', s07_errant_candidate),
    (8, 'delayed-replica', s08_delayed_replica),
    (9, 'two-failures-in-block', s09_two_failures_in_block),
    (10, 'orch-killed-mid-failover', s10_controller_killed_mid_failover),
    (11, 'hook-hangs', s11_hook_hangs),
    (12, 'pre-failover-veto', s12_pre_failover_veto),
    (13, 'all-replicas-down', s13_all_replicas_down),
    (14, 'switchover-under-load', s14_switchover_under_load),
    (15, 'latency-loss', s15_latency_loss),
    (16, 'crash-during-switchover', s16_crash_during_switchover),
    (17, 'orch-killed-after-failover', s17_controller_killed_after_failover),
    (18, 'zone-split-minority', s18_zone_split_minority),
    (19, 'zone-split-majority', s19_zone_split_majority),
    (20, 'primary-slow-alive', s20_primary_slow_alive),
    (21, 'long-write-trx', s21_long_write_trx),
    (22, 'intermediate-killed', s22_intermediate_killed),
    (23, 'ha-ctl-primary-cut', s23_ha_ctl_primary_cut),
    (24, 'ha-ctl-down-primary-killed', s24_ha_ctl_down_primary_killed),
    (25, 'ha-etcd-quorum-lost', s25_ha_etcd_quorum_lost),
    (26, 'ha-two-switchovers', s26_ha_concurrent_switchovers),
    (27, 'ha-rolling-restart', s27_ha_rolling_restart),
    (28, 'ha-holder-killed-mid-fo', s28_ha_holder_killed_mid_failover),
    (29, 'ha-holder-cut-from-etcd', s29_ha_holder_cut_from_etcd),
    (30, 'ha-holder-sigstop', s30_ha_holder_sigstop),
]
