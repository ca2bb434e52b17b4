#!/usr/bin/env bash
# The README's test command: sets everything up and runs every check CI runs.
#   bash tools/test.sh                     # uses/creates ./.venv
#   VENV=/tmp/x/venv bash tools/test.sh    # a fresh environment elsewhere (what .ci/run does)
#   FLAGS="slow" bash tools/test.sh        # also run the cells flagged `slow` (minutes, needs ../shared/data)
#   SKIP_INSTALL=1 bash tools/test.sh      # skip the pip install step (environment already set up)
# Steps: install synthfg[dev] -> notebooks clean? -> library in sync with notebooks? -> README in sync?
#        -> every notebook as a test (per-notebook table, closing "N passed, N failed") -> gpu_check --dry-run -> docs check.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
t0=$SECONDS
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -c 'import sys; assert sys.version_info >= (3, 10), "synthfg needs Python 3.10+"' || exit 1
  "$PY" -m venv "$VENV" || exit 1
fi
if [ -z "${SKIP_INSTALL:-}" ]; then   # SKIP_INSTALL=1: use an already set-up VENV as it is
  log=$(mktemp)
  "$VENV/bin/python" -m pip install -q --upgrade pip >"$log" 2>&1
  "$VENV/bin/python" -m pip install -e ".[dev]" >"$log" 2>&1 || { tail -40 "$log"; echo "FAIL  pip install -e .[dev] failed"; exit 1; }
  rm -f "$log"
fi
export PATH="$PWD/$VENV/bin:$PATH"; case "$VENV" in /*) export PATH="$VENV/bin:$PATH";; esac
export PYTHONWARNINGS=ignore
echo "== environment: $(python -c 'import torch, torchvision, nbdev; print("python", __import__("sys").version.split()[0], "torch", torch.__version__, "torchvision", torchvision.__version__, "nbdev", nbdev.__version__)')"

fail=0
snapshot() { find nbs synthfg README.md -type f \( -name '*.ipynb' -o -name '*.py' -o -name '*.md' \) -not -path '*/.ipynb_checkpoints/*' -print0 | sort -z | xargs -0 sha1sum; }
# sync_check CMD WHAT: run an nbdev command that must change nothing on a committed tree, and name what it changed
sync_check() {
  local before after; before=$(snapshot); $1 >/dev/null 2>&1; after=$(snapshot)
  if [ "$before" != "$after" ]; then
    echo "FAIL  $2: $1 changed:"; diff <(echo "$before") <(echo "$after") | sed -n 's/^> [0-9a-f]*  /      /p'; fail=1
  else echo "ok    $2 ($1 changes nothing)"; fi
}
sync_check nbdev_clean "clean notebooks"
sync_check nbdev_export "library in sync with the notebooks (export check)"
if python tools/make_readme.py --check; then echo "ok    README.md generated from nbs/index.ipynb"; else fail=1; fi

echo "== notebooks as tests (nbdev_test, one process per notebook; skipped flags: those in settings.ini tst_flags minus FLAGS='${FLAGS:-}')"
python tools/run_tests.py --flags "${FLAGS:-}" || fail=1

echo "== benchmarks/gpu_check.py --dry-run (the GPU machine's check on the CPU at tiny size)"
log=$(mktemp)
if OMP_NUM_THREADS=1 python benchmarks/gpu_check.py --dry-run >"$log" 2>&1; then echo "ok    $(tail -1 "$log")"
else tail -30 "$log"; echo "FAIL  gpu_check --dry-run"; fail=1; fi
rm -f "$log"

echo "== docs check (nbdev proc_nbs + nbconvert HTML + headless Chromium)"
python tools/docs_check.py ${DOCS_REQUIRE_BROWSER:+--require-browser} || fail=1

echo "== total wall time $((SECONDS - t0)) s"
exit $fail
