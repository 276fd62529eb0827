"""The web page in a real browser (headless Chromium from Debian, driven by Selenium) against a live lab:
the tree shows the cluster; a switchover through the dialog (the dry-run plan first, then the token and
the confirmation); kill -9 of the primary, and the page shows the new primary and the recovery without a
reload. Screenshots go to build/artifacts/ (MYORCH_UI_SCREENSHOT=PATH also writes the README's picture)."""
import http.client
import os
import shutil
import sys
import tempfile
import time
import unittest

import harness
from harness import wait_for
from test_http import TOKEN, HttpBase

CHROMIUM = shutil.which('chromium')
CHROMEDRIVER = shutil.which('chromedriver') or ('/usr/bin/chromedriver' if os.path.exists('/usr/bin/chromedriver') else None)
try:
    import selenium  # noqa: F401
except ImportError:
    # Debian's python3-selenium when this interpreter is not Debian's own (pyenv, venv): pure Python.
    if os.path.isdir('/usr/lib/python3/dist-packages/selenium'):
        sys.path.append('/usr/lib/python3/dist-packages')
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

MISSING = [n for n, ok in (('chromium', CHROMIUM), ('chromium-driver', CHROMEDRIVER),
                           ('python3-selenium', HAVE_SELENIUM)) if not ok]
ARTIFACTS = os.path.join(os.environ.get('MYORCH_BUILD') or os.path.join(harness.SRC, 'build'), 'artifacts')


@unittest.skipIf(MISSING, 'the browser test needs %s (tests/deps.sh installs them)' % ', '.join(MISSING))
class WebUi(HttpBase):

    def setUp(self):
        super().setUp()
        os.makedirs(ARTIFACTS, exist_ok=True)
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        self.profile = tempfile.mkdtemp(prefix='myorch-chromium-')
        for a in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                  '--window-size=1360,1200', '--user-data-dir=' + self.profile, '--no-first-run',
                  '--disable-extensions', '--disable-background-networking', '--force-color-profile=srgb'):
            opts.add_argument(a)
        opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
        try:
            self.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        except BaseException:
            self.d.stop()
            self.lab.down()
            raise
        self.addCleanup(shutil.rmtree, self.profile, True)
        self.addCleanup(self.browser.quit)
        self.base = 'http://127.0.0.1:%d' % self.port

    # ---- helpers -------------------------------------------------------------------
    def until(self, what, pred, timeout=30):
        """An explicit wait on the page; on timeout, a screenshot and the page's console explain."""
        try:
            # The page replaces a part when its data changed: an element found a moment ago may be gone.
            return WebDriverWait(self.browser, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(
                lambda b: pred(b))
        except Exception:
            self.shot('failed-' + what.replace(' ', '-')[:40])
            raise AssertionError('page: %s not seen within %d s; browser log: %s' % (
                what, timeout, self.browser.get_log('browser')[-10:]))

    def shot(self, name):
        path = os.path.join(ARTIFACTS, 'web-ui-%s.png' % name)
        self.browser.save_screenshot(path)
        return path

    def cluster(self):
        return self.browser.find_element(By.ID, 'cluster-lab')

    def page_primary(self, b=None):
        els = self.browser.find_elements(By.ID, 'cluster-lab')
        return els[0].get_attribute('data-primary') if els else None

    def nodes(self):
        """The tree's instances as {addr, role, depth, text}, read in one script run."""
        return self.browser.execute_script("""
            return [...document.querySelectorAll('#cluster-lab .node')].map(n => {
                let depth = 0;
                for (let e = n.parentElement; e && !e.matches('#cluster-lab'); e = e.parentElement) if (e.tagName === 'UL') depth++;
                return {addr: n.dataset.addr, role: n.dataset.role, depth: depth - 1, text: n.innerText};
            });""")

    def click(self, what, css):
        """Click what css names now (retried when the element was just replaced)."""
        self.until('click on ' + what, lambda b: b.find_element(By.CSS_SELECTOR, css).click() or True)

    def rec_rows(self):
        """(id, text) of the history's rows, read in one script run (the rows may be replaced in between calls)."""
        return [tuple(r) for r in self.browser.execute_script(
            "return [...document.querySelectorAll('#cluster-lab tr.rec')].map(r => [r.dataset.id, r.innerText]);")]

    # ---- the test ----------------------------------------------------------------------
    def test_tree_failover_and_switchover_in_a_browser(self):
        t0 = time.monotonic()
        primary = self.lab.addr(1)
        # The files: types, a strict CSP, nosniff; unknown and traversing paths are refused.
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        for path, ctype in (('/', 'text/html'), ('/ui/app.js', 'text/javascript'), ('/ui/app.css', 'text/css')):
            c.request('GET', path)
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200, path)
            self.assertTrue(r.getheader('Content-Type').startswith(ctype), (path, r.getheader('Content-Type')))
            self.assertEqual(r.getheader('X-Content-Type-Options'), 'nosniff')
            csp = r.getheader('Content-Security-Policy')
            self.assertIn("default-src 'none'", csp)
            self.assertIn("script-src 'self'", csp)
            self.assertNotIn('unsafe', csp)
        c.close()

        # 1. The tree: the primary at the root, both replicas below it, replicating.
        self.browser.get(self.base + '/')
        self.until('the cluster with its primary', lambda b: self.page_primary() == primary)
        nodes = self.until('3 replicating instances in the tree', lambda b: (lambda n: len(n) == 3 and all(
            'replicating' in x['text'] for x in n if x['role'] == 'replica') and n)(self.nodes()))
        self.until('the event stream connected', lambda b: b.find_element(By.ID, 'stream').text == 'live')
        root = [n for n in nodes if n['depth'] == 0]
        self.assertEqual([n['addr'] for n in root], [primary])
        self.assertIn('PRIMARY', root[0]['text'])
        self.assertIn('writable', root[0]['text'])
        replicas = [n for n in nodes if n['depth'] == 1]
        self.assertEqual(sorted(r['addr'] for r in replicas), sorted([self.lab.addr(2), self.lab.addr(3)]))
        for r in replicas:
            self.assertEqual(r['role'], 'replica')
            self.assertIn('read-only', r['text'])
            self.assertIn('GTID', r['text'])
        self.until('the availability report', lambda b: 'measured availability' in self.cluster().text)
        self.browser.execute_script('window.__no_reload_marker = 42;')
        self.shot('before')

        # 2. Switchover through the dialog: the plan first, then the confirmation; the token is in no URL.
        self.click('Switchover…', '#cluster-lab button.switchover')
        self.until('the dialog', lambda b: b.find_element(By.ID, 'sw').get_attribute('open') is not None)
        go = self.browser.find_element(By.ID, 'sw-go')
        self.browser.find_element(By.ID, 'sw-token').send_keys('wrong-token-1234567')
        self.browser.find_element(By.ID, 'sw-plan').click()
        self.until('401 for a wrong token', lambda b: '401' in b.find_element(By.ID, 'sw-status').text)
        self.assertFalse(self.browser.find_element(By.ID, 'sw-step2').is_displayed())
        tok = self.browser.find_element(By.ID, 'sw-token')
        tok.clear()
        tok.send_keys(TOKEN)
        self.browser.find_element(By.ID, 'sw-plan').click()
        self.until('the dry-run plan', lambda b: b.find_element(By.ID, 'sw-step2').is_displayed() and
                   b.find_element(By.ID, 'sw-plan-text').text.strip() != '')
        plan = self.browser.find_element(By.ID, 'sw-plan-text').text
        self.assertIn(primary, plan)
        self.assertFalse(go.is_enabled(), 'the switchover button works only after the confirmation')
        self.assertEqual(self.recoveries(), [], 'the dry run changed nothing')
        self.shot('switchover-plan')
        self.browser.find_element(By.ID, 'sw-confirm').click()
        self.until('the button enabled by the confirmation', lambda b: go.is_enabled())
        go.click()
        self.until('the switchover done', lambda b: 'Done:' in b.find_element(By.ID, 'sw-status').text, timeout=40)
        self.assertEqual(self.browser.find_element(By.ID, 'sw-token').get_attribute('value'), '', 'token forgotten')
        self.browser.find_element(By.ID, 'sw-close').click()
        sw_primary = self.until('a new primary after the switchover',
                                lambda b: self.page_primary() not in (None, '', primary) and self.page_primary())
        self.until('the switchover in the history', lambda b: any('switchover' in t and 'done' in t for _, t in self.rec_rows()))
        self.assertEqual(self.lab.addr(self.wait_healthy()), sw_primary)
        self.assertNotIn(TOKEN, self.browser.current_url)
        self.assertNotIn(TOKEN, str(self.browser.execute_script('return [document.cookie, window.name, location.href]')))

        # 3. kill -9 of the primary: the page follows without a reload.
        victim = [i for i in self.lab.indexes if self.lab.addr(i) == sw_primary][0]
        self.lab.kill(victim, 'KILL')
        new = self.until('the new primary after kill -9', lambda b: self.page_primary() not in (None, '', sw_primary) and
                         self.page_primary(), timeout=40)
        self.until('the failover in the history', lambda b: any('failover' in t and 'done' in t for _, t in self.rec_rows()), timeout=40)
        self.until('the dead server marked DOWN', lambda b: any(
            n['addr'] == sw_primary and 'DOWN' in n['text'] for n in self.nodes()))
        self.assertEqual(self.browser.execute_script('return window.__no_reload_marker'), 42, 'the page was reloaded')
        # It came through the event stream (not only the 5 s poll): the page's event list has the failover's events.
        self.until('the events on the page', lambda b: all(e in b.execute_script(
            "return document.getElementById('events').textContent") for e in ('recovery-started', 'recovery-done')))
        self.assertEqual(self.status()['primary'], new)
        # The failover's steps with their timings, on a click.
        fid = [i for i, t in self.rec_rows() if 'failover' in t][0]
        self.click('the failover\'s row', '#cluster-lab tr.rec[data-id="%s"]' % fid)
        steps = self.until('the step timings', lambda b: b.execute_script(
            "const d = document.querySelector('#cluster-lab .recovery-detail');"
            "return d && d.querySelectorAll('table.steps tbody tr').length ? d.innerText : null;"))
        self.assertIn('promoted', steps)
        self.until('the outage in the chart', lambda b: '#%s' % fid in self.cluster().find_element(By.CSS_SELECTOR, 'svg.outages').text)
        after = self.shot('after')
        if os.environ.get('MYORCH_UI_SCREENSHOT'):
            shutil.copyfile(after, os.environ['MYORCH_UI_SCREENSHOT'])
        # No script errors and no CSP violations on the page.
        errors = [e for e in self.browser.get_log('browser') if e['level'] == 'SEVERE' and 'status of 401' not in e['message']]
        self.assertEqual(errors, [])
        print('\nweb UI test: %.1f s; screenshots in %s' % (time.monotonic() - t0, ARTIFACTS), file=sys.stderr)


if __name__ == '__main__':
    harness.main()
