#!/usr/bin/env python3
"""Add up the TAP cases of one or more meson test logs and print the one
summary line CI reads: `N passed, N failed, N skipped`. Exit 1 on failure."""
import json
import re
import sys

# CI keeps only the tail of the output: each failing case and the first
# lines of its diagnostics are repeated here, so that tail names them.
DIAG_LINES = 6


def print_failed_cases(out):
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("not ok") or re.search(r"#\s*TODO", line, re.I):
            continue
        print(f"  {line}")
        shown = 0
        for d in lines[i + 1:]:
            if re.match(r"(not ok|ok)\b", d) or shown == DIAG_LINES:
                break
            if d.startswith("#"):
                print(f"    {d[:300]}")
                shown += 1


passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            p = f_ = s = 0
            plan_skip = re.search(r"^1\.\.0\s*#\s*SKIP\s*(.*)$", out, re.M | re.I)
            for m in re.finditer(r"^(not ok|ok)\b[^\n]*", out, re.M):
                text = m.group(0)
                if re.search(r"#\s*SKIP", text, re.I):
                    s += 1
                elif m.group(1) == "ok" or re.search(r"#\s*TODO", text, re.I):
                    p += 1
                else:
                    f_ += 1
            result = t.get("result")
            if plan_skip and not (p or f_):
                s = max(s, 1)
                print(f"skip: {t['name']}: {plan_skip.group(1).strip()}")
            elif result not in ("OK", "SKIP", "EXPECTEDFAIL") and f_ == 0:
                f_ = 1  # crashed or timed out before reporting a failure
            if f_:
                print(f"FAIL: {t['name']} ({result})")
                print_failed_cases(out)
            reasons = re.findall(r"^#\s+skipped: ([^\n]*)", out, re.M)
            for m in re.finditer(r"^ok\b[^\n]*#\s*SKIP\s*([^\n]*)", out, re.M | re.I):
                why = m.group(1).strip()
                if why == "see above" and reasons:
                    why = reasons.pop(0)
                print(f"skip: {t['name']}: {why}")
            passed += p
            failed += f_
            skipped += s
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
