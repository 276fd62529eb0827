#!/usr/bin/env python3
"""HTTP API under load while the primary crashes: API latency and failover time, with and
without event-stream clients. Stdlib only.

    python3 bench/http_bench.py [--runs 5] [--rate 200] [--sse 0,100] [--build-dir build]

The configurations are interleaved (run 1 of each, then run 2 of each, ...), so a change in the
machine's load during the benchmark touches them alike.

Every run: a fresh 3-server lab (tests/lab/lab.py), `myorch run` with http_listen on a free
loopback port, poll_interval_ms 500. N event-stream clients connect to /api/v1/events and
read everything (one selector thread). An open-loop generator sends --rate requests/s
(GET /api/v1/clusters/lab/topology and /metrics alternately, one new connection each, from
8 worker threads; a request that misses its slot is sent at once, so slowness shows as
latency, never as a lower rate). After 3 s of load the primary gets kill -9; the load runs
until the recovery has ended plus 2 s.

Reported per configuration (nearest-rank percentiles over all runs):
  API latency p50/p99/max during the failover window (kill to recovery end) and overall,
  errors (non-200 or connection failures), and the failover figure
  promoted_ms - kill_ms (new primary writable) from the recovery audit.
stdout: a Markdown table; stderr: one line per run.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))
import lab  # noqa: E402


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def now_ms():
    return time.time_ns() // 10**6


def rank(vals, p):
    if not vals:
        return None
    v = sorted(vals)
    return v[max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))]


class Run:
    def __init__(self, args, n_sse):
        self.a = args
        self.n_sse = n_sse
        self.exe = os.path.join(args.build_dir, 'myorch')
        self.samples = []  # (send wall ms, latency ms, ok)
        self.stop = threading.Event()

    def cli_json(self, *argv):
        p = subprocess.run([self.exe, *argv, '-c', self.config, '--json'], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 0:
            raise RuntimeError('myorch %s: %s' % (' '.join(argv), p.stderr))
        return json.loads(p.stdout)

    def wait(self, pred, timeout, what):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                v = pred()
                if v:
                    return v
            except (RuntimeError, ValueError, KeyError, IndexError):
                pass
            time.sleep(0.05)
        raise RuntimeError('timed out waiting for ' + what)

    def worker(self, slots, lock):
        paths = ('/api/v1/clusters/lab/topology', '/metrics')
        while not self.stop.is_set():
            with lock:
                if not slots:
                    return
                k, due = slots.pop(0)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self.stop.is_set():
                return
            t0 = time.monotonic()
            sent = now_ms()
            ok = False
            try:
                c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
                c.request('GET', paths[k % 2])
                r = c.getresponse()
                r.read()
                ok = r.status == 200
                c.close()
            except OSError:
                pass
            self.samples.append((sent, (time.monotonic() - t0) * 1000.0, ok))

    def sse_reader(self, socks, seen):
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        while not self.stop.is_set():
            for key, _ in sel.select(0.2):
                try:
                    chunk = key.fileobj.recv(65536)
                except OSError:
                    chunk = b''
                if not chunk:
                    sel.unregister(key.fileobj)
                elif b'event: recovery-done' in chunk:
                    seen.add(key.fileobj)
        sel.close()

    def go(self):
        a = self.a
        tmp = tempfile.mkdtemp(prefix='myorch-httpbench-')
        L = proc = None
        socks = []
        try:
            import random
            for attempt in range(4):  # other labs may take the range between the scan and the bind
                try:
                    L = lab.Lab(os.path.join(tmp, 'lab%d' % attempt),
                                base_port=lab.free_base_port(count=8, start=random.randrange(30000, 37000, 10)))
                    L.up(servers=3)
                    break
                except lab.LabError as e:
                    if L:
                        L.down()
                        L = None
                    if ('is not free' not in str(e) and 'no free range' not in str(e)) or attempt == 3:
                        raise
            self.port = free_port()
            self.config = os.path.join(tmp, 'myorch.ini')
            with open(self.config, 'w') as f:
                f.write(f"""[myorch]
state_dir = {tmp}/state
poll_interval_ms = 500
http_listen = 127.0.0.1:{self.port}

[cluster.lab]
seeds = {L.addr(2)}
user = myorch
password_file = {L.myorch_password_file}
replication_user = repl
replication_password_file = {L.repl_password_file}
""")
            os.chmod(self.config, 0o600)
            log = open(os.path.join(tmp, 'run.log'), 'ab')
            proc = subprocess.Popen([self.exe, 'run', '-c', self.config], stdout=log, stderr=subprocess.STDOUT)
            self.wait(lambda: self.cli_json('status')['clusters'][0]['recovery']['analysis'] == 'ok', 30,
                      'analysis ok')
            for _ in range(self.n_sse):
                s = socket.create_connection(('127.0.0.1', self.port), timeout=5)
                s.sendall(b'GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n')
                socks.append(s)
            seen = set()
            rd = threading.Thread(target=self.sse_reader, args=(socks, seen))
            rd.start()
            horizon = 120.0
            start = time.monotonic() + 0.2
            slots = [(k, start + k / a.rate) for k in range(int(horizon * a.rate))]
            lock = threading.Lock()
            workers = [threading.Thread(target=self.worker, args=(slots, lock)) for _ in range(8)]
            for w in workers:
                w.start()
            time.sleep(3.2)
            kill_ms = now_ms()
            os.kill(L.server(1)['pid'], 9)
            rec = self.wait(lambda: (lambda r: r[0] if r and r[0]['state'] != 'running' else None)(
                self.cli_json('recoveries')['recoveries']), 60, 'recovery end')
            full = self.cli_json('recoveries', '--id', str(rec['id']))['recoveries'][0]
            time.sleep(2)
            # The controller's own view: how many loop iterations worked longer than 10 ms.
            c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
            c.request('GET', '/metrics')
            text = c.getresponse().read().decode()
            c.close()
            b = {}
            for line in text.splitlines():
                if line.startswith('myorch_loop_busy_seconds_bucket'):
                    b[line.split('le="')[1].split('"')[0]] = float(line.rsplit(' ', 1)[1])
            loop_total, loop_10ms = b.get('+Inf', 0), b.get('+Inf', 0) - b.get('0.01', 0)
            self.stop.set()
            for w in workers:
                w.join(15)
            rd.join(5)
            win = [lat for sent, lat, ok in self.samples if kill_ms <= sent <= full['ended_ms']]
            res = {'sse': self.n_sse, 'state': full['state'], 'promoted': full['promoted_ms'] - kill_ms,
                   'window': win, 'all': [lat for _, lat, _ in self.samples],
                   'errors': sum(1 for _, _, ok in self.samples if not ok), 'requests': len(self.samples),
                   'duration_s': (self.samples[-1][0] - self.samples[0][0]) / 1000.0 if self.samples else 0,
                   'sse_saw_done': len(seen), 'loop_total': loop_total, 'loop_over_10ms': loop_10ms}
            print('sse=%d state=%s promoted=%d ms requests=%d (%.0f/s) errors=%d window p99=%.1f ms '
                  'streams that saw recovery-done=%d/%d loop iterations %d, over 10 ms %d' % (
                      self.n_sse, res['state'], res['promoted'], res['requests'],
                      res['requests'] / max(res['duration_s'], 0.001), res['errors'], rank(win, 99) or -1,
                      len(seen), self.n_sse, loop_total, loop_10ms), file=sys.stderr)
            return res
        finally:
            self.stop.set()
            for s in socks:
                s.close()
            if proc:
                proc.terminate()
                proc.wait(20)
            if L:
                L.down()
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--rate', type=int, default=200)
    ap.add_argument('--sse', default='0,100', help='comma list of event-stream client counts')
    ap.add_argument('--build-dir', default=os.path.join(REPO, 'build'))
    a = ap.parse_args()
    if not os.access(os.path.join(a.build_dir, 'myorch'), os.X_OK):
        print('no myorch binary in %s (build first)' % a.build_dir, file=sys.stderr)
        return 2
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    rows = []
    counts = [int(x) for x in a.sse.split(',')]
    results = {n: [] for n in counts}
    for _ in range(a.runs):
        for n in counts:
            results[n].append(Run(a, n).go())
    for n in counts:
        runs = results[n]
        win = [v for r in runs for v in r['window']]
        allv = [v for r in runs for v in r['all']]
        prom = [r['promoted'] for r in runs if r['state'] == 'done']
        rows.append((n, len(runs), sum(r['state'] == 'done' for r in runs), rank(prom, 50), rank(prom, 99),
                     rank(win, 50), rank(win, 99), max(win) if win else None, rank(allv, 50), rank(allv, 99),
                     sum(r['errors'] for r in runs), sum(r['requests'] for r in runs),
                     sum(r['loop_over_10ms'] for r in runs), sum(r['loop_total'] for r in runs)))
    print('| stream clients | runs | done | promoted p50 ms | promoted max ms | API p50 ms (failover) | '
          'API p99 ms (failover) | API max ms (failover) | API p50 ms (all) | API p99 ms (all) | errors / requests | '
          'loop iterations > 10 ms |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        print('| %d | %d | %d | %s | %s | %.1f | %.1f | %.1f | %.1f | %.1f | %d / %d | %d of %d |' % (
            r[0], r[1], r[2], r[3], r[4], r[5] or 0, r[6] or 0, r[7] or 0, r[8] or 0, r[9] or 0, r[10], r[11],
            r[12], r[13]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
