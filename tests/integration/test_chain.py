"""Discovery of a chain primary -> A -> B, from the middle and from the bottom."""
import harness
from harness import myorch, wait_for
import json


class DiscoveryChain(harness.LabTestCase):
    SERVERS = 3
    TOPOLOGY = 'chain'

    def test_chain_from_seed(self):
        d = self.start_daemon()
        try:
            def full():
                t = d.topology()
                return t if t['reachable'] == 3 else None
            t = wait_for(full, what='chain discovered')
            inst = {i['addr']: i for i in t['instances']}
            self.assertEqual(t['primary'], self.lab.addr(1))
            self.assertIsNone(inst[self.lab.addr(1)]['parent'])
            self.assertEqual(inst[self.lab.addr(2)]['parent'], self.lab.addr(1))
            self.assertEqual(inst[self.lab.addr(3)]['parent'], self.lab.addr(2))
            self.assertEqual(inst[self.lab.addr(3)]['depth'], 2)
            self.assertEqual(inst[self.lab.addr(2)]['role'], 'replica')
            out = myorch('topology', '-c', self.lab.config_path, check=True).stdout
            lines = out.splitlines()
            # Tree: the grandchild is indented below its parent.
            i2 = next(k for k, l in enumerate(lines) if self.lab.addr(2) in l)
            i3 = next(k for k, l in enumerate(lines) if self.lab.addr(3) in l)
            self.assertEqual(i3, i2 + 1)
            self.assertTrue(lines[i3].startswith('   └─ '), lines[i3])
        finally:
            self.stop_daemon(d)

    def test_discover_one_shot_from_bottom(self):
        p = myorch('discover', '--seed', self.lab.addr(3), '--user', 'myorch',
                   '--password-file', self.lab.myorch_password_file, '--json')
        self.assertEqual(p.returncode, 0, p.stderr)
        t = json.loads(p.stdout)
        self.assertEqual(t['primary'], self.lab.addr(1))
        self.assertEqual(t['servers'], 3)
        inst = {i['addr']: i for i in t['instances']}
        self.assertEqual(inst[self.lab.addr(3)]['parent'], self.lab.addr(2))


if __name__ == '__main__':
    harness.main()
