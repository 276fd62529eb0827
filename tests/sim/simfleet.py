"""Drive tests/sim/fleetsim from Python (stdlib only): start a fleet, talk to its control socket,
write a myorch configuration for it. Used by tests/sim/test_*.py and bench/fleet_bench.py."""
import os
import random
import socket
import subprocess
import time


class SimError(Exception):
    pass


class Shard:
    """One fleetsim process: a 127.NET.0.0/16 of its own, clusters named PREFIX00000..."""

    def __init__(self, binary, tmp, fleet, size, rate, net_timeout, attempts, log_unknown, pw_file, prefix, taken,
                 mysql_auth=None, nice=0, cpus=None, rt=False):
        self.ctl_path = os.path.join(tmp, '%s.ctl' % prefix)
        self.fleet_file = os.path.join(tmp, '%s.fleet' % prefix)
        self.log_path = os.path.join(tmp, '%s.log' % prefix)
        last = ''
        for _ in range(attempts):
            # A random 127.N.0.0/16 and port: parallel fleets (and other helpers' servers) must not collide.
            self.net = random.choice([n for n in range(20, 250) if n not in taken])
            self.port = random.randrange(20000, 60000)
            if os.path.exists(self.fleet_file):
                os.unlink(self.fleet_file)
            args = [binary, '--fleet', fleet, '--size', str(size), '--net', str(self.net), '--port', str(self.port),
                    '--user', 'myorch', '--password-file', pw_file, '--fleet-out', self.fleet_file,
                    '--control', self.ctl_path, '--rate', str(rate), '--net-timeout', str(net_timeout),
                    '--prefix', prefix]
            if log_unknown:
                args.append('--log-unknown')
            if mysql_auth:
                args += ['--mysql-auth', mysql_auth]
            self.log = open(self.log_path, 'ab')
            wrap = ((['taskset', '-c', cpus] if cpus else []) + (['nice', '-n', str(nice)] if nice else []) +
                    (['chrt', '-f', '1'] if rt else []))
            self.proc = subprocess.Popen(wrap + args, stdout=self.log,
                                         stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None and not os.path.exists(self.fleet_file):
                time.sleep(0.05)
            if os.path.exists(self.fleet_file):
                break
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            with open(self.log_path) as f:
                last = f.read()[-2000:]
        else:
            raise SimError('fleetsim did not start: %s' % last)
        self.clusters = []
        with open(self.fleet_file) as f:
            for line in f:
                w = line.split()
                self.clusters.append((w[0], w[1], w[2:]))

    def ctl(self, *words):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(60)
        s.connect(self.ctl_path)
        try:
            s.sendall((' '.join(str(w) for w in words) + '\n').encode())
            line = s.makefile().readline().strip()
        finally:
            s.close()
        if not line.startswith('ok'):
            raise SimError('%s: %s' % (' '.join(str(w) for w in words), line))
        return line[3:]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with open(self.log_path, errors='replace') as f:
            return f.read()


class Fleet:
    """Running fleetsim processes. clusters: list of (name, flavor, [addr, ...]); the first address of each
    cluster starts as its primary. shards > 1 splits the clusters over several processes (one process
    needs a listener and a session per server: 10,000 servers need more than a 20,000 descriptor limit).
    own: a second fleet spec whose clusters get a process of their own (listed after the others; prefix
    'o'): servers that answer without queueing behind thousands of others, as real servers on their own
    machines do (fleet_bench's failovers). nice: the other processes run at that CPU priority (nice -n),
    so that the controller and the own process come first on a machine they share with the simulation.
    cpus: every process (the own one too) runs on these CPUs only (taskset -c LIST), leaving the others to
    the controller, as servers on machines of their own would. own_rt: the own process runs under SCHED_FIFO
    (chrt -f 1, needs root): woken, it has a CPU at once, as a server on a machine of its own would, rather
    than waiting up to a scheduler tick (4 ms on the bench machine, perf sched) behind the rest of the fleet."""

    def __init__(self, binary, tmp, fleet, size=4, rate=2.0, net_timeout=2.0, attempts=5, log_unknown=True,
                 shards=1, mysql_auth=None, own=None, nice=0, cpus=None, own_rt=False):
        self.tmp = tmp
        self.pw_file = os.path.join(tmp, 'sim.pw')
        with open(self.pw_file, 'w') as f:
            f.write('sim-secret-%d' % random.randrange(1 << 30))
        os.chmod(self.pw_file, 0o600)
        specs = [[] for _ in range(shards)]
        for part in fleet.split(','):
            flavor, n = part.split(':')
            n = int(n)
            for k in range(shards):
                m = n // shards + (1 if k < n % shards else 0)
                if m:
                    specs[k].append('%s:%d' % (flavor, m))
        prefixes = ['s%dc' % k if shards > 1 else 'c' for k in range(shards)]
        if own:
            specs.append(own.split(','))
            prefixes.append('o')
        self.shards = []
        self.clusters = []
        self._where = []     # global cluster index -> (shard, local index)
        try:
            for k, spec in enumerate(specs):
                if not spec:
                    continue
                sh = Shard(binary, tmp, ','.join(spec), size, rate, net_timeout, attempts, log_unknown, self.pw_file,
                           prefixes[k], {x.net for x in self.shards}, mysql_auth,
                           nice=0 if prefixes[k] == 'o' else nice, cpus=cpus, rt=own_rt and prefixes[k] == 'o')
                for j, c in enumerate(sh.clusters):
                    self.clusters.append(c)
                    self._where.append((sh, j))
                self.shards.append(sh)
        except BaseException:
            self.stop()
            raise
        self.port = self.shards[0].port
        self.log_path = self.shards[0].log_path
        self.proc = self.shards[0].proc

    def _shard_of(self, addr):
        net = int(str(addr).split('.')[1])
        for sh in self.shards:
            if sh.net == net:
                return sh
        raise SimError('no shard serves %s' % addr)

    def ctl(self, *words):
        """A command for servers (addresses); several addresses may span shards."""
        if len(words) >= 2 and words[0] in ('kill', 'hang', 'resume', 'partition', 'heal'):
            by = {}
            for a in words[1:]:
                by.setdefault(self._shard_of(a), []).append(a)
            out = ''
            for sh, addrs in by.items():
                out = sh.ctl(words[0], *addrs)
            return out
        if len(words) >= 2 and words[0] not in ('stats', 'primaries', 'healthy'):
            return self._shard_of(words[1]).ctl(*words)
        return self.shards[0].ctl(*words)

    def status(self, addr):
        """The virtual server's state as a dict (addr, up, read_only, source, io, sql, gtid, ...)."""
        text = self.ctl('status', addr)
        out = {}
        for part in text.split(' '):
            if '=' in part:
                k, v = part.split('=', 1)
                out[k] = v
        return out

    def stats(self):
        """Counters summed over the shards (last_unknown: the first shard's that has one)."""
        total = {}
        for sh in self.shards:
            text = sh.ctl('stats')
            # last_unknown is the statement text (spaces, '=' and all): the last field, taken whole.
            text, _, last = text.partition(' last_unknown=')
            d = dict(p.split('=', 1) for p in text.split(' ') if '=' in p)
            d['last_unknown'] = last or '-'
            for k, v in d.items():
                if k == 'last_unknown':
                    if v != '-' or k not in total:
                        total[k] = v
                else:
                    total[k] = str(int(total.get(k, '0')) + int(v))
        return total

    def writable(self, cluster_index):
        """Live writable servers of one cluster (IP addresses with the port)."""
        sh, j = self._where[cluster_index]
        words = sh.ctl('primaries', j).split()
        return ['%s:%d' % (w, sh.port) for w in words[1:]]

    def healthy(self, cluster_index):
        """The one writable primary if every live server of the cluster replicates from it, else None."""
        return self.healthy_many([cluster_index])[0]

    def healed(self, indexes):
        """Per cluster index: (killed_at, healed_at) on its simulator's clock (s; 0.0: never, or not yet): when
        one of its servers was last killed, and when the cluster was healthy again after that (see healthy()),
        taken by the simulator itself as the statement or tick that made it so ran."""
        return self._per_cluster('healed', indexes, 2, lambda w: (float(w[0]), float(w[1])))

    def healthy_many(self, indexes):
        return self._per_cluster('healthy', indexes, 1, lambda w: None if w[0].startswith('-') else w[0])

    def _per_cluster(self, cmd, indexes, width, parse):
        """A per-cluster command (healthy, healed) for global cluster indexes: asked of each index's shard
        by its local index, 500 at a time; each answers `width` words per cluster, turned into a value
        by parse(words)."""
        res = {}
        by = {}
        for i in indexes:
            sh, j = self._where[i]
            by.setdefault(sh, []).append((i, j))
        for sh, pairs in by.items():
            for k in range(0, len(pairs), 500):
                chunk = pairs[k:k + 500]
                words = sh.ctl(cmd, *[j for _, j in chunk]).split()
                if len(words) != width * len(chunk):
                    raise SimError('%s: %d words for %d clusters' % (cmd, len(words), len(chunk)))
                for n, (i, _) in enumerate(chunk):
                    res[i] = parse(words[width * n:width * (n + 1)])
        return [res[i] for i in indexes]

    def myorch_config(self, path, state_dir, poll_ms=300, extra_global='', extra_cluster='', clusters=None,
                      log_level='info'):
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        os.chmod(state_dir, 0o700)
        with open(path, 'w') as f:
            f.write('[myorch]\nstate_dir = %s\npoll_interval_ms = %d\nread_timeout_ms = 800\n'
                    'connect_timeout_ms = 800\nlog_level = %s\n%s\n\n' % (state_dir, poll_ms, log_level, extra_global))
            for name, flavor, addrs in (clusters or self.clusters):
                f.write('[cluster.%s]\nseeds = %s\nuser = myorch\npassword_file = %s\nreplication_user = repl\n'
                        'replication_password_file = %s\nssl_mode = disabled\n%s\n\n'
                        % (name, ', '.join(addrs), self.pw_file, self.pw_file, extra_cluster))
        os.chmod(path, 0o600)

    def stop(self):
        return ''.join(sh.stop() for sh in getattr(self, 'shards', []))
