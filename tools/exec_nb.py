"""Re-execute notebooks in place, keeping the committed outputs of cells flagged `slow`/`gpu` (settings.ini tst_flags)
unless those flags are forced: for editing a notebook whose slow cells took minutes of real training to produce.

Usage: python tools/exec_nb.py nbs/08_evaluation.ipynb [...] [--flags slow]
Then `nbdev_clean` and `nbdev_export` as usual. Cells are run with execnb (what nbdev_test uses), in the notebook's folder.
"""
import argparse, os, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from run_tests import skip_flags

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='+'); ap.add_argument('--flags', default='', help='tst_flags to run too, e.g. "slow"')
    a = ap.parse_args()
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    from fastcore.xtras import working_directory
    skip = set(skip_flags()) - set(a.flags.split())
    for fn in map(Path, a.notebooks):
        nb = read_nb(fn)
        def keep(cell):
            if cell.cell_type != 'code': return True
            direc = {l[3:].split()[0] for l in cell.source.splitlines() if l.startswith('#| ') and len(l.split()) > 1}
            if direc & skip: return True
            cell.outputs = []        # outputs must come from this run
            return False
        sh = CaptureShell(fn)
        with working_directory(fn.parent): sh.run_all(nb, exc_stop=True, preproc=keep)
        if sh.exc: sys.exit(f'{fn}: a cell raised {sh.exc!r}')
        write_nb(nb, fn)
        print(f'executed {fn} (kept the outputs of cells flagged {" ".join(sorted(skip)) or "-"})')

if __name__ == '__main__': main()
