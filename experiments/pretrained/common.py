"""What the scripts of the round "pretrained" share: the class split of GTSRB, the data root, portable paths and the
target's ImageFolder tree of symlinks."""
import csv, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = [11, *range(18, 32)]                       # the 15 warning-triangle classes: same shape, colour, background
SOURCE = [c for c in range(43) if c not in TARGET]  # the other 28: the supervised init's classes (class-disjoint)


def data_root(given=None, name='gtsrb35'):
    "The data set folder: `given`, else $SYNTHFG_DATA/NAME, else ../shared/data/NAME beside the repository."
    p = Path(given) if given else Path(os.environ.get('SYNTHFG_DATA', ROOT.parent / 'shared' / 'data')) / name
    if not p.is_dir(): raise SystemExit(f'data root not found: {p} (pass --data-root DIR or set SYNTHFG_DATA)')
    return p.resolve()


def portable(p):
    "A path as committed: relative to the repository root, or to the data folder ('shared/data/...'), never absolute."
    p = Path(p).resolve()
    for base, pre in ((ROOT, ''), (ROOT.parent / 'shared', 'shared/')):
        try: return pre + str(p.relative_to(base.resolve()))
        except ValueError: pass
    return p.name


def gtsrb_samples(root, split):
    "(path, class id) of every image of GTSRB's `split` in the torchvision layout (what torchvision's GTSRB reads)."
    root = Path(root) / 'gtsrb'
    if split == 'train':
        tr = root / 'GTSRB' / 'Training'
        return [(str(p), int(d.name)) for d in sorted(tr.iterdir()) if d.is_dir() for p in sorted(d.glob('*.ppm'))]
    with open(root / 'GT-final_test.csv', newline='') as f:
        return [(str(root / 'GTSRB' / 'Final_Test' / 'Images' / r['Filename']), int(r['ClassId']))
                for r in csv.DictReader(f, delimiter=';')]


def source_split(root, split):
    "The init's images: the 28 source classes, labels remapped to 0..27."
    idx = {c: i for i, c in enumerate(SOURCE)}
    return [(p, idx[y]) for p, y in gtsrb_samples(root, split) if y in idx]


def target_tree(root, out):
    """The target as an ImageFolder tree (`--dataset folder`): OUT/{train,test}/<class id, 2 digits>/<file> -> symlinks
    into GTSRB. Made once (idempotent); returns OUT and the image counts."""
    out = Path(out); counts = {}
    for split in ('train', 'test'):
        n = 0
        for p, y in gtsrb_samples(root, split):
            if y not in TARGET: continue
            d = out / split / f'{y:02d}'; d.mkdir(parents=True, exist_ok=True)
            link = d / Path(p).name
            if not link.exists(): link.symlink_to(p)
            n += 1
        counts[split] = n
    return out, counts
