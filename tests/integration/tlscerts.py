"""Test certificates made with the openssl command line (Python stdlib only).

make(dir) creates, under dir:
    ca.pem / ca.key                 a CA (the only thing a client needs to trust)
    server.pem / server.key         CN/SAN localhost + IP 127.0.0.1, signed by the CA
    wrong.pem / wrong.key           SAN wrong-name.invalid only, signed by the same CA
    client.pem / client.key         a client certificate, signed by the CA
    byname.pem / byname.key         SAN DNS:localhost only (no IP address), signed by the CA
Keys are 0600. Returns a dict of those paths.
"""
import os
import subprocess


def _run(*args, cwd):
    r = subprocess.run(['openssl', *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('openssl %s failed: %s' % (' '.join(args), r.stderr))


def _leaf(d, name, subject, san):
    ext = os.path.join(d, name + '.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=%s\nbasicConstraints=CA:FALSE\n'
                'keyUsage=digitalSignature,keyEncipherment\n' % san)
    _run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
         '-subj', subject, cwd=d)
    _run('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
         '-days', '2', '-out', name + '.pem', '-extfile', ext, cwd=d)
    os.chmod(os.path.join(d, name + '.key'), 0o600)


def make(d):
    os.makedirs(d, exist_ok=True)
    _run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
         '-days', '2', '-subj', '/CN=myorch test CA', cwd=d)
    os.chmod(os.path.join(d, 'ca.key'), 0o600)
    _leaf(d, 'server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1')
    _leaf(d, 'wrong', '/CN=wrong-name.invalid', 'DNS:wrong-name.invalid')
    _leaf(d, 'client', '/CN=myorch', 'DNS:myorch-client.invalid')
    _leaf(d, 'byname', '/CN=localhost', 'DNS:localhost')
    return {k: os.path.join(d, f) for k, f in (
        ('ca', 'ca.pem'), ('server_cert', 'server.pem'), ('server_key', 'server.key'),
        ('wrong_cert', 'wrong.pem'), ('wrong_key', 'wrong.key'),
        ('client_cert', 'client.pem'), ('client_key', 'client.key'),
        ('byname_cert', 'byname.pem'), ('byname_key', 'byname.key'))}
