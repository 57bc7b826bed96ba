#!/bin/sh
# Every C file git tracks must be as clang-format (.clang-format) writes it;
# `make format` fixes them. Prints TAP: one case naming the files that differ.
cd "$(dirname "$0")/.." || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "1..0 # SKIP clang-format is not installed"
	exit 0
fi
if ! files=$(git ls-files '*.c' '*.h' 2>/dev/null) || [ -z "$files" ]; then
	echo "1..0 # SKIP not a git checkout"
	exit 0
fi
echo "1..1"
bad=""
for f in $files; do
	[ -f "$f" ] || continue # deleted in the work tree
	clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -z "$bad" ]; then
	echo "ok 1 - clang-format: $(echo "$files" | wc -l) files as .clang-format writes them"
	exit 0
fi
for f in $bad; do
	echo "# differs: $f"
done
echo "not ok 1 - clang-format: $(echo $bad | wc -w) files differ (run make format)"
exit 1
