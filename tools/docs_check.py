"""Docs check without Quarto: process the notebooks with nbdev's `proc_nbs` (as `nbdev_docs` does before Quarto),
render every processed notebook to static HTML with nbconvert, and fail if any notebook does not process or render.

Usage: python tools/docs_check.py [--out _site_check]
"""
import argparse, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--out', default='_site_check', help='folder for the rendered HTML (relative to the repo root)')
    a = ap.parse_args()
    from nbdev.serve import proc_nbs
    proc = ROOT/'_proc'
    if proc.exists(): shutil.rmtree(proc)
    proc_nbs(path=str(ROOT/'nbs'), n_workers=0, force=True)
    nbs = sorted((ROOT/'nbs').glob('*.ipynb'))
    out = ROOT/a.out
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    failed = []
    for nb in nbs:
        p = proc/nb.name
        if not p.exists(): failed.append(f'{nb.name}: not processed by proc_nbs'); continue
        r = subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'html', '--output-dir', str(out), str(p)],
                           capture_output=True, text=True)
        html = out/(nb.stem + '.html')
        if r.returncode or not html.exists() or html.stat().st_size < 1000:
            failed.append(f'{nb.name}: nbconvert failed\n{r.stderr[-2000:]}')
        else: print(f'docs ok   {nb.name} -> {html.relative_to(ROOT)} ({html.stat().st_size//1024} KiB)')
    for f in failed: print(f'docs FAIL {f}')
    print(f'docs: {len(nbs)-len(failed)} of {len(nbs)} notebooks processed and rendered')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
