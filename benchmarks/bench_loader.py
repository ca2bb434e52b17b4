"""Loader benchmark: images/s of the two data pipelines that feed a training step its 3 views per image.

  - PIL (`data_pipeline='pil'`): `SSLDataset` (JPEG decode + plain view + two MoCo v2 views with PIL/torchvision) in
    DataLoader worker processes, as the trainer runs it; measured with 1 and 2 workers (--workers), reported per worker.
  - tensor (`data_pipeline='tensor'`): `synthfg.fastdata.DeviceViews` on a uint8 cache decoded once; the views of a
    batch made with batched tensor operations in this process with `--threads` torch threads (default 1: per core).
    The one-off decode of the cache is timed separately.

The PIL and tensor paths are also timed back to back in this process, round after round (`interleaved`), so that
their ratio does not depend on how busy a shared machine was during each separate measurement.
From the per-core rates: CPU cores needed per 1,000 images/s of GPU step rate (1000 / images/s per core), and, with
--step-rates (images/s of measured training steps, e.g. from benchmarks/results/gpu_check.json), the cores each
method needs. Default data: the real flowers12 JPEGs (224 x 224, ImageFolder) under ../shared/data; --root for others.

    OMP_NUM_THREADS=1 python benchmarks/bench_loader.py --json benchmarks/results/loader.json
    OMP_NUM_THREADS=1 python benchmarks/bench_loader.py --compile --json benchmarks/results/loader_compiled.json
    python benchmarks/bench_loader.py --device cuda --threads 16        # the tensor path on a GPU (gpu_check.py does this)
"""
import argparse, datetime, json, os, platform, sys, time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from synthfg.data import SSLDataset, data_root, make_dataset
from synthfg.fastdata import DeviceViews
from synthfg.perf import device_name
sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthfg.perf import sync

def pil_rate(ds, workers, batch_size=32, n_images=256, warmup_batches=1):
    "Images/s of DataLoader(`ds`, `workers`) over `n_images` after `warmup_batches` (worker start-up not timed)."
    n = min(len(ds), n_images + warmup_batches * batch_size)
    dl = DataLoader(Subset(ds, range(n)), batch_size=batch_size, num_workers=workers, shuffle=False,
                    persistent_workers=False, prefetch_factor=4 if workers else None)
    it, seen = iter(dl), 0
    for _ in range(warmup_batches): next(it)
    t = time.perf_counter()
    for b in it: seen += len(b[0])
    return seen / (time.perf_counter() - t)

def tensor_rate(views, batch_size=32, n_images=256, seed=0, warmup_batches=1):
    "Images/s of `views.batch` (3 views per image) over `n_images` after `warmup_batches`, synchronising a GPU."
    dev = views.device
    g = torch.Generator(device=dev).manual_seed(seed)
    idx = lambda k: [(k * batch_size + i) % len(views) for i in range(batch_size)]
    for k in range(warmup_batches): views.batch(idx(k), g)
    sync(dev); t = time.perf_counter(); seen = 0
    for k in range(max(1, n_images // batch_size)):
        views.batch(idx(k), g); seen += batch_size
    sync(dev)
    return seen / (time.perf_counter() - t)

INTERLEAVED_N = 32                     # images per round of `interleaved`

def interleaved(ds, views, rounds=5, n=INTERLEAVED_N, seed=0):
    "Per-round (PIL images/s, tensor images/s), the two timed back to back in this process with one torch thread each round."
    g, out = torch.Generator(device=views.device).manual_seed(seed), []
    for r in range(rounds):
        idx = [(r * n + i) % len(ds) for i in range(n)]
        t = time.perf_counter()
        for i in idx: ds[i]
        pil = n / (time.perf_counter() - t)
        t = time.perf_counter(); views.batch(idx, g); tens = n / (time.perf_counter() - t)
        out.append((pil, tens))
    return out

def cores_per_1000(per_core): return 1000.0 / per_core

def run(root, img_size=224, workers=(1, 2), n_images=256, batch_size=32, device='cpu', threads=1, cache=None,
        step_rates=None, skip_pil=False, compile=False):
    "All measurements as a JSON-ready dict."
    load0 = os.getloadavg()
    base = make_dataset('folder', root, 'train')
    ds = SSLDataset(base, img_size)
    out = dict(config=dict(root=str(root), img_size=img_size, images=len(base), n_images=n_images, batch_size=batch_size,
                           workers=list(workers), device=str(device), device_name=device_name(device), threads=threads,
                           cpu_count=os.cpu_count(), torch=torch.__version__, python=platform.python_version(),
                           omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
                           date=datetime.datetime.now().isoformat(timespec='seconds')), pil=[], tensor=None)
    if not skip_pil:
        for w in workers:
            r = pil_rate(ds, w, batch_size, n_images)
            out['pil'].append(dict(workers=w, img_s=r, img_s_per_worker=r / max(w, 1)))
            print(f"PIL pipeline, {w} worker(s): {r:.1f} images/s = {r / max(w, 1):.1f} per worker", flush=True)
    prev = torch.get_num_threads(); torch.set_num_threads(threads)
    try:
        t = time.perf_counter()
        views = DeviceViews(ds, img_size, device, cache=cache, compile=compile)
        decode_s = time.perf_counter() - t
        r = tensor_rate(views, batch_size, n_images)
    finally: torch.set_num_threads(prev)
    per_core = r / threads if torch.device(device).type == 'cpu' else None
    if per_core and threads == 1 and not skip_pil:        # the ratio measured back to back, robust to a changing load
        prev = torch.get_num_threads(); torch.set_num_threads(1)
        try: rounds = interleaved(ds, views)
        finally: torch.set_num_threads(prev)
        ratios = sorted(t / p for p, t in rounds)
        out['interleaved'] = dict(rounds=[dict(pil_img_s=p, tensor_img_s=t) for p, t in rounds], median_ratio=ratios[len(ratios) // 2])
        print(f"interleaved in one process ({len(rounds)} rounds of {INTERLEAVED_N} images): tensor / PIL = "
              + ', '.join(f'{x:.2f}' for x in ratios) + f"; median {out['interleaved']['median_ratio']:.2f}", flush=True)
    out['tensor'] = dict(img_s=r, threads=threads, img_s_per_core=per_core, decode_s=decode_s, compile=compile,
                         cache_mib=views.images.numel() / 2**20, cache_shape=list(views.images.shape))
    print(f"tensor pipeline on {device} ({threads} thread(s)): {r:.1f} images/s"
          + (f" = {per_core:.1f} per core" if per_core else '') + f"; cache decoded in {decode_s:.1f} s "
          f"({out['tensor']['cache_mib']:.0f} MiB)", flush=True)
    summ = {}
    if out['pil']:
        pil_w = max(p['img_s_per_worker'] for p in out['pil'])   # the best per-worker rate measured
        summ['pil_img_s_per_core'] = pil_w
        summ['pil_cores_per_1000_img_s'] = cores_per_1000(pil_w)
    if per_core:
        summ['tensor_img_s_per_core'] = per_core
        summ['tensor_cores_per_1000_img_s'] = cores_per_1000(per_core)
        if out['pil']:
            summ['speedup_per_core'] = per_core / summ['pil_img_s_per_core']
            if 'interleaved' in out: summ['speedup_interleaved'] = out['interleaved']['median_ratio']
            best = summ.get('speedup_interleaved', summ['speedup_per_core'])
            summ['target_speedup'] = 3.0; summ['target_met'] = best >= 3.0
    if step_rates:
        summ['cores_for_step_rates'] = {m: {k: v * s / 1000 for k, v in summ.items() if k.endswith('cores_per_1000_img_s')}
                                        for m, s in step_rates.items()}
    out['summary'] = summ
    out['config'].update(loadavg_start=load0, loadavg_end=os.getloadavg())
    return out

def print_table(d):
    s = d['summary']
    print('\n| pipeline | images/s per core | CPU cores per 1,000 images/s |\n|---|---:|---:|')
    if 'pil_img_s_per_core' in s: print(f"| PIL (DataLoader worker) | {s['pil_img_s_per_core']:.1f} | {s['pil_cores_per_1000_img_s']:.1f} |")
    if 'tensor_img_s_per_core' in s: print(f"| tensor cache (DeviceViews, CPU) | {s['tensor_img_s_per_core']:.1f} | {s['tensor_cores_per_1000_img_s']:.1f} |")
    if 'speedup_per_core' in s:
        print(f"\ntensor / PIL images/s per core = {s['speedup_per_core']:.2f} (separate runs), "
              f"{s.get('speedup_interleaved', float('nan')):.2f} (interleaved median) (target >= 3: {'met' if s['target_met'] else 'NOT met'})")
    for m, c in s.get('cores_for_step_rates', {}).items():
        print(f"{m}: " + ', '.join(f"{k.split('_')[0]} {v:.1f} cores" for k, v in c.items()))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--root', default=None, help='ImageFolder root with train/ (and test/) [../shared/data/flowers12]')
    ap.add_argument('--img-size', type=int, default=224)
    ap.add_argument('--workers', type=int, nargs='*', default=[1, 2], help='DataLoader worker counts of the PIL path')
    ap.add_argument('--images', type=int, default=256, help='images timed per measurement')
    ap.add_argument('--batch-size', type=int, default=32)
    ap.add_argument('--device', default='cpu', help='device of the tensor path')
    ap.add_argument('--threads', type=int, default=1, help='torch threads of the tensor path (1: per core)')
    ap.add_argument('--cache', default=None, help='tensor cache file (read if it exists, else written)')
    ap.add_argument('--step-rates', default=None, help='JSON mapping method -> training images/s, for the cores each needs')
    ap.add_argument('--skip-pil', action='store_true')
    ap.add_argument('--compile', action='store_true', help="tensor path: DeviceViews(compile=True), the colour ops compiled (CPU)")
    ap.add_argument('--note', default=None, help='free text stored in the JSON (e.g. what else ran on the machine)')
    ap.add_argument('--json', default=None, help='also write the results to this JSON file')
    a = ap.parse_args(argv)
    root = Path(a.root) if a.root else data_root()/'flowers12'
    if not (root/'train').is_dir(): sys.exit(f"bench_loader: {root/'train'} not found (an ImageFolder root with train/<class>/*.jpg; --root)")
    if a.images < a.batch_size: sys.exit(f"bench_loader: --images {a.images} must be >= --batch-size {a.batch_size}")
    d = run(root, a.img_size, a.workers, a.images, a.batch_size, a.device, a.threads, a.cache,
            json.loads(a.step_rates) if a.step_rates else None, a.skip_pil, a.compile)
    if a.note: d['config']['note'] = a.note
    print_table(d)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(d, indent=1)); print(f'wrote {a.json}')
    return d

if __name__ == '__main__': main()
