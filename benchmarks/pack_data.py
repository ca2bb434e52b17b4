"""Pack a real data subset that travels inside the checkout to a GPU machine (for benchmarks/gpu_check.py).

From the flowers12 ImageFolder (../shared/data/flowers12: 12 species, 224 x 224 JPEGs) it writes, under packed/
(git-ignored):
  packed/flowers12/train/<species>/*.jpg   the first --train-per-class images of each species (JPEG bytes copied)
  packed/flowers12/test/<species>/*.jpg    the first --test-per-class
  packed/flowers12_train_<img_size>px.pt   the tensor cache of that train split (synthfg.fastdata.save_cache: uint8
                                           (N, 3, S, S), sizes, labels), S = the cache side for --img-size
  packed/MANIFEST.json                     what was packed, sizes, and the command
and refuses to write more than --max-mib (64 MiB) in all. The defaults (30 + 8 per class at 224 px) come to ~60 MiB.
The device tool copies ignored paths only when named: run gpu_check with carry=["packed"].

    python benchmarks/pack_data.py                    # default source, 30 train + 8 test images per class
    python benchmarks/pack_data.py --root DIR --out packed --train-per-class 20
"""
import argparse, json, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from synthfg.data import data_root, image_folder
from synthfg.fastdata import cache_size, decode_images, save_cache

def pick(folder, per_class):
    "Sorted first `per_class` image files of each class folder of `folder`."
    out = {}
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(f for f in d.iterdir() if f.is_file())
        if len(files) < per_class:
            raise ValueError(f"pack_data: {d} has {len(files)} images, fewer than the {per_class} per class asked for")
        out[d.name] = files[:per_class]
    if not out: raise ValueError(f"pack_data: no class folders in {folder}")
    return out

def size_of(paths): return sum(p.stat().st_size for p in paths)

def pack(root, out, img_size=224, train_per_class=30, test_per_class=8, max_mib=64.0):
    "Write the pack under `out`; returns the manifest dict. Nothing is written if it would exceed `max_mib`."
    root, out = Path(root), Path(out)
    for s in ('train', 'test'):
        if not (root/s).is_dir(): raise FileNotFoundError(f"pack_data: {root/s} not found (an ImageFolder root with train/ and test/)")
    sel = {'train': pick(root/'train', train_per_class), 'test': pick(root/'test', test_per_class)}
    jpeg_bytes = sum(size_of(fs) for s in sel.values() for fs in s.values())
    n_train = sum(len(v) for v in sel['train'].values())
    S = cache_size(img_size)
    if out.exists(): shutil.rmtree(out/'flowers12', ignore_errors=True)
    for split, classes in sel.items():
        for c, files in classes.items():
            (out/'flowers12'/split/c).mkdir(parents=True, exist_ok=True)
            for f in files: shutil.copyfile(f, out/'flowers12'/split/c/f.name)
    ds = image_folder(out/'flowers12', 'train')
    images, hw, labels = decode_images(ds, S)
    est = jpeg_bytes + images.numel() + hw.numel() * 4 + labels.numel() * 8
    if est > max_mib * 2**20:
        shutil.rmtree(out/'flowers12', ignore_errors=True)
        raise ValueError(f"pack_data: the pack would be {est / 2**20:.1f} MiB > --max-mib {max_mib} "
                         f"({n_train} train images cached at {images.shape[-1]} px): pack fewer images per class")
    cache = save_cache(out/f'flowers12_train_{img_size}px.pt', images, hw, labels, repr(ds))
    total = size_of([p for p in out.rglob('*') if p.is_file() and p.name != 'MANIFEST.json'])
    man = dict(source=str(root), img_size=img_size, cache=cache.name, cache_shape=list(images.shape),
               train_images=n_train, test_images=sum(len(v) for v in sel['test'].values()), classes=list(sel['train']),
               train_per_class=train_per_class, test_per_class=test_per_class, total_mib=total / 2**20,
               command=' '.join(['python', 'benchmarks/pack_data.py'] + sys.argv[1:]))
    (out/'MANIFEST.json').write_text(json.dumps(man, indent=1))
    return man

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--root', default=None, help='ImageFolder root with train/ and test/ [../shared/data/flowers12]')
    ap.add_argument('--out', default=str(ROOT/'packed'), help='output folder (git-ignored /packed/ by default)')
    ap.add_argument('--img-size', type=int, default=224)
    ap.add_argument('--train-per-class', type=int, default=30)
    ap.add_argument('--test-per-class', type=int, default=8)
    ap.add_argument('--max-mib', type=float, default=64.0)
    a = ap.parse_args(argv)
    try: man = pack(a.root or data_root()/'flowers12', a.out, a.img_size, a.train_per_class, a.test_per_class, a.max_mib)
    except (ValueError, FileNotFoundError) as e: sys.exit(str(e))
    print(f"packed {man['train_images']} train + {man['test_images']} test images of {len(man['classes'])} classes, "
          f"cache {man['cache']} {tuple(man['cache_shape'])}: {man['total_mib']:.1f} MiB in {a.out}")

if __name__ == '__main__': main()
