"""Drive tests/sim/fleetsim from Python (stdlib only): start a fleet, talk to its control socket,
write a myorch configuration for it. Used by tests/sim/test_*.py and bench/fleet_bench.py."""
import os
import random
import socket
import subprocess
import time


class SimError(Exception):
    pass


class Fleet:
    """A running fleetsim. clusters: list of (name, flavor, [addr, ...]); the first address of each
    cluster starts as its primary."""

    def __init__(self, binary, tmp, fleet, size=4, rate=2.0, net_timeout=2.0, attempts=5, log_unknown=True):
        self.tmp = tmp
        self.pw_file = os.path.join(tmp, 'sim.pw')
        with open(self.pw_file, 'w') as f:
            f.write('sim-secret-%d' % random.randrange(1 << 30))
        os.chmod(self.pw_file, 0o600)
        self.ctl_path = os.path.join(tmp, 'sim.ctl')
        self.fleet_file = os.path.join(tmp, 'fleet.txt')
        self.log_path = os.path.join(tmp, 'sim.log')
        last = ''
        for _ in range(attempts):
            # A random 127.N.0.0/16 and port: parallel fleets (and other helpers' servers) must not collide.
            self.net = random.randrange(20, 250)
            self.port = random.randrange(20000, 60000)
            if os.path.exists(self.fleet_file):
                os.unlink(self.fleet_file)
            args = [binary, '--fleet', fleet, '--size', str(size), '--net', str(self.net), '--port', str(self.port),
                    '--user', 'myorch', '--password-file', self.pw_file, '--fleet-out', self.fleet_file,
                    '--control', self.ctl_path, '--rate', str(rate), '--net-timeout', str(net_timeout)]
            if log_unknown:
                args.append('--log-unknown')
            self.log = open(self.log_path, 'ab')
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
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
        s.settimeout(30)
        s.connect(self.ctl_path)
        try:
            s.sendall((' '.join(str(w) for w in words) + '\n').encode())
            line = s.makefile().readline().strip()
        finally:
            s.close()
        if not line.startswith('ok'):
            raise SimError('%s: %s' % (' '.join(str(w) for w in words), line))
        return line[3:]

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
        return dict(p.split('=', 1) for p in self.ctl('stats').split(' ') if '=' in p)

    def writable(self, cluster_index):
        """Live writable servers of one cluster (IP addresses with the port)."""
        words = self.ctl('primaries', cluster_index).split()
        return ['%s:%d' % (w, self.port) for w in words[1:]]

    def healthy(self, cluster_index):
        """The one writable primary if every live server of the cluster replicates from it, else None."""
        return self.healthy_many([cluster_index])[0]

    def healthy_many(self, indexes):
        out = []
        for k in range(0, len(indexes), 500):
            words = self.ctl('healthy', *indexes[k:k + 500]).split()
            out += [None if w.startswith('-') else w for w in words]
        return out

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
