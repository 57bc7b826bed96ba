#!/bin/sh
# Run one libFuzzer target for its share (PERCENT, default 100) of
# FUZZ_SECONDS (default 30) and report in TAP.
exe=$1
name=$2
secs=$(( ${FUZZ_SECONDS:-30} * ${3:-100} / 100 ))
[ "$secs" -ge 1 ] || secs=1
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
seeds="$(dirname "$0")/corpus/$name"
echo "1..1"
if "$exe" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 "$corpus" ${seeds:+$( [ -d "$seeds" ] && echo "$seeds")} >"$corpus.log" 2>&1; then
	echo "ok 1 - $name: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$corpus.log" | grep -o '[0-9]*$') runs in ${secs}s, no findings"
else
	sed 's/^/# /' "$corpus.log" | tail -40
	echo "not ok 1 - $name found a crash"
fi
rm -f "$corpus.log"
