"""One prepared check for a machine with one GPU (H100/H200 class), in under 8 minutes; `--dry-run` runs the same code
on the CPU at tiny size (ResNet-18, 32 px, batch 8, 2 steps) in CI.

Sections, each recorded in the JSON (benchmarks/results/gpu_check.json) that nbs/11_performance.ipynb renders:
  1. cells: `nbdev_test --flags gpu` on every notebook that has `#| gpu` cells (the CUDA-only behaviours: CUDA RNG
     state in checkpoints, channels_last, fp16 GradScaler, compile on CUDA). Dry run: listed, not run (no CUDA).
  2. steps: every registered base (MoCo v2, SimSiam, ...) plain and + ours (bench_step.bench_method) at ResNet-50, 224 px, batch 128, bf16 autocast,
     channels_last, eager and `torch.compile`d: step time, images/s, FLOPs of the step (torch.utils.flop_counter),
     TFLOP/s and model FLOP utilisation against the device's dense bf16 peak (synthfg.perf.PEAK_TFLOPS), peak memory (CUDA max
     allocated). Dry run: fp32 (bf16 convolutions are emulated, ~20x slower, on a CPU without AMX) and eager only
     (compiling even the tiny step takes minutes on a CPU), unless --compile.
  3. loader: images/s of the PIL pipeline (DataLoader workers) and of the tensor pipeline (synthfg.fastdata on the
     GPU) on the packed real subset, and whether each keeps up with every measured step rate.
  4. runs: a short real training run of MoCo v2 and of MoCo v2 + ours (`synthfg.trainer.train`, data_pipeline
     'tensor') on the packed subset: every logged loss finite, and the loss of the last steps below that of the first.
  5. syncs: every registered base plain and + ours, a few training steps (`synthfg.trainer.step_syncs`: `train_step`
     with the run's device-side check, the sizes and amp of section 2 at batch <= 32, a memory bank that is not ready,
     then ready and filling, then full) under `torch.cuda.set_sync_debug_mode('error')`: no step may synchronise the
     host with the GPU. Dry run: the same steps on the CPU with `synthfg.testing.host_syncs` (host reads of tensors).
The script exits non-zero if a hard check fails (a gpu cell, a step that errors, a non-finite loss, a host sync in a step); targets (MoCo v2
+ ours >= 35 % MFU, the loader never the bottleneck, falling losses on the device) are reported, not enforced.
A time budget (--budget-s, default 420 s of the 480) skips what no longer fits, and says so in the JSON; the compiled
step rows come last (compiling each method takes a minute or more), so the budget cuts those first.

Data: `python benchmarks/pack_data.py` here first (writes the git-ignored packed/, ~60 MiB); the device tool copies
ignored paths only when named, so run with carry=["packed"]:
    python benchmarks/gpu_check.py                      # on the GPU machine
    python benchmarks/gpu_check.py --dry-run            # CPU, tiny, < 1 minute (tools/test.sh runs it)
"""
import argparse, dataclasses, datetime, json, math, os, platform, statistics, subprocess, sys, tempfile, time, traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT/'benchmarks')]
import torch

from bench_step import METHODS, bench_method
from bench_loader import pil_rate, tensor_rate
from synthfg.data import SSLDataset, SyntheticFG, make_dataset
from synthfg.fastdata import DeviceViews
from synthfg.perf import device_name, peak_tflops, split_method
from synthfg.trainer import Config, step_syncs, train

FULL = dict(device='cuda', arch='resnet50', img_size=224, batch_size=128, amp='bf16', K=65536, D=5632, steps=10, warmup=3,
            run_batch=64, run_epochs=10, run_decoder_epochs=1, workers=8)
DRY = dict(device='cpu', arch='resnet18', img_size=32, batch_size=8, amp='none', K=64, D=16, steps=2, warmup=1,
           run_batch=8, run_epochs=1, run_decoder_epochs=1, workers=1)

class Budget:
    "Seconds left of the run's budget; `fits(s)` whether `s` more seconds fit."
    def __init__(self, seconds): self.end = time.time() + seconds
    def left(self): return self.end - time.time()
    def fits(self, s): return self.left() > s

# ---- 1. gpu cells
def gpu_notebooks():
    "Notebooks under nbs/ with at least one `#| gpu` cell."
    out = []
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        if any(c['cell_type'] == 'code' and any(l.strip() == '#| gpu' for l in ''.join(c['source']).splitlines()) for c in cells):
            out.append(nb)
    return out

def run_cells(dry, budget, timeout=150):
    rows = []
    for nb in gpu_notebooks():
        if dry: rows.append(dict(notebook=nb.name, ok=None, skipped='dry run (no CUDA)')); continue
        if not budget.fits(60): rows.append(dict(notebook=nb.name, ok=None, skipped='time budget')); continue
        t = time.time()
        try:
            p = subprocess.run(['nbdev_test', '--flags', 'gpu', '--path', str(nb)], cwd=ROOT, capture_output=True, text=True,
                               timeout=min(timeout, budget.left() - 30), env=dict(os.environ, OMP_NUM_THREADS='4'))
            ok, tail = p.returncode == 0, (p.stdout + p.stderr)[-1500:]
        except subprocess.TimeoutExpired: ok, tail = False, 'timed out'
        rows.append(dict(notebook=nb.name, ok=ok, time_s=time.time() - t, **({} if ok else {'tail': tail})))
        print(f"gpu cells {nb.name}: {'ok' if ok else 'FAILED'} ({time.time() - t:.0f} s)", flush=True)
    return rows

# ---- 2. step timing
def step_config(name, P, device):
    "The Config of step row `name` (a key of bench_step.METHODS): the sizes and amp of P, standard stem, channels_last."
    method, synth = split_method(name)
    return Config(method=method, synth=synth, arch=P['arch'], img_size=P['img_size'], batch_size=P['batch_size'], K=P['K'],
                  D=P['D'], device=str(device), small_stem=False, amp=P['amp'], dim=None, channels_last=True)

def run_steps(P, device, budget, modes, methods, eager_rows=()):
    "Rows of the step table for `modes` (False: eager, True: compiled); FLOPs of compiled rows from `eager_rows`."
    rows, peak = [], peak_tflops(device_name(device)) if device.type == 'cuda' else None
    for compiled in modes:
        for name in methods:
            need = 150 if compiled and device.type == 'cuda' else 20
            if not budget.fits(need):
                rows.append(dict(method=name, compiled=compiled, skipped='time budget')); continue
            try: r = bench_method(name, step_config(name, P, device), device, P['steps'], P['warmup'], compiled, timers=False)
            except Exception as e:
                r = dict(method=name, compiled=compiled, error=f"{type(e).__name__}: {str(e)[:500]}", finite=False)
                traceback.print_exc()
            if 'error' not in r:
                fl = r.get('flops') or next((x.get('flops') for x in [*eager_rows, *rows] if x['method'] == name and x.get('flops')), None)
                if fl:
                    r['flops_per_step'] = fl; r['tflops_s'] = fl / r['step_s'] / 1e12
                    if peak: r['mfu'] = r['tflops_s'] / peak
                print(f"{name:<13} {'compiled' if compiled else 'eager':<8} {r['step_s'] * 1e3:8.1f} ms/step {r['img_s']:8.1f} img/s"
                      + (f"  {r['tflops_s']:.1f} TFLOP/s" if 'tflops_s' in r else '') + (f"  MFU {100 * r['mfu']:.1f} %" if 'mfu' in r else '')
                      + f"  peak {r['peak_mem_bytes'] / 2**30:.2f} GiB  first step {r['first_step_s']:.1f} s", flush=True)
            rows.append(r)
    return rows

# ---- 5. host syncs in the step
def run_syncs(P, device, budget, methods, steps=5):
    "Rows: the host syncs of `steps` training steps of each method after one warm-up step (`synthfg.trainer.step_syncs`)."
    rows = []
    for name in methods:
        if not budget.fits(30): rows.append(dict(method=name, ok=None, skipped='time budget')); continue
        b, t = min(32, P['batch_size']), time.time()
        cfg = dataclasses.replace(step_config(name, P, device), batch_size=b, D=4 * b, bank_min_fill=2 * b, kappa=1.0)
        try:
            r = step_syncs(cfg, device, steps=steps)
            row = dict(method=name, ok=not r['syncs'], syncs=r['syncs'][:5], bank_filled=r['filled'], time_s=time.time() - t)
        except Exception as e:
            row = dict(method=name, ok=False, error=f"{type(e).__name__}: {str(e)[:500]}"); traceback.print_exc()
        print(f"syncs {name:<13} {'none' if row['ok'] else 'FOUND: ' + '; '.join(row.get('syncs') or [row.get('error', '')])}"
              f" ({steps} steps, bank {row.get('bank_filled')})", flush=True)
        rows.append(row)
    return rows

# ---- 3. loader
def data_folder(pack, tmp, dry=False):
    "(root, kind): the packed real subset if present (not in a dry run), else a small synthetic ImageFolder written to `tmp`."
    if pack and not dry and (Path(pack)/'flowers12'/'train').is_dir(): return Path(pack)/'flowers12', 'packed flowers12 subset'
    syn = SyntheticFG(n_classes=4, n_per_class=8, img_size=64)
    for split in ('train', 'test'):
        for i in range(len(syn)):
            d = Path(tmp)/'syn'/split/syn.classes[syn.targets[i]]; d.mkdir(parents=True, exist_ok=True)
            syn[i][0].save(d/f'{i}.jpg', quality=90)
    return Path(tmp)/'syn', 'synthetic JPEGs (no pack found)'

def run_loader(root, P, device, pack, budget):
    ds = SSLDataset(make_dataset('folder', root, 'train'), P['img_size'])
    n = min(len(ds) - P['batch_size'], 4 * P['batch_size']) if len(ds) > 2 * P['batch_size'] else P['batch_size']
    out = dict(root=str(root), images=len(ds), pil=[], tensor=None)
    for w in sorted({1, P['workers']}):
        if not budget.fits(30): break
        r = pil_rate(ds, w, min(32, P['batch_size']), n)
        out['pil'].append(dict(workers=w, img_s=r, img_s_per_worker=r / w)); print(f"PIL loader, {w} worker(s): {r:.0f} img/s", flush=True)
    cache = next(Path(pack).glob(f"flowers12_train_{P['img_size']}px.pt"), None) if pack and Path(pack).is_dir() else None
    t = time.perf_counter()
    try: views = DeviceViews(ds, P['img_size'], device, cache=cache)
    except ValueError as e:                   # a cache of other images (DeviceViews checks the labels): decode instead
        print(f"tensor cache not used ({e})", flush=True); cache = None; views = DeviceViews(ds, P['img_size'], device)
    load_s = time.perf_counter() - t
    r = tensor_rate(views, P['batch_size'], n if device.type == 'cpu' else 20 * P['batch_size'])
    out['tensor'] = dict(img_s=r, device=str(device), cache=str(cache) if cache else None, build_s=load_s)
    print(f"tensor loader on {device}: {r:.0f} img/s (cache {'loaded from ' + cache.name if cache else 'decoded'} in {load_s:.1f} s)", flush=True)
    return out

# ---- 4. short real runs
def run_stats(recs, fill_steps):
    "Finite terms; mean of each of loss, L_C, L_R over the first and last quarter of the joint steps after the MoCo queue filled."
    tr = [r for r in recs if r.get('kind') == 'train']
    allf = [v for r in tr for k, v in r.items() if (k == 'loss' or k.startswith('l_')) and isinstance(v, float)]
    joint = [r for r in tr if r.get('stage') == 2]
    rest, out = joint[fill_steps + 1:], dict(steps=len(tr), stage2_steps=len(joint), losses=[r['loss'] for r in joint])
    out['finite'] = bool(allf) and all(map(math.isfinite, allf))
    k = len(rest) // 4
    for term in ('loss', 'l_c', 'l_r'):
        vals = [r[term] for r in rest if term in r]
        ok = k > 0 and len(vals) == len(rest)
        first, last = (statistics.mean(vals[:k]), statistics.mean(vals[-k:])) if ok else (None, None)
        out.update({f'{term}_first': first, f'{term}_last': last, f'{term}_falling': (last < first) if ok else None})
    return out

def run_training(root, P, device, tmp, budget, dry):
    res = {}
    for name in ('mocov2', 'mocov2+ours'):
        if not budget.fits(40): res[name] = dict(skipped='time budget'); continue
        method, synth = split_method(name)
        b = P['run_batch']
        cfg = Config(dataset='folder', data_root=str(root), method=method, synth=synth, arch=P['arch'], img_size=P['img_size'],
                     small_stem=False, batch_size=b, K=5 * b, D=3 * b, epochs=P['run_epochs'], decoder_epochs=P['run_decoder_epochs'],
                     amp=P['amp'], data_pipeline='tensor', device=str(device), workers=0, eval_every=0, log_every=1,
                     progress=False, out=str(Path(tmp)/f'run_{name}'))
        t = time.time()
        try: train(cfg)
        except Exception as e:
            res[name] = dict(error=f"{type(e).__name__}: {str(e)[:500]}", finite=False); traceback.print_exc(); continue
        recs = [json.loads(l) for l in (Path(cfg.out)/'metrics.jsonl').read_text().splitlines() if l.strip()]
        res[name] = dict(run_stats(recs, cfg.K // b), time_s=time.time() - t, chance_l_c=math.log(cfg.K + 1))
        r, fmt = res[name], (lambda v: '-' if v is None else f'{v:.3f}')
        print(f"run {name}: {r['stage2_steps']} joint steps, loss {fmt(r['loss_first'])} -> {fmt(r['loss_last'])} after the queue "
              f"filled (L_C chance {r['chance_l_c']:.2f}), finite {r['finite']} ({r['time_s']:.0f} s)", flush=True)
    return res

def summarise(d):
    "Targets and hard checks from the sections."
    rows = [r for r in d['steps'] if 'img_s' in r]
    best = lambda m: max((r for r in rows if r['method'] == m), key=lambda r: r['img_s'], default=None)
    ours = best('mocov2+ours')
    rates = [r['img_s'] for r in rows]
    L = d['loader'] or {}
    pil_best = max((p['img_s'] for p in L.get('pil', [])), default=None)
    t = dict(mfu_mocov2_ours=ours.get('mfu') if ours else None, mfu_target=0.35,
             mfu_met=(ours['mfu'] >= 0.35) if ours and 'mfu' in ours else None,
             fastest_step_img_s=max(rates, default=None),
             tensor_loader_img_s=(L.get('tensor') or {}).get('img_s'), pil_loader_img_s=pil_best)
    if rates and t['tensor_loader_img_s']: t['tensor_loader_keeps_up'] = t['tensor_loader_img_s'] >= max(rates)
    if rates and pil_best: t['pil_loader_keeps_up'] = pil_best >= max(rates)
    per_w = max((p['img_s_per_worker'] for p in L.get('pil', [])), default=None)
    if per_w and rates: t['pil_workers_needed_fastest_step'] = max(rates) / per_w
    t['runs_loss_falling'] = {n: r.get('loss_falling') for n, r in d['runs'].items()}
    t['runs_l_c_below_chance'] = {n: (r['l_c_last'] < r['chance_l_c']) if r.get('l_c_last') is not None else None
                                  for n, r in d['runs'].items()}
    hard = [c['ok'] is not False for c in d['cells']] + [('error' not in r) and r.get('finite', True) for r in d['steps']]
    hard += [r['ok'] is not False for r in d.get('syncs', [])]
    t['steps_without_host_sync'] = all(r['ok'] for r in d['syncs']) if d.get('syncs') and all(r['ok'] is not None for r in d['syncs']) else None
    hard += [r.get('finite', True) and 'error' not in r for r in d['runs'].values()]
    t['hard_checks_ok'] = all(hard)
    return t

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dry-run', action='store_true', help='CPU, tiny sizes, 2 steps: the same code in well under a minute')
    ap.add_argument('--budget-s', type=float, default=420.0, help='time budget; sections that no longer fit are skipped')
    ap.add_argument('--pack', default=str(ROOT/'packed'), help='folder written by benchmarks/pack_data.py')
    ap.add_argument('--methods', nargs='*', default=list(METHODS), choices=list(METHODS))
    ap.add_argument('--compile', action='store_true', help='dry run: also time the compiled steps (minutes on a CPU)')
    ap.add_argument('--no-compile', action='store_true', help='GPU: skip the compiled steps')
    ap.add_argument('--skip', nargs='*', default=[], choices=['cells', 'syncs', 'steps', 'loader', 'runs'])
    ap.add_argument('--json', default=None, help='output JSON [benchmarks/results/gpu_check.json; dry run: none]')
    a = ap.parse_args(argv)
    P = dict(DRY if a.dry_run else FULL)
    device = torch.device(P['device'])
    if device.type == 'cuda' and not torch.cuda.is_available(): sys.exit("gpu_check: no CUDA device here (use --dry-run on a CPU)")
    if a.dry_run: torch.set_num_threads(1)
    else: P['workers'] = min(P['workers'], len(os.sched_getaffinity(0)))
    t0, budget = time.time(), Budget(a.budget_s)
    d = dict(dry_run=a.dry_run, config=dict(P, device_name=device_name(device), torch=torch.__version__,
                                            cuda=torch.version.cuda if device.type == 'cuda' else None, python=platform.python_version(),
                                            cpu_count=os.cpu_count(), date=datetime.datetime.now().isoformat(timespec='seconds'),
                                            budget_s=a.budget_s), cells=[], syncs=[], steps=[], loader=None, runs={})
    print(f"gpu_check{' --dry-run' if a.dry_run else ''}: {d['config']['device_name']}, torch {torch.__version__}; "
          f"{P['arch']} {P['img_size']} px batch {P['batch_size']} {P['amp']} channels_last", flush=True)
    with tempfile.TemporaryDirectory(prefix='gpu_check_') as tmp:
        if 'cells' not in a.skip: d['cells'] = run_cells(a.dry_run, budget)
        d['config']['peak_tflops'] = peak_tflops(d['config']['device_name']) if device.type == 'cuda' else None
        if 'syncs' not in a.skip: d['syncs'] = run_syncs(P, device, budget, a.methods)
        if 'steps' not in a.skip: d['steps'] = run_steps(P, device, budget, (False,), a.methods)
        root, kind = data_folder(a.pack, tmp, a.dry_run); d['config']['data'] = kind
        if 'loader' not in a.skip: d['loader'] = run_loader(root, P, device, a.pack, budget)
        if 'runs' not in a.skip: d['runs'] = run_training(root, P, device, tmp, budget, a.dry_run)
        if 'steps' not in a.skip and ((not a.no_compile) if not a.dry_run else a.compile):   # last: what the budget may cut
            d['steps'] += run_steps(P, device, budget, (True,), a.methods, eager_rows=d['steps'])
    d['targets'] = summarise(d)
    d['elapsed_s'] = time.time() - t0
    print(json.dumps(d['targets'], indent=1))
    print(f"gpu_check: {'ok' if d['targets']['hard_checks_ok'] else 'FAILED'} in {d['elapsed_s']:.0f} s", flush=True)
    out = a.json or (None if a.dry_run else str(ROOT/'benchmarks'/'results'/'gpu_check.json'))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True); Path(out).write_text(json.dumps(d, indent=1)); print(f"wrote {out}")
    return 0 if d['targets']['hard_checks_ok'] else 1

if __name__ == '__main__': sys.exit(main())
