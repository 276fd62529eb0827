"""contrib/prometheus/myorch-alerts.yml: valid rules (promtool check rules), and each alert fires
on the series it is meant for and stays silent otherwise (promtool test rules)."""
import os
import shutil
import subprocess
import unittest

SRC = os.environ.get('MYORCH_SRC') or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(SRC, 'contrib', 'prometheus')


class AlertRules(unittest.TestCase):
    def promtool(self, *args):
        tool = shutil.which('promtool')
        self.assertIsNotNone(tool, 'promtool (Debian package prometheus) is needed: see tests/deps.sh')
        p = subprocess.run([tool, *args], cwd=DIR, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def test_check_rules(self):
        self.assertIn('SUCCESS: 9 rules found', self.promtool('check', 'rules', 'myorch-alerts.yml'))

    def test_rules_fire_as_meant(self):
        self.promtool('test', 'rules', 'myorch-alerts.test.yml')


if __name__ == '__main__':
    unittest.main(verbosity=2)
