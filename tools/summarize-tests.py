#!/usr/bin/env python3
"""Count meson test results of one or more build directories and print
the summary line "N passed, N failed" (plus skipped tests with their
reason). Exit status 1 if any test failed or a build has no results."""
import json
import os
import sys

passed = failed = 0
skipped = []
ok = True
for build in sys.argv[1:]:
    log = os.path.join(build, 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        print(f'{build}: no test results (build failed?)')
        ok = False
        failed += 1
        continue
    tag = os.path.basename(build)
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            res = t.get('result')
            if res in ('OK', 'EXPECTEDFAIL'):
                passed += 1
            elif res == 'SKIP':
                reason = (t.get('stdout') or '').strip().splitlines()
                skipped.append(f"{tag}/{t.get('name')}: {reason[-1] if reason else 'skipped'}")
            else:
                failed += 1
                print(f"FAILED {tag}: {t.get('name')} ({res})")
for s in skipped:
    print('SKIPPED ' + s)
line = f'{passed} passed, {failed} failed'
if skipped:
    line += f', {len(skipped)} skipped'
print(line)
sys.exit(0 if ok and failed == 0 else 1)
