#!/usr/bin/env python3
"""checksrc: refuse constructs the project bans in product code (not tests).

- unbounded or unsafe libc calls: strcpy, strcat, sprintf, vsprintf, gets,
  atoi, atol, atoll, strtok, alloca, system, tmpnam, mktemp;
- casting wire bytes to a struct (`(struct x *)buf` on a uint8_t pointer):
  parse through ib_buf instead (heuristic: any cast to a `struct ... *`
  from an expression containing 'buf', 'pkt', 'data' or 'payload').
Usage: checksrc.py SOURCE_ROOT
"""
import os
import re
import sys

DIRS = ['common', 'usbmux', 'lockdown', 'mobilebackup2', 'sim', 'cli']
BANNED = ['strcpy', 'strcat', 'sprintf', 'vsprintf', 'gets', 'atoi', 'atol',
          'atoll', 'strtok', 'alloca', 'system', 'tmpnam', 'mktemp']
call = re.compile(r'(?<![\w.>])(' + '|'.join(BANNED) + r')\s*\(')
cast = re.compile(r'\(\s*(const\s+)?struct\s+\w+\s*\*\s*\)\s*\(?\s*\w*(buf|pkt|data|payload)\w*')
comment = re.compile(r'/\*.*?\*/', re.S)
string = re.compile(r'"(\\.|[^"\\])*"')

root = sys.argv[1] if len(sys.argv) > 1 else '.'
bad = 0
for d in DIRS:
    for dirpath, _, files in os.walk(os.path.join(root, d)):
        for name in sorted(files):
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.join(dirpath, name)
            text = open(path, encoding='utf-8', errors='replace').read()
            # Keep line numbers: blank out comments and strings.
            text = comment.sub(lambda m: re.sub(r'[^\n]', ' ', m.group(0)), text)
            text = string.sub('""', text)
            for n, line in enumerate(text.split('\n'), 1):
                for m in call.finditer(line):
                    print(f'{path}:{n}: banned call {m.group(1)}()')
                    bad += 1
                if cast.search(line):
                    print(f'{path}:{n}: struct cast over wire bytes; parse with ib_buf')
                    bad += 1
print(f'checksrc: {bad} problem(s)')
sys.exit(1 if bad else 0)
