"""Secrets on the wire and in messages (issue 11, item 4), on real mariadbd.

- A replication password holding a backslash and a quote survives servers running with
  sql_mode=NO_BACKSLASH_ESCAPES: the executor's session sets its own sql_mode, so the
  escaped literal in CHANGE MASTER TO reads back as written and the repointed replica logs in.
- A repoint that fails never shows a statement holding the password, even when the password
  contains "': " (which defeated the old redaction), and keeps the server's error number and
  reason. A password longer than CHANGE MASTER accepts (whose server message would quote it)
  is refused at config load, without showing it.
"""
import os
import shutil
import sqlite3
import tempfile
import unittest

import harness
from harness import ClusterTest, myorch, wait_for


def sql_literal(s):
    """A string literal for a session in the default sql_mode."""
    return "'" + s.replace('\\', '\\\\').replace("'", "\\'") + "'"


class BackslashPasswordNoBackslashEscapes(ClusterTest):
    PASSWORD = "r\\ep'l\\\\pw"   # r\ep'l\\pw

    def prepare(self):
        self.lab.sql(1, "ALTER USER 'repl'@'127.0.0.1' IDENTIFIED BY %s" % sql_literal(self.PASSWORD))
        wait_for(lambda: all(self.lab.sql_value(i, "SELECT COUNT(*) FROM mysql.global_priv WHERE User='repl' "
                                                   "AND JSON_VALUE(Priv, '$.authentication_string') = PASSWORD(%s)"
                                                   % sql_literal(self.PASSWORD)) == '1' for i in (2, 3)),
                 what='new repl password replicated')
        with open(self.lab.repl_password_file, 'w') as f:
            f.write(self.PASSWORD + '\n')
        for i in self.lab.indexes:
            self.lab.sql(i, "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, ',NO_BACKSLASH_ESCAPES')")
            self.assertIn('NO_BACKSLASH_ESCAPES', self.lab.sql_value(i, 'SELECT @@GLOBAL.sql_mode'))

    def test_failover_replica_logs_in(self):
        self.insert(1, 1, 20)
        wait_for(lambda: all(self.count(i) == 20 for i in (2, 3)), what='rows replicated')
        self.lab.kill(1, 'KILL')
        p = self.wait_healthy(timeout=40)
        other = 5 - p
        r = self.wait_recovery_done()
        self.assertEqual(r['state'], 'done', r)
        # The repointed replica logged in with the password as written (IO thread Yes, no 1045).
        st = self.lab.sql(other, 'SHOW SLAVE STATUS', dicts=True)[0]
        self.assertEqual(st['Slave_IO_Running'], 'Yes', st.get('Last_IO_Error'))
        self.insert(p, 100, 5)
        wait_for(lambda: self.count(other) == 25, what='replication from the new primary')


class OverlongPasswordRefusedAtLoad(unittest.TestCase):
    """A replication password longer than CHANGE MASTER accepts (it would fail the
    failover's repoint steps, and the server's message quotes the start of the value) is
    refused at config load, and the refusal never shows the password."""
    SECRET = "s3cr3t': leaked-part ': " + 'Q' * 150

    def test_refused(self):
        tmp = tempfile.mkdtemp(prefix='myorch-secret-')
        try:
            for name, text in (('m.pass', 'monitor-pw'), ('r.pass', self.SECRET)):
                fd = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT, 0o600)
                os.write(fd, (text + '\n').encode())
                os.close(fd)
            cfg = os.path.join(tmp, 'myorch.ini')
            with open(cfg, 'w') as f:
                f.write('[myorch]\nstate_dir = %s/state\n\n[cluster.lab]\nseeds = 127.0.0.1:3306\nuser = myorch\n'
                        'password_file = m.pass\nreplication_user = repl\nreplication_password_file = r.pass\n' % tmp)
            os.chmod(cfg, 0o600)
            p = myorch('check-config', '-c', cfg)
            self.assertEqual(p.returncode, 4, p.stdout + p.stderr)
            self.assertIn('at most 96', p.stderr)
            for piece in ('s3cr3t', 'leaked-part', 'QQQQQQQQ'):
                self.assertNotIn(piece, p.stdout + p.stderr)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class RepointFailureKeepsReasonHidesPassword(ClusterTest):
    """A repoint that fails on the server (the controller's account lost its replication
    admin privilege on the replica) keeps the server's error number and reason, and no
    piece of a password holding "': " (which defeated the old redaction) reaches the audit,
    the log or the events."""
    SECRET = "s3cr3t': leaked-part ': QQQQQQQQQQ"

    def prepare(self):
        self.lab.sql(1, "ALTER USER 'repl'@'127.0.0.1' IDENTIFIED BY %s" % sql_literal(self.SECRET))
        with open(self.lab.repl_password_file, 'w') as f:
            f.write(self.SECRET + '\n')

    def test_failed_repoint(self):
        wait_for(lambda: all(self.lab.sql_value(i, "SELECT COUNT(*) FROM mysql.global_priv WHERE User='repl' "
                                                   "AND JSON_VALUE(Priv, '$.authentication_string') = PASSWORD(%s)"
                                                   % sql_literal(self.SECRET)) == '1' for i in (2, 3)),
                 what='new repl password replicated')
        for i in (2, 3):
            self.lab.sql(i, "SET SESSION sql_log_bin=0; REVOKE REPLICATION SLAVE ADMIN, SUPER ON *.* FROM "
                            "'myorch'@'127.0.0.1'")
        self.lab.kill(1, 'KILL')
        r = self.wait_recovery_done(timeout=40)
        full = self.recovery(r['id'])
        text = repr(full) + self.d.log_text()
        db = sqlite3.connect(os.path.join(self.tmp, 'state', 'state.db'))
        try:
            text += repr(db.execute('SELECT * FROM events').fetchall())
            text += repr(db.execute('SELECT * FROM recovery_steps').fetchall())
        finally:
            db.close()
        for piece in ('s3cr3t', 'leaked-part', 'QQQQQQQQ'):
            at = text.find(piece)
            self.assertEqual(at, -1, 'a piece of the password reached the audit, log or events: ...%s...'
                             % text[max(0, at - 200):at + 40])
        failed = [s for s in full['steps'] if s['result'] == 'failed']
        msgs = ' | '.join(s['message'] or '' for s in failed)
        self.assertRegex(msgs, r'error \d{4}', 'the server\'s reason was lost: %s' % msgs)

if __name__ == '__main__':
    harness.main()
