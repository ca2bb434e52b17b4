"""Docs check without Quarto: process the notebooks with nbdev's `proc_nbs` (as `nbdev_docs` does before Quarto),
render every processed notebook to static HTML with nbconvert, and fail if any notebook does not process or render.

Then, when Chromium is installed (Debian package `chromium`), open the rendered pages headless, check that every
image on them loaded, and save a screenshot of each as `<out>/screenshot_<page>.png`.

Usage: python tools/docs_check.py [--out _site_check] [--pages index 09_figures 10_results] [--require-browser]
"""
import argparse, re, shutil, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--hide-scrollbars',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync']
PROBE = """<script>window.addEventListener('load', () => { const im = [...document.images];
  const bad = im.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  document.title = 'IMAGES ' + im.length + ' BROKEN ' + bad; });</script>"""

def browser_check(html, chromium, out):
    "Open `html` in headless Chromium: return (n_images, n_broken) from the page itself, and save a screenshot."
    probe = html.with_name(f'_probe_{html.name}')   # beside the page, so that its relative image links resolve
    probe.write_text(html.read_text().replace('</body>', PROBE + '</body>'))
    with tempfile.TemporaryDirectory() as d:
        flags = CHROMIUM_FLAGS + [f'--user-data-dir={d}/profile', '--virtual-time-budget=5000']
        try: dom = subprocess.run([chromium, *flags, '--dump-dom', probe.as_uri()], capture_output=True, text=True, timeout=120).stdout
        finally: probe.unlink()
        shot = out/f'screenshot_{html.stem}.png'
        subprocess.run([chromium, *flags, '--window-size=1280,2400', f'--screenshot={shot}', html.as_uri()],
                       capture_output=True, text=True, timeout=120)
    m = re.search(r'<title>IMAGES (\d+) BROKEN (\d+)</title>', dom)
    if not m: return None, None, shot
    return int(m.group(1)), int(m.group(2)), shot

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--out', default='_site_check', help='folder for the rendered HTML (relative to the repo root)')
    ap.add_argument('--pages', nargs='*', default=['index', '09_figures', '10_results'], help='pages to open in the browser (those that exist)')
    ap.add_argument('--min-images', nargs='*', default=['index=1', '09_figures=4', '10_results=1'], help='PAGE=N: fail if fewer images load')
    ap.add_argument('--require-browser', action='store_true', help='fail if Chromium is not installed (CI sets this)')
    a = ap.parse_args()
    import warnings
    from nbdev.processors import FilterDefaults
    import nbdev.serve_drv
    # What nbdev's proc_nbs does to each notebook (its processors: show_doc, hidden cells, directives), one notebook at a
    # time so that a failure names its notebook. The processors execute every cell holding an import (to render
    # show_doc): a cell mixing imports with other code would run heavy code at docs time (nbdev's FAQ), so that
    # warning is an error here.
    warnings.filterwarnings('error', message='Found cells containing imports and other code')
    proc = ROOT/'_proc'
    if proc.exists(): shutil.rmtree(proc)
    proc.mkdir()
    failed = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        try: nbdev.serve_drv.main((nb, proc/nb.name, FilterDefaults))
        except Exception as e: failed.append(f'{nb.name}: proc_nbs processing failed: {type(e).__name__}: {e}')
    nbs = sorted((ROOT/'nbs').glob('*.ipynb'))
    out = ROOT/a.out
    if out.exists(): shutil.rmtree(out)
    out.mkdir(parents=True)
    if (ROOT/'nbs'/'figures').is_dir(): shutil.copytree(ROOT/'nbs'/'figures', out/'figures')   # images the pages link to
    for nb in nbs:
        p = proc/nb.name
        if not p.exists(): continue
        r = subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'html', '--output-dir', str(out), str(p)],
                           capture_output=True, text=True)
        html = out/(nb.stem + '.html')
        if r.returncode or not html.exists() or html.stat().st_size < 1000:
            failed.append(f'{nb.name}: nbconvert failed\n{r.stderr[-2000:]}')
        else: print(f'docs ok   {nb.name} -> {html.relative_to(ROOT)} ({html.stat().st_size//1024} KiB)')
    chromium = next((b for b in map(shutil.which, ('chromium', 'chromium-browser', 'google-chrome')) if b), None)
    if chromium is None:
        msg = 'Chromium not found (Debian: apt-get install chromium): browser check skipped'
        if a.require_browser: failed.append(msg)
        else: print(f'docs note {msg}')
    else:
        for page in a.pages:
            html = out/f'{page}.html'
            if not html.exists(): continue
            n, bad, shot = browser_check(html, chromium, out)
            ok_shot = shot.exists() and shot.stat().st_size > 10_000
            need = int(dict(m.split('=') for m in a.min_images).get(page, 0))
            if n is None or bad or not ok_shot or n < need:
                failed.append(f'{page}.html in Chromium: images={n} (at least {need}) broken={bad} screenshot={"ok" if ok_shot else "missing"}')
            else: print(f'browser   {page}.html loads in headless Chromium, {n} images all loaded, screenshot {shot.relative_to(ROOT)}')
    for f in failed: print(f'docs FAIL {f}')
    print(f'docs: {len(nbs)-len(failed)} of {len(nbs)} notebooks processed and rendered')
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
