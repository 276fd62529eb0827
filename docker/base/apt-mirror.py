#!/usr/bin/env python3
"""Print the Debian mirror this machine's apt already uses, for debootstrap.

    apt-mirror.py [--root DIR] archive|security

Reads what apt reads: ROOT/etc/apt/sources.list and ROOT/etc/apt/sources.list.d/*.list
(one-line format: "deb [opts] URI SUITE COMPONENT...") and *.sources (deb822 stanzas:
Types/URIs/Suites/Components/Enabled). Only binary ("deb") entries that are enabled count.
  archive   the first URI serving a Debian release suite (bookworm, trixie-updates, stable, ...)
            with the main component
  security  the first URI serving a Debian security suite (bookworm-security, or the old
            bookworm/updates)
Prints the URI (no trailing slash) and exits 0, or says what it looked at and exits 1.
No mirror is named here: the machine's own configuration is the only source.
"""
import glob
import os
import re
import sys

CODENAMES = {'buzz', 'rex', 'bo', 'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny',
             'squeeze', 'wheezy', 'jessie', 'stretch', 'buster', 'bullseye', 'bookworm', 'trixie',
             'forky', 'duke', 'sid', 'stable', 'oldstable', 'oldoldstable', 'testing', 'unstable'}
SCHEMES = ('http://', 'https://', 'ftp://', 'file:/')


def parse_one_line(text):
    """Entries of a sources.list file: dicts with types, uris, suites, components."""
    out = []
    for raw in text.splitlines():
        line = raw.split('#', 1)[0].strip()
        if not line:
            continue
        m = re.match(r'^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$', line)
        if not m:
            continue
        opts = dict(o.split('=', 1) for o in (m.group(2) or '').split() if '=' in o)
        out.append({'types': [m.group(1)], 'uris': [m.group(3)], 'suites': [m.group(4)],
                    'components': m.group(5).split(), 'enabled': opts.get('enabled', 'yes')})
    return out


def parse_deb822(text):
    """Stanzas of a .sources file (blank-line separated; '#' comments; continuation lines)."""
    out, cur, key = [], {}, None
    for raw in text.splitlines() + ['']:
        if raw.startswith('#'):
            continue
        if not raw.strip():
            if cur:
                out.append(cur)
            cur, key = {}, None
            continue
        if raw[0] in ' \t' and key:
            cur[key] += ' ' + raw.strip()
            continue
        if ':' not in raw:
            continue
        key, val = raw.split(':', 1)
        key = key.strip().lower()
        cur[key] = val.strip()
    entries = []
    for st in out:
        entries.append({'types': st.get('types', '').split(), 'uris': st.get('uris', '').split(),
                        'suites': st.get('suites', '').split(), 'components': st.get('components', '').split(),
                        'enabled': st.get('enabled', 'yes')})
    return entries


def sources(root):
    """(file, entries) in the order apt reads them."""
    files = [os.path.join(root, 'etc/apt/sources.list')]
    d = os.path.join(root, 'etc/apt/sources.list.d')
    files += sorted(glob.glob(os.path.join(d, '*.list')) + glob.glob(os.path.join(d, '*.sources')))
    for f in files:
        try:
            with open(f, encoding='utf-8', errors='replace') as fh:
                text = fh.read()
        except OSError:
            continue
        yield f, parse_deb822(text) if f.endswith('.sources') else parse_one_line(text)


def is_release(suite):
    base = suite.split('/')[0]
    name, _, tail = base.partition('-')
    return name in CODENAMES and tail in ('', 'updates', 'backports', 'proposed-updates')


def is_security(suite):
    name, _, tail = suite.partition('-')
    if tail == 'security':
        return name in CODENAMES
    return suite.endswith('/updates') and suite.split('/')[0] in CODENAMES


def find(root, kind):
    looked = []
    for f, entries in sources(root):
        looked.append(f)
        for e in entries:
            if 'deb' not in e['types'] or e['enabled'].lower() in ('no', 'false', '0'):
                continue
            uris = [u for u in e['uris'] if u.startswith(SCHEMES)]
            if not uris:
                continue
            if kind == 'archive':
                ok = any(is_release(s) and not is_security(s) for s in e['suites']) and 'main' in e['components']
            else:
                ok = any(is_security(s) for s in e['suites'])
            if ok:
                return uris[0].rstrip('/'), looked
    return None, looked


def main(argv):
    root = '/'
    args = list(argv)
    if len(args) >= 2 and args[0] == '--root':
        root = args[1]
        args = args[2:]
    if len(args) != 1 or args[0] not in ('archive', 'security'):
        print('usage: apt-mirror.py [--root DIR] archive|security', file=sys.stderr)
        return 2
    uri, looked = find(root, args[0])
    if not uri:
        what = 'Debian archive (a release suite with main)' if args[0] == 'archive' else 'Debian security archive'
        var = 'LAB_DEBIAN_MIRROR' if args[0] == 'archive' else 'LAB_DEBIAN_SECURITY_MIRROR'
        print('apt-mirror: no enabled "deb" entry for the %s in %s; configure apt for Debian '
              'or set %s to the mirror URL' % (what, ', '.join(looked) or
                                                os.path.join(root, 'etc/apt/sources.list*'), var),
              file=sys.stderr)
        return 1
    print(uri)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
