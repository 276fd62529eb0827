"""The HTTP API and /metrics on a real lab: every route, the same JSON as the CLI's --json,
bad input (4xx with a JSON message), the bearer token, promtool, and slow clients that
must not stall probing."""
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import ClusterTest, myorch, wait_for

TOKEN = 'x7Jq2mV9pL4sT8wZ1nB6cR3dF5gH0kYe'
PROMTOOL = shutil.which('promtool')

# Values that change between two calls a few milliseconds apart (clocks, counters, lag).
VOLATILE = {'uptime_s', 'probes', 'last_seen_s', 'age_s', 'lag_s', 'seconds_behind', 'probe_latency_ms',
            'until_ms', 'now_ms', 'gtid_binlog_pos', 'gtid_current_pos', 'gtid_slave_pos', 'received_gtid',
            'executed_gtid', 'binlog_pos', 'read_pos', 'exec_pos', 'blocked_for_s', 'timeline_lag_s',
            'up_s', 'monitored_s', 'availability_pct', 'model_availability_pct', 'budget_left_s', 'mtbf_s',
            'mttr_s', 'last_probe_ms', 'probed_ago_ms', 'since_ms', 'relay_pos', 'binlog', 'relay', 'read', 'exec',
            'behind_trx', 'last_ok', 'down_for_s', 'lag_source', 'timeline_lag_lower_bound', 'binlog_coord',
            'exec_coord', 'read_coord', 'relay_coord', 'io_state', 'up_ms', 'monitored_ms', 'sla_down_ms',
            'down_ms', 'budget_left_ms', 'mtbf_ms', 'mttr_ms', 'last_ok_ago_s', 'budget_s',
            # failover readiness is recomputed every second from the latest probes (its schema is
            # still checked by test_responses_match_openapi)
            'readiness', 'received_heartbeats'}


def normalize(doc):
    if isinstance(doc, dict):
        return {k: normalize(v) for k, v in doc.items() if k not in VOLATILE}
    if isinstance(doc, list):
        return [normalize(v) for v in doc]
    return doc


OPENAPI = os.path.join(harness.SRC, 'docs', 'openapi.json')


def schema_errors(value, schema, spec, where='$'):
    """The ways value violates an OpenAPI 3.0 schema (the subset docs/openapi.json uses)."""
    if '$ref' in schema:
        name = schema['$ref'].rsplit('/', 1)[1]
        rest = {k: v for k, v in schema.items() if k != '$ref'}
        if value is None and rest.get('nullable'):
            return []
        return schema_errors(value, spec['components']['schemas'][name], spec, where)
    if 'oneOf' in schema:
        each = [schema_errors(value, s, spec, where) for s in schema['oneOf']]
        ok = [e for e in each if not e]
        return [] if len(ok) == 1 else ['%s: matches %d of the oneOf schemas: %r' % (where, len(ok), each)]
    if value is None:
        return [] if schema.get('nullable') or not schema.get('type') else ['%s: null' % where]
    t = schema.get('type')
    py = {'object': dict, 'array': list, 'string': str, 'boolean': bool, 'integer': int, 'number': (int, float)}
    if t and (not isinstance(value, py[t]) or (t in ('integer', 'number') and isinstance(value, bool))):
        return ['%s: %r is not %s' % (where, value, t)]
    if 'enum' in schema and value not in schema['enum']:
        return ['%s: %r not in %r' % (where, value, schema['enum'])]
    errs = []
    if t == 'object':
        props = schema.get('properties', {})
        errs += ['%s: missing %s' % (where, k) for k in schema.get('required', []) if k not in value]
        if schema.get('additionalProperties') is False:
            errs += ['%s: undocumented field %s' % (where, k) for k in value if k not in props]
        for k, v in value.items():
            if k in props:
                errs += schema_errors(v, props[k], spec, where + '.' + k)
    if t == 'array':
        for i, v in enumerate(value):
            errs += schema_errors(v, schema['items'], spec, '%s[%d]' % (where, i))
    return errs


class Http:
    def __init__(self, port):
        self.port = port

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, dict(r.getheaders()), data
        finally:
            c.close()

    def json(self, method, path, body=None, token=None, timeout=10):
        h = {}
        if token:
            h['Authorization'] = 'Bearer ' + token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h['Content-Type'] = 'application/json'
        status, headers, data = self.request(method, path, body, h, timeout)
        self_type = headers.get('Content-Type', '')
        assert self_type.startswith('application/json'), (status, headers, data[:200])
        return status, json.loads(data)

    def raw(self, payload, read_timeout=5):
        """Send bytes as they are (no client-side normalisation); return the status code."""
        s = socket.create_connection(('127.0.0.1', self.port), timeout=read_timeout)
        try:
            s.sendall(payload)
            data = b''
            while b'\r\n' not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return int(data.split(b' ')[1]) if data.startswith(b'HTTP/') else None
        finally:
            s.close()


def cli_json(config, *args):
    p = myorch(*args, '-c', config, '--json', timeout=120)
    return p.returncode, json.loads(p.stdout)


class HttpBase(ClusterTest):
    """A lab whose controller serves HTTP on a free loopback port (with a token file)."""
    WITH_TOKEN = True

    def prepare(self):
        self.port = harness.free_tcp_port()
        self.token_file = os.path.join(self.tmp, 'http.token')
        with open(self.token_file, 'w') as f:
            f.write(TOKEN + '\n')
        os.chmod(self.token_file, 0o600)
        self.api = Http(self.port)

    def extra_global(self):
        return 'http_listen = 127.0.0.1:%d\n%s' % (
            self.port, ('http_token_file = %s\n' % self.token_file) if self.WITH_TOKEN else '')

    def probes_ok(self):
        return json.loads(myorch('status', '-c', self.config, '--json', check=True).stdout)['probes']['ok']

    def metric_samples(self, prefix):
        """{name{labels}: value} of the /metrics samples whose line starts with prefix."""
        v = {}
        for line in self.api.request('GET', '/metrics')[2].decode().splitlines():
            if line.startswith(prefix):
                k, x = line.rsplit(' ', 1)
                v[k] = float(x)
        return v


class HttpApi(HttpBase):
    # A pre_switchover hook that waits while a gate file exists: the "already running" check below
    # holds a switchover open for as long as it needs, instead of racing one that takes milliseconds.
    def extra_cluster(self):
        gate = os.path.join(self.tmp, 'switchover.gate')
        return ("pre_switchover = sh -c 'n=0; while [ -e %s ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done'\n"
                % gate)

    # ---- read API ----------------------------------------------------------------
    def test_read_routes_equal_the_cli_json(self):
        st, doc = self.api.json('GET', '/health')
        self.assertEqual((st, doc['status']), (200, 'alive'))
        st, doc = self.api.json('GET', '/ready')
        self.assertEqual((st, doc['ready']), (200, True))
        pairs = [
            ('/api/v1/clusters', ('status',)),
            ('/api/v1/clusters/', ('status',)),
            ('/api/v1/clusters/lab', ('status', '--cluster', 'lab')),
            ('/api/v1/clusters/lab/topology', ('topology', '--cluster', 'lab')),
            ('/api/v1/clusters/lab/recoveries', ('recoveries', '--cluster', 'lab')),
            ('/api/v1/clusters/lab/report', ('report', '--cluster', 'lab')),
        ]
        for path, args in pairs:
            st, doc = self.api.json('GET', path)
            rc, cli = cli_json(self.config, *args)
            self.assertEqual((st, rc), (200, 0), (path, doc))
            self.assertEqual(normalize(doc), normalize(cli), path)
        # HEAD answers the headers of GET, without a body.
        st, headers, body = self.api.request('HEAD', '/api/v1/clusters/lab/topology')
        self.assertEqual((st, body), (200, b''))
        # The topology has the three servers.
        st, doc = self.api.json('GET', '/api/v1/clusters/lab/topology')
        self.assertEqual(len(doc['clusters'][0]['instances']), 3)
        # A recovery by id, equal to `myorch recoveries --id`; an unknown id is 404.
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/switchover', {}, token=TOKEN, timeout=120)
        self.assertEqual(st, 200, doc)
        rid = doc['recovery_id']
        st, doc = self.api.json('GET', '/api/v1/clusters/lab/recoveries?id=%d' % rid)
        rc, cli = cli_json(self.config, 'recoveries', '--cluster', 'lab', '--id', str(rid))
        self.assertEqual((st, rc), (200, 0))
        self.assertEqual(normalize(doc), normalize(cli))
        self.assertEqual(doc['recoveries'][0]['kind'], 'switchover')
        st, doc = self.api.json('GET', '/api/v1/clusters/lab/recoveries?id=999999')
        self.assertEqual(st, 404, doc)
        self.assertIn('no recovery #999999', doc['error'])

    def test_responses_match_openapi(self):
        with open(OPENAPI) as f:
            spec = json.load(f)

        def check(method, path, body=None, token=None, route=None, timeout=30):
            route = route or path.split('?')[0].replace('/lab', '/{name}')
            op = spec['paths'][route][method.lower()]
            st, doc = self.api.json(method, path, body, token=token, timeout=timeout)
            self.assertIn(str(st), op['responses'], (method, path, st, doc))
            schema = op['responses'][str(st)]['content']['application/json']['schema']
            self.assertEqual(schema_errors(doc, schema, spec), [], (method, path, st))
            return st, doc
        check('GET', '/health')
        check('GET', '/ready')
        check('GET', '/api/v1/clusters')
        check('GET', '/api/v1/clusters/lab')
        check('GET', '/api/v1/clusters/lab/topology')
        check('GET', '/api/v1/clusters/lab/report')
        check('POST', '/api/v1/clusters/lab/switchover', {'dry_run': True}, TOKEN)
        check('POST', '/api/v1/clusters/lab/failover', {'dry_run': True}, TOKEN)
        check('POST', '/api/v1/clusters/lab/relocate', {'replica': self.lab.addr(3), 'below': self.lab.addr(2),
                                                        'dry_run': True}, TOKEN)
        st, _ = check('POST', '/api/v1/clusters/lab/switchover', {}, TOKEN, timeout=120)
        self.assertEqual(st, 200)
        check('GET', '/api/v1/clusters/lab/recoveries')
        check('GET', '/api/v1/clusters/lab/recoveries?id=1')
        check('POST', '/api/v1/clusters/lab/maintenance', {'action': 'begin', 'reason': 'x'}, TOKEN)
        check('GET', '/api/v1/clusters/lab')
        check('POST', '/api/v1/clusters/lab/maintenance', {'action': 'end'}, TOKEN)
        check('POST', '/api/v1/clusters/lab/ack', {}, TOKEN)
        # Errors are documented too.
        check('GET', '/api/v1/clusters/nope', route='/api/v1/clusters/{name}')
        check('GET', '/api/v1/clusters/lab/recoveries?id=0')
        check('GET', '/api/v1/clusters/lab/recoveries?id=99')
        check('POST', '/api/v1/clusters/lab/ack', {})
        check('POST', '/api/v1/clusters/lab/switchover', b'{', TOKEN)
        check('POST', '/api/v1/clusters/lab/switchover', {'to': '127.0.0.1:1'}, TOKEN)
        # Every documented path is served (no 404 for the route itself); /metrics and the stream are text.
        for route in spec['paths']:
            if route in ('/metrics', '/api/v1/events'):
                continue
            method = next(iter(spec['paths'][route]))
            st, doc = self.api.json('GET' if method == 'get' else 'POST', route.replace('{name}', 'lab'),
                                    {'dry_run': True} if route.endswith(('switchover', 'failover')) else None)
            self.assertNotIn('no such route', doc.get('error', ''), route)

    # ---- bad input -----------------------------------------------------------------
    def test_bad_input_gets_a_clear_4xx(self):
        cases = [
            ('GET', '/nope', None, 404, 'no such route'),
            ('GET', '/api/v1/clusters/nope', None, 404, "unknown cluster 'nope'"),
            ('GET', '/api/v1/clusters/lab/nope', None, 404, 'no such route'),
            ('GET', '/api/v1/clusters/' + 'a' * 41, None, 404, 'at most 40'),
            ('DELETE', '/api/v1/clusters/lab', None, 405, 'not allowed'),
            ('GET', '/api/v1/clusters/lab/switchover', None, 405, 'use POST'),
            ('POST', '/metrics', b'', 405, 'use GET'),
            ('GET', '/api/v1/clusters/lab/recoveries?id=abc', None, 400, "bad id 'abc'"),
            ('GET', '/api/v1/clusters/lab/topology?id=1', None, 400, 'only for .../recoveries'),
            ('POST', '/api/v1/clusters/lab/switchover', b'{"dry_run": tru', 400, 'malformed JSON'),
            ('POST', '/api/v1/clusters/lab/switchover', b'[1]', 400, 'must be a JSON object'),
            ('POST', '/api/v1/clusters/lab/switchover', b'{"dry_run": 1}', 400, 'true or false'),
            ('POST', '/api/v1/clusters/lab/switchover', b'{"dry_run": true, "dry_run": false}', 400, 'malformed'),
            ('POST', '/api/v1/clusters/lab/switchover', b'{"rm": "-rf"}', 400, "unknown field 'rm'"),
            ('POST', '/api/v1/clusters/lab/maintenance', b'{}', 400, 'action'),
            ('POST', '/api/v1/clusters/lab/maintenance', b'{"action": "sideways"}', 409, 'begin or end'),
        ]
        for method, path, body, want, text in cases:
            st, doc = self.api.json(method, path, body, token=TOKEN)
            self.assertEqual(st, want, (method, path, body, doc))
            self.assertFalse(doc['ok'])
            self.assertIn(text, doc['error'], (method, path))
        # Without the token, or with a wrong one: 401 and nothing happens.
        for tok in (None, TOKEN[:-1], TOKEN + 'x', 'x' * len(TOKEN)):
            st, doc = self.api.json('POST', '/api/v1/clusters/lab/ack', {}, token=tok)
            self.assertEqual(st, 401, (tok, doc))
        st, headers, _ = self.api.request('POST', '/api/v1/clusters/lab/ack', b'{}', {'Authorization': 'Basic eDp5'})
        self.assertEqual(st, 401)
        self.assertEqual(headers.get('WWW-Authenticate'), 'Bearer realm="myorch"')
        # Refusals are logged at most once per 10 s (a token guesser cannot flood the log).
        self.assertEqual(self.d.log_text().count('http: refused POST ack'), 1)
        # Path traversal, raw and percent-encoded: refused before any route.
        for raw in (b'/api/v1/clusters/../../etc/passwd', b'/api/v1/clusters/%2e%2e/%2e%2e/etc/passwd',
                    b'/api/v1/clusters/lab/./topology', b'/api//v1/clusters', b'/api/v1/clusters/lab%00/topology'):
            st = self.api.raw(b'GET ' + raw + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            self.assertEqual(st, 400, raw)
        # The web page's files: exact paths of a compiled-in table; traversal refused or simply unknown.
        for raw, want in ((b'/ui/../../etc/passwd', 400), (b'/ui/%2e%2e/%2e%2e/etc/passwd', 400), (b'/ui//etc/passwd', 400),
                          (b'/ui/./app.js', 400), (b'/ui/..%2fapp.js', 400), (b'/ui/app.js%00.png', 400),
                          (b'/ui/etc/passwd', 404), (b'/ui/app.js/', 404), (b'/ui/APP.JS', 404), (b'/index.html', 404),
                          (b'/ui/app.js', 200), (b'/', 200)):
            st = self.api.raw(b'GET ' + raw + b' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            self.assertEqual(st, want, raw)
        st, headers, body = self.api.request('GET', '/ui/app.css')
        self.assertEqual((st, headers['Content-Type'], headers['X-Content-Type-Options']), (200, 'text/css; charset=utf-8', 'nosniff'))
        self.assertIn("default-src 'none'", headers['Content-Security-Policy'])
        self.assertEqual(self.api.json('POST', '/', b'{}')[0], 405)
        # A huge body: refused from its Content-Length without reading it ...
        st = self.api.raw(b'POST /api/v1/clusters/lab/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' +
                          TOKEN.encode() + b'\r\nContent-Length: 100000000\r\n\r\n{')
        self.assertEqual(st, 413)
        # ... and chunked (no length): read up to the bound, then 413.
        s = socket.create_connection(('127.0.0.1', self.port), timeout=10)
        s.sendall(b'POST /api/v1/clusters/lab/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' + TOKEN.encode() +
                  b'\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n')
        chunk = b'%x\r\n%s\r\n' % (16384, b' ' * 16384)
        try:
            for _ in range(8):  # 128 KiB, twice the bound
                s.sendall(chunk)
            s.sendall(b'0\r\n\r\n')
        except OSError:
            pass
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b'HTTP/1.1 413'), data[:100])
        # Headers over the per-connection memory bound: refused by libmicrohttpd itself.
        st = self.api.raw(b'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 40000 + b'\r\n\r\n')
        self.assertIn(st, (413, 431))
        # Still serving, and the controller still fine.
        self.assertEqual(self.api.json('GET', '/health')[0], 200)
        self.assertEqual(self.status()['recovery']['analysis'], 'ok')

    # ---- metrics -------------------------------------------------------------------
    def test_metrics_pass_promtool_and_tell_the_state(self):
        st, headers, body = self.api.request('GET', '/metrics')
        self.assertEqual(st, 200)
        self.assertTrue(headers['Content-Type'].startswith('text/plain; version=0.0.4'))
        text = body.decode()
        self.assertIsNotNone(PROMTOOL, 'promtool (Debian package prometheus) is needed: see tests/deps.sh')
        p = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + text)
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith('#'):
                k, v = line.rsplit(' ', 1)
                samples[k] = float(v)
        a1, a2, a3 = (self.lab.addr(i) for i in (1, 2, 3))
        for a in (a1, a2, a3):
            self.assertEqual(samples['myorch_instance_up{cluster="lab",instance="%s"}' % a], 1)
        self.assertEqual(samples['myorch_instance_role{cluster="lab",instance="%s",role="primary"}' % a1], 1)
        self.assertEqual(samples['myorch_instance_read_only{cluster="lab",instance="%s"}' % a1], 0)
        self.assertEqual(samples['myorch_instance_read_only{cluster="lab",instance="%s"}' % a2], 1)
        self.assertEqual(samples['myorch_replica_io_thread_running{cluster="lab",instance="%s"}' % a2], 1)
        self.assertIn('myorch_replica_lag_seconds{cluster="lab",instance="%s"}' % a3, samples)
        # Transactions behind: known once the controller has seen the primary's GTID move.
        self.insert(1, 1, 5)
        behind = 'myorch_replica_transactions_behind{cluster="lab",instance="%s"} 0' % a3
        wait_for(lambda: behind in self.api.request('GET', '/metrics')[2].decode(), what=behind)
        self.assertEqual(len([k for k in samples if k.startswith('myorch_replica_lag_source_info{cluster="lab",'
                                                                  'instance="%s"' % a3)]), 1)
        self.assertEqual(samples['myorch_cluster_analysis{cluster="lab",code="ok"}'], 1)
        self.assertEqual(samples['myorch_cluster_writable_primary{cluster="lab"}'], 1)
        self.assertEqual(samples['myorch_cluster_maintenance{cluster="lab"}'], 0)
        self.assertEqual(samples['myorch_ready'], 1)
        self.assertGreater(samples['myorch_probe_duration_seconds_count{cluster="lab"}'], 0)
        self.assertEqual(samples['myorch_build_info{version="0.1.0"}'], 1)
        # Every metric the shipped alert rules and Grafana dashboard use is exported.
        import re
        families = set(re.findall(r'^# TYPE (\w+) ', text, re.M))
        for f in ('contrib/prometheus/myorch-alerts.yml', 'contrib/grafana/myorch-dashboard.json'):
            with open(os.path.join(harness.SRC, f)) as fh:
                used = set(re.findall(r'\bmyorch_\w+', fh.read()))
            used = {re.sub(r'_(bucket|sum|count)$', '', u) for u in used}
            self.assertEqual(sorted(used - families), [], f)
        # A stopped SQL thread shows at once, and promtool still accepts the text.
        self.lab.sql(3, 'STOP SLAVE SQL_THREAD')
        key = 'myorch_replica_sql_thread_running{cluster="lab",instance="%s"} 0' % a3

        def sql_down():
            return key in self.api.request('GET', '/metrics')[2].decode()
        wait_for(sql_down, what='metrics show the stopped SQL thread')
        self.lab.sql(3, 'START SLAVE SQL_THREAD')

    def test_loop_lag_shows_a_stall(self):
        """myorch_loop_lag_seconds: how late the loop fired the probe timers that were due. A controller
        stopped (SIGSTOP) for 1 s fires the timers that fell due meanwhile (every 300 ms here) at least
        0.7 s late when it runs again: one more observation above the 0.25 s bucket."""
        def lag():
            v = self.metric_samples('myorch_loop_lag_seconds_')
            return v['myorch_loop_lag_seconds_count'], v['myorch_loop_lag_seconds_count'] - \
                v['myorch_loop_lag_seconds_bucket{le="0.25"}']
        wait_for(lambda: lag()[0] > 0, what='loop lag observed')
        n0, late0 = lag()
        os.kill(self.d.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(1.0)
        finally:
            os.kill(self.d.proc.pid, signal.SIGCONT)
        n1, late1 = wait_for(lambda: (lambda x: x if x[1] > late0 else None)(lag()), what='the stall in the loop lag')
        self.assertGreater(n1, n0)

    # ---- mutating calls --------------------------------------------------------------
    def test_mutations_take_the_cli_path(self):
        # Dry run: the same plan as `myorch switchover --dry-run --json`, nothing changes.
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/switchover', {'dry_run': True}, token=TOKEN)
        rc, cli = cli_json(self.config, 'switchover', '--cluster', 'lab', '--dry-run')
        self.assertEqual((st, rc), (200, 0), doc)
        self.assertTrue(doc['dry_run'])
        self.assertEqual(normalize(doc), normalize(cli))
        self.assertEqual(self.healthy(), 1)
        # Relocate dry run: the CLI's plan too.
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/relocate',
                                {'replica': self.lab.addr(3), 'below': self.lab.addr(2), 'dry_run': True}, token=TOKEN)
        rc, cli = cli_json(self.config, 'relocate', '--replica', self.lab.addr(3), '--below', self.lab.addr(2),
                           '--dry-run')
        self.assertEqual((st, rc), (200, 0), doc)
        self.assertEqual(normalize(doc), normalize(cli))
        # Maintenance begin/end, seen by the CLI and /metrics.
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/maintenance',
                                {'action': 'begin', 'reason': 'http test', 'duration_s': 600}, token=TOKEN)
        self.assertEqual(st, 200, doc)
        self.assertEqual(self.status()['recovery']['maintenance'][0]['reason'], 'http test')
        self.assertIn(b'myorch_cluster_maintenance{cluster="lab"} 1', self.api.request('GET', '/metrics')[2])
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/maintenance', {'action': 'end'}, token=TOKEN)
        self.assertEqual(st, 200, doc)
        self.assertEqual(self.status()['recovery']['maintenance'], [])
        # A real switchover to server 3 over HTTP; while it runs, a CLI switchover is refused
        # ("already running" holds across both doors).
        holder = []
        gate = os.path.join(self.tmp, 'switchover.gate')
        open(gate, 'w').close()

        def run():
            holder.append(self.api.json('POST', '/api/v1/clusters/lab/switchover', {'to': self.lab.addr(3)},
                                        token=TOKEN, timeout=120))
        import threading
        t = threading.Thread(target=run)
        t.start()
        try:
            wait_for(lambda: self.status()['recovery'].get('running_kind') == 'switchover' or holder,
                     interval=0.01, what='switchover running')
            self.assertEqual(holder, [], 'the switchover ended while its pre_switchover hook waited')
            p = myorch('switchover', '-c', self.config, '--cluster', 'lab', '--json', timeout=120)
            self.assertNotEqual(p.returncode, 0, p.stdout)
            self.assertIn('running', json.loads(p.stdout)['error'])
        finally:
            os.unlink(gate)
        t.join(120)
        st, doc = holder[0]
        self.assertEqual(st, 200, doc)
        self.assertEqual((doc['state'], doc['new_primary']), ('done', self.lab.addr(3)))
        self.wait_healthy(expect_primary=3)
        text = self.api.request('GET', '/metrics')[2].decode()
        self.assertIn('myorch_recoveries_total{cluster="lab",kind="switchover",result="done"} 1', text)
        samples = dict(line.rsplit(' ', 1) for line in text.splitlines() if line and not line.startswith('#'))
        dur = float(samples['myorch_last_recovery_duration_seconds{cluster="lab",kind="switchover"}'])
        end = float(samples['myorch_last_recovery_end_timestamp_seconds{cluster="lab",kind="switchover"}'])
        self.assertTrue(0 < dur < 60, dur)
        self.assertLess(abs(time.time() - end), 120)
        self.assertGreater(float(samples['myorch_loop_busy_seconds_count']), 0)
        if PROMTOOL:
            p = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # ack goes through too.
        st, doc = self.api.json('POST', '/api/v1/clusters/lab/ack', None, token=TOKEN)
        self.assertEqual(st, 200, doc)
        self.assertIn('acknowledged', doc)

    # ---- event stream ------------------------------------------------------------------
    def sse(self, path, out, stop, n=1):
        """Read an event stream into out (a list of (event, data)) until stop is set."""
        s = socket.create_connection(('127.0.0.1', self.port), timeout=1)
        s.sendall(b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\n\r\n')
        buf = b''
        while not stop.is_set():
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            while b'\n\n' in buf:
                block, buf = buf.split(b'\n\n', 1)
                ev = data = None
                for line in block.split(b'\n'):
                    if line.startswith(b'event: '):
                        ev = line[7:].decode()
                    elif line.startswith(b'data: '):
                        data = json.loads(line[6:])
                if ev:
                    out.append((ev, data))
        s.close()

    def test_event_stream_matches_the_cli(self):
        import threading
        stop = threading.Event()
        got, other = [], []
        t = threading.Thread(target=self.sse, args=('/api/v1/events?cluster=lab', got, stop))
        t2 = threading.Thread(target=self.sse, args=('/api/v1/events?cluster=lab', other, stop))
        t.start()
        t2.start()
        self.addCleanup(stop.set)
        cli = subprocess.Popen([harness.MYORCH, 'events', '-c', self.config, '--json', '--cluster', 'lab'],
                               stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (cli.kill(), cli.wait(), cli.stdout.close()))
        time.sleep(0.5)  # both subscribed
        st, doc = self.api.json('GET', '/api/v1/events?cluster=nope')
        self.assertEqual(st, 404, doc)
        self.assertEqual(self.api.request('POST', '/api/v1/events', b'')[0], 405)
        myorch('maintenance', 'begin', '--cluster', 'lab', '--reason', 'sse test', '-c', self.config, check=True)
        ev = wait_for(lambda: next((d for e, d in got if e == 'maintenance-started'), None),
                      what='maintenance-started on the event stream')
        wait_for(lambda: any(e == 'maintenance-started' for e, d in other), what='second stream too')
        line = None
        while line is None:
            js = json.loads(cli.stdout.readline())
            if js['name'] == 'maintenance-started':
                line = js
        self.assertEqual(ev, line)
        # Idle streams get a keep-alive comment and stay open (past the 10 s idle timeout).
        time.sleep(11)
        myorch('maintenance', 'end', '--cluster', 'lab', '-c', self.config, check=True)
        wait_for(lambda: any(e == 'maintenance-ended' for e, d in got), what='the next event after 11 s idle')
        stop.set()
        t.join(5)
        t2.join(5)

    # ---- slow and hostile clients ----------------------------------------------------
    def test_slow_clients_do_not_stall_probing(self):
        def rate(seconds=3.0):
            a, t0 = self.probes_ok(), time.monotonic()
            time.sleep(seconds)
            return (self.probes_ok() - a) / (time.monotonic() - t0)
        base = rate()
        socks = []
        # 100 connections: 50 send half a request line and stall, 50 send a request and never read.
        for i in range(100):
            s = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
            if i % 2:
                s.sendall(b'GET /api/v1/clusters/lab/topo')
            else:
                s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' * 20)
            socks.append(s)
        lat = []
        loaded = None
        try:
            t_end = time.monotonic() + 3.0
            a, t0 = self.probes_ok(), time.monotonic()
            while time.monotonic() < t_end:
                t = time.monotonic()
                st, _ = self.api.json('GET', '/api/v1/clusters/lab/topology')
                lat.append(time.monotonic() - t)
                self.assertEqual(st, 200)
                time.sleep(0.02)
            loaded = (self.probes_ok() - a) / (time.monotonic() - t0)
        finally:
            for s in socks:
                s.close()
        lat.sort()
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        print('\nprobes/s without HTTP clients %.1f, with 100 slow clients %.1f; a good client\'s '
              'topology request p50 %.1f ms, p99 %.1f ms over %d requests' % (base, loaded, p50 * 1000,
                                                                               p99 * 1000, len(lat)))
        self.assertGreater(loaded, base * 0.8, 'probing slowed down by slow HTTP clients')
        self.assertLess(p99, 0.5)
        # Idle connections are closed after the idle timeout: a stalled client cannot hold a slot forever.
        s = socket.create_connection(('127.0.0.1', self.port), timeout=30)
        s.sendall(b'GET /heal')
        t = time.monotonic()
        self.assertEqual(s.recv(100), b'')
        self.assertLess(time.monotonic() - t, 15)
        s.close()


class HttpManyStreams(HttpBase):
    """1,100 event-stream clients at once: 1,024 are served, the rest get a clear 503; probing stays on time."""

    def test_1000_event_stream_clients(self):
        import resource
        import selectors
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 4096:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))

        def rate(seconds=3.0):
            a, t0 = self.probes_ok(), time.monotonic()
            time.sleep(seconds)
            return (self.probes_ok() - a) / (time.monotonic() - t0)

        def slow_loops():
            """(iterations, iterations busier than 100 ms, than 25 ms) of the controller's loop so far."""
            v = self.metric_samples('myorch_loop_busy_seconds_')
            n = v['myorch_loop_busy_seconds_count']
            return n, n - v['myorch_loop_busy_seconds_bucket{le="0.1"}'], n - v['myorch_loop_busy_seconds_bucket{le="0.025"}']

        def rss_kib():
            with open('/proc/%d/status' % self.d.proc.pid) as f:
                return int([ln for ln in f if ln.startswith('VmRSS:')][0].split()[1])

        base = rate()
        rss0 = rss_kib()
        loops0 = slow_loops()
        socks, data = [], {}
        sel = selectors.DefaultSelector()
        t_open = time.monotonic()
        for i in range(1100):
            s = socket.create_connection(('127.0.0.1', self.port), timeout=10)
            s.sendall(b'GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n')
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            socks.append(s)
            data[s] = b''

        def pump(until, timeout=30):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                for key, _ in sel.select(0.1):
                    try:
                        chunk = key.fileobj.recv(65536)
                    except OSError:
                        chunk = b''
                    if not chunk:
                        sel.unregister(key.fileobj)
                        data[key.fileobj] += b'<EOF>'
                    else:
                        data[key.fileobj] += chunk
                if until():
                    return
            raise AssertionError('event streams: %d served, %d refused, %d undecided' % counts())

        def counts():
            ok = sum(1 for v in data.values() if v.startswith(b'HTTP/1.1 200') and b'event stream' in v)
            busy = sum(1 for v in data.values() if v.startswith(b'HTTP/1.1 503'))
            return ok, busy, len(data) - ok - busy
        try:
            pump(lambda: counts()[2] == 0)
            served, refused, _ = counts()
            t_all = time.monotonic() - t_open
            self.assertEqual(served, 1024)
            self.assertEqual(refused, 1100 - 1024)
            self.assertTrue(all(b'too many event-stream clients (1024)' in v for v in data.values()
                                if v.startswith(b'HTTP/1.1 503')))
            rss1 = rss_kib()
            # With them connected: probing on time, the loop not stalled, the API still answering.
            a, t0 = self.probes_ok(), time.monotonic()
            lat = []
            while time.monotonic() - t0 < 3.0:
                t = time.monotonic()
                st, _ = self.api.json('GET', '/api/v1/clusters/lab/topology')
                lat.append(time.monotonic() - t)
                self.assertEqual(st, 200)
                pump(lambda: True, timeout=0.05)
            loaded = (self.probes_ok() - a) / (time.monotonic() - t0)
            # An event reaches every served stream.
            t_ev = time.monotonic()
            st, doc = self.api.json('POST', '/api/v1/clusters/lab/maintenance', {'action': 'begin', 'reason': 'fan-out'},
                                    token=TOKEN)
            self.assertEqual(st, 200, doc)
            streams = [k for k, v in data.items() if v.startswith(b'HTTP/1.1 200')]
            pump(lambda: all(b'event: maintenance-started' in data[k] for k in streams))
            fanout = time.monotonic() - t_ev
            loops1 = slow_loops()
        finally:
            sel.close()
            for s in socks:
                s.close()
        lat.sort()
        p50, p99 = lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        n, slow100, slow25 = (loops1[i] - loops0[i] for i in range(3))
        print('\n1,100 event-stream clients: %d served, %d refused (503), all answered in %.1f s; daemon RSS %d -> %d KiB; '
              'probes/s %.1f without, %.1f with them; loop iterations %d, over 25 ms %d, over 100 ms %d; topology '
              'request p50 %.1f ms, p99 %.1f ms; an event reached all 1,024 streams in %.0f ms'
              % (served, refused, t_all, rss0, rss1, base, loaded, n, slow25, slow100, p50 * 1000, p99 * 1000,
                 fanout * 1000))
        self.assertGreater(loaded, base * 0.8, 'probing slowed down by 1,024 event streams')
        self.assertLess(p99, 1.0)
        # Still fine after they left.
        wait_for(lambda: self.api.json('GET', '/health')[0] == 200, what='health')
        self.assertEqual(self.status()['recovery']['analysis'], 'ok')


class HttpFailover(HttpBase):
    """kill -9 of the primary with event-stream and stalled clients connected, beside the same without."""

    def kill_and_time(self):
        self.lab.kill(1, 'KILL')
        self.wait_healthy()
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        full = self.recovery(r['id'])
        return full['promoted_ms'] - full['primary_lost_ms']

    def test_failover_without_http_clients(self):
        ms = self.kill_and_time()
        print('\nprimary lost to promoted (kill -9) without HTTP clients: %d ms' % ms)
        self.assertLessEqual(ms, 10000)

    def test_failover_with_150_event_stream_clients(self):
        import selectors
        import threading
        streams, stalled = [], []
        for i in range(150):
            s = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            if i % 3 == 2:  # never read: their buffers fill, the daemon must not care
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                stalled.append(s)
            else:
                streams.append(s)
            s.sendall(b'GET /api/v1/events HTTP/1.1\r\nHost: x\r\n\r\n')
        for i in range(30):  # and half requests that never finish
            s = socket.create_connection(('127.0.0.1', self.port), timeout=5)
            s.sendall(b'GET /api/v1/clus')
            stalled.append(s)
        data = {s: b'' for s in streams}
        stop = threading.Event()

        def reader():
            sel = selectors.DefaultSelector()
            for s in streams:
                s.setblocking(False)
                sel.register(s, selectors.EVENT_READ)
            while not stop.is_set():
                for key, _ in sel.select(0.2):
                    try:
                        chunk = key.fileobj.recv(65536)
                    except OSError:
                        chunk = b''
                    if not chunk:
                        sel.unregister(key.fileobj)
                        data[key.fileobj] += b'<EOF>'
                    else:
                        data[key.fileobj] += chunk
            sel.close()
        t = threading.Thread(target=reader)
        t.start()
        try:
            wait_for(lambda: all(b'event stream' in v for v in data.values()), what='100 streams open')
            ms = self.kill_and_time()
            print('\nprimary lost to promoted (kill -9) with 100 reading + 50 stalled event-stream clients and 30 stalled '
                  'requests: %d ms' % ms)
            self.assertLessEqual(ms, 10000)
            wait_for(lambda: all(b'event: recovery-done' in v for v in data.values()),
                     what='every reading stream saw recovery-done')
            # Stopping the controller with every stream still open: a clean exit, streams closed.
            self.assertEqual(self.d.stop(), 0)
            wait_for(lambda: all(v.endswith(b'<EOF>') or v.endswith(b'0\r\n\r\n') for v in data.values()),
                     timeout=10, what='streams closed at stop')
        finally:
            stop.set()
            t.join(5)
            for s in streams + stalled:
                s.close()


class HttpTls(HttpBase):
    """http_tls_cert/http_tls_key: HTTPS only; the token works over it; clear text gets no answer."""

    def prepare(self):
        super().prepare()
        import tlscerts
        self.certs = tlscerts.make(os.path.join(self.tmp, 'certs'))

    def extra_global(self):
        return super().extra_global() + 'http_tls_cert = %s\nhttp_tls_key = %s\n' % (
            self.certs['server_cert'], self.certs['server_key'])

    def test_https(self):
        import ssl
        ctx = ssl.create_default_context(cafile=self.certs['ca'])
        c = http.client.HTTPSConnection('127.0.0.1', self.port, timeout=10, context=ctx)
        c.request('GET', '/api/v1/clusters/lab/topology')
        r = c.getresponse()
        doc = json.loads(r.read())
        self.assertEqual(r.status, 200)
        rc, cli = cli_json(self.config, 'topology', '--cluster', 'lab')
        self.assertEqual(normalize(doc), normalize(cli))
        c.request('POST', '/api/v1/clusters/lab/ack', body=b'{}', headers={'Authorization': 'Bearer ' + TOKEN})
        r = c.getresponse()
        self.assertEqual(r.status, 200, r.read())
        r.read()
        c.close()
        # A client that does not trust the certificate refuses it.
        with self.assertRaises(ssl.SSLError):
            c = http.client.HTTPSConnection('127.0.0.1', self.port, timeout=10,
                                            context=ssl.create_default_context())
            c.request('GET', '/health')
        c.close()
        # Clear-text HTTP gets no HTTP answer.
        with self.assertRaises((http.client.HTTPException, OSError)):
            self.api.request('GET', '/health', timeout=5)
        self.assertIn('http: listening on https://127.0.0.1:%d' % self.port, self.d.log_text())


class HttpIpv6(HttpBase):
    """http_listen = [::1]:PORT: served on the IPv6 loopback only."""

    def extra_global(self):
        return super().extra_global().replace('127.0.0.1:', '[::1]:')

    def test_ipv6_loopback(self):
        c = http.client.HTTPConnection('::1', self.port, timeout=10)
        c.request('GET', '/api/v1/clusters/lab')
        r = c.getresponse()
        doc = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 200)
        rc, cli = cli_json(self.config, 'status', '--cluster', 'lab')
        self.assertEqual(normalize(doc), normalize(cli))
        with self.assertRaises(OSError):  # not on the IPv4 loopback
            self.api.request('GET', '/health', timeout=3)
        self.assertIn('http: listening on http://[::1]:%d' % self.port, self.d.log_text())


class HttpWithoutToken(ClusterTest):
    """No http_token_file: mutating calls are disabled with a clear 403; reads work."""

    def prepare(self):
        self.port = harness.free_tcp_port()
        self.api = Http(self.port)

    def extra_global(self):
        return 'http_listen = 127.0.0.1:%d\n' % self.port

    def test_mutations_disabled(self):
        for route in ('switchover', 'failover', 'maintenance', 'ack'):
            st, doc = self.api.json('POST', '/api/v1/clusters/lab/' + route, {'dry_run': True}
                                    if route in ('switchover', 'failover') else {}, token=TOKEN)
            self.assertEqual(st, 403, doc)
            self.assertIn('set http_token_file', doc['error'])
        self.assertEqual(self.api.json('GET', '/api/v1/clusters/lab')[0], 200)
        self.assertEqual(self.healthy(), 1)


class HttpConfig(unittest.TestCase):
    """What the HTTP keys refuse at config load (exit 4, file:line: key: how to fix)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='myorch-http-cfg-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pw = self.file('pw', 'secret\n')

    def file(self, name, text, mode=0o600):
        p = os.path.join(self.tmp, name)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def check(self, lines):
        cfg = self.file('c.ini', '[myorch]\nstate_dir = %s\n%s\n[cluster.a]\nseeds = 127.0.0.1:3306\nuser = u\n'
                        'password_file = %s\n' % (self.tmp, lines, self.pw))
        return myorch('check-config', '-c', cfg)

    def test_refusals(self):
        tok = self.file('tok', TOKEN + '\n')
        cert, key = self.file('c.pem', 'x\n'), self.file('k.pem', 'x\n')
        self.assertEqual(self.check('http_listen = 10.1.2.3:9180\nhttp_tls_cert = %s\nhttp_tls_key = %s'
                                    % (cert, key)).returncode, 0)
        self.assertEqual(self.check('http_listen = 127.0.0.1:9180\nhttp_token_file = %s' % tok).returncode, 0)
        self.assertEqual(self.check('http_listen = [::1]:9180').returncode, 0)
        cases = [
            ('http_listen = 0.0.0.0:9180', 'not a loopback address'),
            ('http_listen = 10.1.2.3:9180', 'set http_tls_cert and http_tls_key'),
            ('http_listen = localhost:9180', 'not a host name'),
            ('http_listen = 127.0.0.1', 'ADDRESS:PORT'),
            ('http_listen = 127.0.0.1:0', 'port from 1 to 65535'),
            ('http_listen = 127.0.0.1:+80', 'port from 1 to 65535'),
            ('http_listen = [::1]:000000000000000000000000000000000000000000000000000000000000080', 'port from 1'),
            ('http_token_file = %s' % tok, 'http_listen is not'),
            ('http_listen = 127.0.0.1:9180\nhttp_token_file = %s' % self.file('t2', TOKEN, 0o640), 'chmod 600'),
            ('http_listen = 127.0.0.1:9180\nhttp_token_file = %s' % self.file('t3', 'short'), 'fewer than 16'),
            ('http_listen = 127.0.0.1:9180\nhttp_token_file = %s' % self.file('t4', 'a b c d e f g h i j'),
             'without spaces'),
            ('http_listen = 127.0.0.1:9180\nhttp_token_file = %s/missing' % self.tmp, 'cannot read'),
            ('http_listen = 127.0.0.1:9180\nhttp_tls_cert = %s' % self.file('cert.pem', 'x\n'), 'go together'),
            ('http_listen = 127.0.0.1:9180\nhttp_tls_cert = %s\nhttp_tls_key = %s' % (cert, self.file('k2', 'x', 0o640)),
             'chmod 600'),
        ]
        for lines, text in cases:
            p = self.check(lines)
            self.assertEqual(p.returncode, 4, (lines, p.stdout, p.stderr))
            self.assertIn(text, p.stderr, lines)
            self.assertNotIn(TOKEN, p.stderr)


if __name__ == '__main__':
    harness.main()
