#!/usr/bin/env bash
# Time `python -m course_tools grade` on a class of finished submissions: COPIES learners who each hand in
# NOTEBOOK (default: the lesson-04 solution), graded JOBS notebooks at a time. For the instructor guide.
#
#   bash tools/time-grading.sh                      # 20 learners, --jobs 2
#   COPIES=4 JOBS=2 bash tools/time-grading.sh      # a quick look
#
# Env: COPIES (20), JOBS (2), TIMEOUT (900 s per notebook), NOTEBOOK (solutions/04_unet.ipynb), VENV (.venv).
# Run it on a quiet machine: the load average before and after is printed with the result.
set -euo pipefail
cd "$(dirname "$0")/.."

COPIES="${COPIES:-20}"
JOBS="${JOBS:-2}"
TIMEOUT="${TIMEOUT:-900}"
NOTEBOOK="${NOTEBOOK:-solutions/04_unet.ipynb}"
PY="${VENV:-.venv}/bin/python"
for var in COPIES JOBS TIMEOUT; do
    if ! [[ "${!var}" =~ ^[1-9][0-9]*$ ]]; then
        echo "time-grading: $var=${!var} must be a whole number >= 1, e.g. $var=2." >&2
        exit 2
    fi
done
[ -f "$NOTEBOOK" ] || { echo "time-grading: NOTEBOOK=$NOTEBOOK is not a file; e.g. NOTEBOOK=solutions/04_unet.ipynb." >&2; exit 2; }
[ -x "$PY" ] || { echo "time-grading: no $PY; run 'make env' first." >&2; exit 2; }
# The same local data mirror the Makefile uses, when it is there.
if [ -z "${COURSE_DATA_MIRROR:-}" ] && [ -f ../shared/data/SOURCES.md ]; then
    export COURSE_DATA_MIRROR="$(cd ../shared/data && pwd)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$COPIES"); do
    learner="$(printf 'learner_%02d' "$i")"
    mkdir -p "$work/subs/$learner"
    cp "$NOTEBOOK" "$work/subs/$learner/"
done

echo "time-grading: $COPIES x $(basename "$NOTEBOOK"), --jobs $JOBS, --timeout $TIMEOUT, $(nproc) cores"
echo "time-grading: load before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
start=$(date +%s.%N)
"$PY" -m course_tools grade "$work/subs" --out "$work/grades.csv" --jobs "$JOBS" --timeout "$TIMEOUT" | grep -v '^ \|^learner_\|^$'
end=$(date +%s.%N)
echo "time-grading: load after:  $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime)"
rows=$(($(wc -l < "$work/grades.csv") - 1))
passed=$(grep -c ',passed,' "$work/grades.csv" || true)
# Which exercises did not pass (a finished submission should pass them all):
awk -F, 'NR > 1 && $4 != "passed" { print "time-grading: not passed: " $3 " (" $4 ")" }' "$work/grades.csv" | sort | uniq -c
awk -v s="$start" -v e="$end" -v n="$COPIES" -v j="$JOBS" -v p="$passed" -v r="$rows" 'BEGIN {
    printf "time-grading: %d notebooks, --jobs %d: %.0f s wall in all, %.1f s per notebook; %d/%d exercise rows passed\n",
           n, j, e - s, (e - s) / n, p, r }'
