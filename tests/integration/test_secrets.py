"""Secrets on the wire and in messages (issue 11, item 4), on real mariadbd.

- A replication password holding a backslash and a quote survives servers running with
  sql_mode=NO_BACKSLASH_ESCAPES: the executor's session sets its own sql_mode, so the
  escaped literal in CHANGE MASTER TO reads back as written and the repointed replica logs in.
- A CHANGE MASTER TO that fails never shows the statement (it holds the password), even
  when the password contains "': " (which defeated the old redaction), and keeps the
  server's error number and reason.
"""
import os
import sqlite3

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


class ChangeMasterFailureKeepsReasonHidesPassword(ClusterTest):
    # Longer than MariaDB accepts for MASTER_PASSWORD: the server refuses CHANGE MASTER TO
    # with a message quoting the start of the value.
    SECRET = "s3cr3t': leaked-part ': " + 'Q' * 150

    def prepare(self):
        with open(self.lab.repl_password_file, 'w') as f:
            f.write(self.SECRET + '\n')

    def test_failed_repoint(self):
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
        failed = [s for s in full['steps'] if s['result'] == 'failed' or 'CHANGE MASTER' in (s['message'] or '')]
        msgs = ' | '.join(s['message'] or '' for s in failed)
        self.assertIn('CHANGE MASTER TO ...', msgs)
        self.assertRegex(msgs, r'error \d{4}', 'the server\'s reason was lost: %s' % msgs)


if __name__ == '__main__':
    harness.main()
