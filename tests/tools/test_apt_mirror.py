"""docker/base/apt-mirror.py and mkbase.sh --print-mirrors: the Debian mirror comes from the
machine's own apt configuration (one-line .list and deb822 .sources), never from a default
host name; without one, a clear error naming the override variable."""
import os
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get('MYORCH_SRC') or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(SRC, 'docker', 'base', 'apt-mirror.py')
MKBASE = os.path.join(SRC, 'docker', 'base', 'mkbase.sh')

DEB822 = """\
# a third-party repository first: not Debian, must be skipped
Types: deb
URIs: https://apt.vendor.example/repo
Suites: nodistro
Components: main

Types: deb-src
URIs: http://src-only.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
# a comment inside the stanza
URIs: http://mirror.example.net/debian/
Suites: bookworm
 bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.net/debian-security
Suites: bookworm-security
Components: main
"""

ONE_LINE = """\
# deb http://commented.example/debian bookworm main
deb-src http://src.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.example/apt cloud-sdk-bookworm main
deb [enabled=no] http://off.example/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example.org/debian bookworm main non-free-firmware
deb http://sec.example.org/debian-security bookworm-security main   # trailing comment
"""


class AptMirror(unittest.TestCase):
    def root(self, files):
        d = tempfile.mkdtemp(prefix='apt-mirror-')
        self.addCleanup(lambda: subprocess.run(['rm', '-rf', d]))
        os.makedirs(os.path.join(d, 'etc/apt/sources.list.d'))
        for name, text in files.items():
            with open(os.path.join(d, 'etc/apt', name), 'w') as f:
                f.write(text)
        return d

    def run_tool(self, root, kind):
        return subprocess.run([sys.executable, TOOL, '--root', root, kind], capture_output=True, text=True)

    def expect(self, root, archive, security):
        for kind, want in (('archive', archive), ('security', security)):
            p = self.run_tool(root, kind)
            self.assertEqual((p.returncode, p.stdout.strip()), (0, want), p.stderr)

    def test_deb822(self):
        self.expect(self.root({'sources.list.d/debian.sources': DEB822}),
                    'http://mirror.example.net/debian', 'http://mirror.example.net/debian-security')

    def test_one_line(self):
        self.expect(self.root({'sources.list': ONE_LINE}),
                    'http://ftp.example.org/debian', 'http://sec.example.org/debian-security')

    def test_one_line_in_sources_list_d_and_old_security_suite(self):
        self.expect(self.root({'sources.list': '# nothing here\n',
                               'sources.list.d/debian.list':
                                   'deb http://old.example/debian buster main\n'
                                   'deb http://old.example/debian-security buster/updates main\n'}),
                    'http://old.example/debian', 'http://old.example/debian-security')

    def test_sources_list_comes_first_and_other_extensions_are_ignored(self):
        root = self.root({'sources.list': 'deb http://first.example/debian trixie main\n',
                          'sources.list.d/debian.sources': DEB822,
                          'sources.list.d/zz.list.disabled': 'deb http://ignored.example/debian-security trixie-security main\n'})
        self.expect(root, 'http://first.example/debian', 'http://mirror.example.net/debian-security')

    def test_nothing_found_is_a_clear_error(self):
        root = self.root({'sources.list.d/vendor.sources': DEB822.split('\n\n')[0] + '\n'})
        for kind, var in (('archive', 'LAB_DEBIAN_MIRROR'), ('security', 'LAB_DEBIAN_SECURITY_MIRROR')):
            p = self.run_tool(root, kind)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(p.stdout, '')
            self.assertIn('no enabled "deb" entry', p.stderr)
            self.assertIn('vendor.sources', p.stderr)
            self.assertIn(var, p.stderr)
        empty = tempfile.mkdtemp(prefix='apt-mirror-')
        self.addCleanup(lambda: os.rmdir(empty))
        p = self.run_tool(empty, 'archive')
        self.assertEqual(p.returncode, 1)
        self.assertIn('sources.list', p.stderr)

    def test_mkbase_uses_it_and_the_overrides(self):
        root = self.root({'sources.list.d/debian.sources': DEB822})
        env = dict(os.environ, LAB_APT_ROOT=root)
        env.pop('LAB_DEBIAN_MIRROR', None)
        env.pop('LAB_DEBIAN_SECURITY_MIRROR', None)
        p = subprocess.run(['bash', MKBASE, '--print-mirrors'], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ['http://mirror.example.net/debian', 'http://mirror.example.net/debian-security'])
        env.update(LAB_DEBIAN_MIRROR='http://override.example/debian',
                   LAB_DEBIAN_SECURITY_MIRROR='http://override.example/security')
        p = subprocess.run(['bash', MKBASE, '--print-mirrors'], env=env, capture_output=True, text=True)
        self.assertEqual(p.stdout.split(), ['http://override.example/debian', 'http://override.example/security'])
        env = dict(os.environ, LAB_APT_ROOT=self.root({}))
        env.pop('LAB_DEBIAN_MIRROR', None)
        p = subprocess.run(['bash', MKBASE, '--print-mirrors'], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn('cannot tell which Debian mirror', p.stderr)

    def test_no_mirror_host_name_in_the_repository(self):
        """No file of the repository names a package registry or a mirror host."""
        if not os.path.isdir(os.path.join(SRC, '.git')) and not os.path.isfile(os.path.join(SRC, '.git')):
            self.skipTest('not a git checkout')
        # Patterns, not the names themselves (this file must pass its own check).
        patterns = [r'[a-z0-9-]+\.(debian|ubuntu|kali)\.(org|com|net)', r'pypi\.(org|python\.org)',
                    r'pythonhosted\.org', r'crates\.io', r'npmjs\.(org|com)', r'docker\.io', r'golang\.org',
                    r'rubygems\.org', r'packagist\.org', r'maven\.org', r'nodesource\.com',
                    r'packages\.cloud\.google']
        p = subprocess.run(['git', '-C', SRC, 'grep', '-n', '-I', '-E'] + sum((['-e', x] for x in patterns), []),
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 1, 'mirror or registry host names in the repository:\n' + p.stdout)


if __name__ == '__main__':
    unittest.main(verbosity=2)
