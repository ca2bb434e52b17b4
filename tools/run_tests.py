"""Run every notebook in `nbs/` as a test with `nbdev_test`, one notebook per process, and print a per-notebook
table and a closing `N passed, N failed` line (nbdev_test on its own prints only `Success.`).

Usage: python tools/run_tests.py [--flags "slow gpu"] [--jobs 2] [NOTEBOOK ...]
"""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def skip_flags():
    "The `tst_flags` of settings.ini: cells carrying one of these directives are skipped unless forced."
    import configparser
    cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini')
    return cfg['DEFAULT'].get('tst_flags', '').split()

def count_cells(nb_path, skip):
    "Number of code cells nbdev_test will execute in `nb_path` and number it will skip because of `skip` flags."
    cells = [c for c in json.loads(nb_path.read_text())['cells'] if c['cell_type'] == 'code']
    def flags(c):
        src = ''.join(c['source']).splitlines()
        return {l[3:].split()[0] for l in src if l.startswith('#| ') and len(l.split()) > 1}
    skipped = sum(bool(flags(c) & set(skip)) for c in cells)
    return len(cells) - skipped, skipped

def run_one(nb, force):
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    cmd = ['nbdev_test', '--path', str(nb)] + (['--flags', ' '.join(force)] if force else [])
    t0 = time.time()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    return nb, p.returncode == 0, time.time() - t0, p.stdout + p.stderr

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', help='notebooks to run (default: every nbs/*.ipynb)')
    ap.add_argument('--flags', default='', help='space-separated tst_flags to run as well, e.g. "slow"')
    ap.add_argument('--jobs', type=int, default=2, help='notebooks run at once')
    a = ap.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((ROOT/'nbs').glob('*.ipynb'))
    missing = [str(n) for n in nbs if not n.exists()]
    if missing: sys.exit(f'run_tests: no such notebook: {", ".join(missing)}')
    force = a.flags.split()
    skip = [f for f in skip_flags() if f not in force]
    t0 = time.time()
    with ThreadPoolExecutor(a.jobs) as ex: results = list(ex.map(lambda nb: run_one(nb, force), nbs))
    n_pass = n_fail = 0
    for nb, ok, dt, out in results:
        ran, skipped = count_cells(nb, skip)
        print(f'{"PASS" if ok else "FAIL"}  {nb.name:<28} {ran:3d} cells run, {skipped:2d} skipped ({" ".join(skip) or "-"}), {dt:6.1f} s')
        if not ok: print('\n'.join('      ' + l for l in out.strip().splitlines()[-40:]))
        n_pass += ok; n_fail += not ok
    print(f'notebooks: {len(results)}, wall time {time.time()-t0:.0f} s')
    print(f'{n_pass} passed, {n_fail} failed')
    sys.exit(1 if n_fail else 0)

if __name__ == '__main__': main()
