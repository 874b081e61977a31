#!/usr/bin/env python3
"""Rewrite README's configuration table from the config schema (node scripts/config-table.ts)."""
import re, subprocess, sys
table = subprocess.run(['node_modules/.bin/node', 'scripts/config-table.ts'], capture_output=True, text=True, check=True).stdout.strip()
readme = open('README.md').read()
new, n = re.subn(r'\| variable \| default \| meaning \|\n(?:\|.*\|\n)+', table + '\n', readme, count=1)
if n != 1:
    sys.exit('README has no configuration table to replace')
open('README.md', 'w').write(new)
