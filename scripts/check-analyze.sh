#!/bin/sh
# clang's static analyzer (clang --analyze) over every C file of src/, with
# the include paths and defines of a build (its compile_commands.json), two
# files at a time. Prints TAP: one case, failing on any finding (each
# printed with its path notes). Usage: check-analyze.sh [path/to/compile_commands.json]
if ! command -v clang >/dev/null 2>&1; then
	echo "1..0 # SKIP clang is not installed"
	exit 0
fi
exec python3 - "${1:-build/compile_commands.json}" "$(dirname "$0")/analyzer-model.h" <<'PY'
import concurrent.futures, json, os, re, shlex, subprocess, sys

db_path, model = sys.argv[1], os.path.abspath(sys.argv[2])
if not os.path.isfile(db_path):
    print("1..1\nnot ok 1 - analyze: no compile database at " + db_path)
    sys.exit(1)
root = os.path.dirname(model) + "/.."
root = os.path.realpath(root)


def analyzer_args(entry):
    """Keep only what shapes the code the analyzer sees (-I, -D, -U, -std,
    -pthread): a gcc build's warning flags mean nothing to clang."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    keep, i = [], 1
    while i < len(args):
        a = args[i]
        if a in ("-I", "-D", "-U", "-isystem", "-include") and i + 1 < len(args):
            keep += [a, args[i + 1]]
            i += 2
            continue
        if a.startswith(("-I", "-D", "-U", "-std=", "-isystem")) or a == "-pthread":
            keep.append(a)
        i += 1
    return keep


jobs, seen = [], set()
for e in json.load(open(db_path)):
    path = os.path.realpath(os.path.join(e["directory"], e["file"]))
    rel = os.path.relpath(path, root)
    if not rel.startswith("src/") or not rel.endswith(".c") or path in seen:
        continue
    seen.add(path)
    extra = [] if rel == "src/util/error.c" else ["-include", model]
    cmd = ["clang", "--analyze", "--analyzer-output", "text", "-o", "/dev/null"]
    jobs.append((rel, e["directory"], cmd + extra + analyzer_args(e) + [path]))
jobs.sort()


def run(job):
    rel, cwd, cmd = job
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode, p.stdout


# clang 14's analyzer does not run __attribute__((cleanup)) handlers, so
# every early return past a vs_autofree pointer looks like a leak. A leak
# report is dropped when the variable it names, or the one the memory was
# allocated into, is declared vs_autofree (searching back from the line to
# the start of its function). A pointer stolen out of an autofree variable
# is then no longer checked for leaks: the price of the filter.
LEAK = re.compile(r"^(\S+?):(\d+):\d+: warning: Potential leak of memory pointed to by '([^']+)' \[unix\.Malloc\]")
ALLOC = re.compile(r"^(\S+?):(\d+):\d+: note: Memory is allocated")
sources = {}


def lines_of(path):
    if path not in sources:
        with open(path, errors="replace") as f:
            sources[path] = f.read().split("\n")
    return sources[path]


def declared_autofree(path, line, name):
    name = re.split(r"\.|->", name)[0].strip("*&() ")
    if not re.fullmatch(r"\w+", name):
        return False
    decl = re.compile(r"\bvs_autofree\b[^;=]*[\s*]" + name + r"\s*(=|;|,)")
    src = lines_of(path)
    for i in range(min(line, len(src)) - 1, -1, -1):
        if decl.search(src[i]):
            return True
        if src[i].startswith("{"):  # the function's opening brace
            return False
    return False


def assigned_at(path, line):
    m = re.search(r"(\w+)\s*=[^=]", lines_of(path)[line - 1] if line <= len(lines_of(path)) else "")
    return m.group(1) if m else None


def findings(out, cwd):
    """Split the output into one block per warning; drop cleanup false positives."""
    blocks, cur = [], None
    for l in out.splitlines():
        if ": warning: " in l:
            cur = [l]
            blocks.append(cur)
        elif cur is not None:
            cur.append(l)
    kept = []
    for b in blocks:
        m = LEAK.match(b[0])
        if m:
            path = os.path.join(cwd, m.group(1))
            names = [(path, int(m.group(2)), m.group(3))]
            for l in b:
                a = ALLOC.match(l)
                if a and assigned_at(os.path.join(cwd, a.group(1)), int(a.group(2))):
                    ap = os.path.join(cwd, a.group(1))
                    names.append((ap, int(a.group(2)), assigned_at(ap, int(a.group(2)))))
            if any(declared_autofree(*n) for n in names):
                continue
        kept.append(b)
    return kept


with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
    results = list(pool.map(run, jobs))
# One TAP case for the whole pass, so the suite's count stays about tests.
print("1..1")
bad_files = 0
for (rel, cwd, _), (rc, out) in zip(jobs, results):
    bad = findings(out, cwd)
    if rc == 0 and not bad:
        continue
    bad_files += 1
    for b in bad or [out.splitlines() or [f"{rel}: clang exited with {rc}"]]:
        for l in b:
            print("# " + l.replace(root + "/", ""))
if bad_files:
    print(f"not ok 1 - clang --analyze: findings in {bad_files} of {len(jobs)} files of src/")
    sys.exit(1)
print(f"ok 1 - clang --analyze: {len(jobs)} files of src/, no findings")
PY
