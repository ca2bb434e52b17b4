"""What the scripts of the round "pretrained" share: the class split of GTSRB, the data root, portable paths and the
target's ImageFolder tree of symlinks."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'experiments'))   # tables.py
TARGET = [11, *range(18, 32)]                       # the 15 warning-triangle classes: same shape, colour, background
SOURCE = [c for c in range(43) if c not in TARGET]  # the other 28: the supervised init's classes (class-disjoint)


def data_root(given=None, name='gtsrb35'):
    "The data set folder: `given`, else NAME under `synthfg.data.data_root()` ($SYNTHFG_DATA, else ../shared/data)."
    from synthfg.data import data_root as shared_root
    p = Path(given) if given else shared_root() / name
    if not p.is_dir(): raise SystemExit(f'data root not found: {p} (pass --data-root DIR or set SYNTHFG_DATA)')
    return p.resolve()


def portable(p):
    "A path as committed (experiments/README.md): relative to the repository root (`tables.portable_path`), never absolute."
    from tables import portable_path
    return portable_path(str(Path(p).resolve()), ROOT)


def gtsrb_samples(root, split):
    "(path, class id) of every image of GTSRB's `split`, read by `synthfg.data.gtsrb` (torchvision's layout)."
    from synthfg.data import gtsrb
    return [(str(p), int(y)) for p, y in gtsrb(str(root), split).samples]


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


def weights_sha256(sd):
    "The identity of a state dict: sha256 over its tensors' names, shapes and bytes, in key order."
    import hashlib
    h = hashlib.sha256()
    for k, v in sd.items(): h.update(k.encode()); h.update(str(tuple(v.shape)).encode()); h.update(v.cpu().numpy().tobytes())
    return h.hexdigest()


G4_COS, G4_GAP = 0.98, 0.05     # gate G4: the pair differs (cos(z_hat, z_hat_p) <= G4_COS and pair gap > G4_GAP)


def g4(final):
    "Gate G4 on a run's final_metrics.json: (pass?, cos, gap), the means of its last epoch."
    e = final.get('train_last_epoch', {}); cos, gap = e.get('cos_zp'), e.get('pair_gap')
    return cos is not None and gap is not None and cos <= G4_COS and gap > G4_GAP, cos, gap


def method_arm(schedule_dir):
    """The method arm of the comparison, by gate G4 on seed 0 alone (README.md, pre-registered before `ours_var` seed 0
    ended): 'ours' (N(0, x) with x a std, Sec. 3.4) if it passes G4, else 'ours_var' (x a variance) if that passes,
    else 'ours'. `schedule_dir` holds the schedule's committed summaries (<arm>_s0/final_metrics.json)."""
    import json
    def passes(arm):
        f = Path(schedule_dir) / f'{arm}_s0' / 'final_metrics.json'
        return f.exists() and g4(json.loads(f.read_text()))[0]
    return 'ours' if passes('ours') or not passes('ours_var') else 'ours_var'


def cpu_id():
    "This machine's CPU as /proc/cpuinfo names it (model name, family, model) and its AVX-512/AMX flags, or None."
    try: info = Path('/proc/cpuinfo').read_text().split('\n\n')[0]
    except OSError: return None
    kv = dict((k.strip(), v.strip()) for k, _, v in (l.partition(':') for l in info.splitlines()) if _)
    isa = sorted(f for f in kv.get('flags', '').split() if f.startswith(('avx512f', 'avx512_fp16', 'amx', 'avx2')))
    return dict(model_name=kv.get('model name'), family=kv.get('cpu family'), model=kv.get('model'), isa_flags=isa)
