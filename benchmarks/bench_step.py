"""Step-time benchmark of the four training methods (MoCo v2, MoCo v2 + ours, SimSiam, SimSiam + ours).

For each method: median optimiser-step time (forward + backward + SGD step), images/s, FLOPs of one step
(torch.utils.flop_counter), and for ours the time spent in the perturbation (Grad-CAM scores + bank variance + noise)
and its share of the step, and the time of the per-step diagnostics (`SynthFG.diagnostics`, target < 1 % of the step). Then the two targets:
  - no wasted work: time(ours)/time(base) <= 1.1 x FLOPs(ours)/FLOPs(base);
  - our MoCo v2 step <= the `lightly` library's MoCo v2 step at the same config (`pip install -e ".[bench]"`),
    measured side by side in the same run.
On a GPU (--device cuda) it also reports MFU against the device's dense bf16 peak (`synthfg.perf.PEAK_TFLOPS`, the
vendors' datasheets: H100 SXM / H200 989 TFLOP/s), or --peak-tflops.

Peak memory of each method's training (model, optimiser state, MoCo queue / memory bank, activations, inputs):
  - CPU: every method runs in a fresh child process (high-water marks do not leak between rows); the peak is
    `ru_maxrss` (getrusage, peak RSS) after the timed steps minus the RSS (/proc/self/statm) just before the model is
    built ('rss-delta'). FLOPs are counted after that reading, so their deep copy of the model is not in it.
  - CUDA: `torch.cuda.max_memory_allocated()` after the timed steps minus `memory_allocated()` before the model is
    built, peak stats reset there ('cuda-max-allocated'; the caching allocator's reserve is not included).
--json writes everything the performance report (nbs/11_performance.ipynb, `python benchmarks/report.py`) needs:
config (with torch version, threads, device name), rows, time / FLOP ratios, perturbation shares, lightly ratio.

Defaults are the CPU configuration of the issues: ResNet-18 (standard stem), 64 px, batch 64.
    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --device cuda --arch resnet50 --img-size 224 --batch-size 128 --amp bf16
"""
import argparse, contextlib, copy, datetime, gc, importlib.util, json, math, os, platform, resource, statistics, subprocess, sys, time
import torch, torch.nn as nn

import synthfg.models as M
from synthfg.trainer import Config
from synthfg.perf import amp_context, device_name, peak_tflops, sgd, split_method, step_batch, step_methods, step_setup, sync, time_calls, timed_step
from report_md import step_md   # the report's Markdown (benchmarks/report_md.py, beside this script)

STEMS = {'auto': 'auto', 'on': True, 'off': False}
LIGHTLY = 'lightly MoCo v2'
METHODS = step_methods()   # every registered base (synthfg.models.BASES), plain and + ours

def _rss_bytes():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

class PeakMemory:
    "Peak memory of the code run after `start()`: CUDA max allocated, or on CPU peak RSS (ru_maxrss) minus RSS at `start()`."
    def __init__(self, device): self.device, self.kind = device, 'cuda-max-allocated' if device.type == 'cuda' else 'rss-delta'
    def start(self):
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else: self.base = _rss_bytes()
        return self
    def peak(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(); return max(torch.cuda.max_memory_allocated(self.device) - self.base, 0)
        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.base, 0)   # ru_maxrss: KiB on Linux

class PerturbTimer:
    "Adds up the wall time spent in the perturbation functions called by `SynthFG.step_losses` (wrapped in place)."
    names = ('gradcam_scores', 'perturb')
    def __init__(self, device): self.device, self.total, self.saved = device, 0.0, {}
    def _wrap(self, f):
        def g(*a, **k):
            sync(self.device); t = time.perf_counter()
            r = f(*a, **k)
            sync(self.device); self.total += time.perf_counter() - t
            return r
        return g
    def __enter__(self):
        for nm in self.names: self.saved[nm] = getattr(M, nm); setattr(M, nm, self._wrap(self.saved[nm]))
        self.saved['variance'] = M.SynthFG.variance; M.SynthFG.variance = self._wrap(self.saved['variance'])
        return self
    def __exit__(self, *a):
        for nm in self.names: setattr(M, nm, self.saved[nm])
        M.SynthFG.variance = self.saved['variance']

class DiagTimer(PerturbTimer):
    "Adds up the wall time of the per-step diagnostics (`SynthFG.diagnostics`: PSNR, pair gap, cos, noise stds, ...)."
    def __enter__(self): self.saved['d'] = M.SynthFG.diagnostics; M.SynthFG.diagnostics = self._wrap(self.saved['d']); return self
    def __exit__(self, *a): M.SynthFG.diagnostics = self.saved['d']

def bench_config(name, a, device):
    "The Config of row `name` (a key of METHODS) at the command line's settings."
    method, synth = split_method(name)
    return Config(method=method, synth=synth, arch=a.arch, img_size=a.img_size, batch_size=a.batch_size, K=a.queue_size, D=a.mem_size,
                  device=str(device), small_stem=STEMS[a.small_stem], amp=a.amp, channels_last=device.type == 'cuda' and a.channels_last)

def bench_method(name, cfg, device, steps, warmup, compiled=False, timers=True, flops=True):
    """One row: a fresh model of `cfg` (synthfg.perf.step_setup), its `train_step` timed (median of `steps` after `warmup`,
    the first step timed alone), images/s, peak memory, FLOPs; with `timers` (eager only) the perturbation's and diagnostics' time."""
    mem = PeakMemory(device).start()
    model, batch = step_setup(cfg, device)
    opt, runner, terms = sgd(model), torch.compile(model) if compiled else model, {}
    step_ = timed_step(runner, opt, batch, device, cfg.amp)
    def step(): terms.update(step_())       # the last step's loss terms (detached), read after the timing
    timers = timers and cfg.synth and not compiled
    with (PerturbTimer(device) if timers else contextlib.nullcontext()) as pt, (DiagTimer(device) if timers else contextlib.nullcontext()) as dt:
        first, = time_calls(step, 1, 0, device)
        ts = time_calls(step, steps, max(warmup - 1, 0), device)
    peak = mem.peak()
    loss = float(terms['loss'])
    med, n = statistics.median(ts), steps + max(warmup, 1)
    row = dict(method=name, compiled=compiled, step_s=med, img_s=cfg.batch_size / med, first_step_s=first, perturb_s=pt.total / n if timers else 0.0,
               diag_s=dt.total / n if timers else 0.0, peak_mem_bytes=peak, mem_measure=mem.kind, loss=loss, finite=math.isfinite(loss))
    row['flops'] = None          # the eager step's FLOPs (a compiled step does the same work); after the memory reading (it deep-copies)
    if flops and not compiled:
        with amp_context(device, cfg.amp) or contextlib.nullcontext(): row['flops'] = M.count_flops(model, batch)
    del model, opt, runner, batch, step_
    if device.type == 'cuda': torch.cuda.empty_cache()
    return row

def bench_lightly(a, device):
    "lightly's MoCo v2 at the same config: its ResNet backbone (same stem), MoCoProjectionHead, NTXentLoss with a memory bank."
    from lightly.loss import NTXentLoss
    from lightly.models.modules import MoCoProjectionHead
    from lightly.models.utils import deactivate_requires_grad, update_momentum
    mem = PeakMemory(device).start()
    torch.manual_seed(0)
    backbone, n = M.make_backbone(a.arch, None, small_stem=Config(img_size=a.img_size, small_stem=STEMS[a.small_stem]).use_small_stem)
    head = MoCoProjectionHead(n, n, 128)
    backbone_k, head_k = copy.deepcopy(backbone), copy.deepcopy(head)
    deactivate_requires_grad(backbone_k); deactivate_requires_grad(head_k)
    mods = nn.ModuleList([backbone, head, backbone_k, head_k]).to(device).train()
    crit = NTXentLoss(temperature=0.2, memory_bank_size=(a.queue_size, 128))
    opt = torch.optim.SGD([*backbone.parameters(), *head.parameters()], lr=0.01, momentum=0.9, weight_decay=1e-4)
    _, x1, x2 = step_batch(Config(batch_size=a.batch_size, img_size=a.img_size), 0, device)
    def step():
        opt.zero_grad(set_to_none=True)
        update_momentum(backbone, backbone_k, 0.999); update_momentum(head, head_k, 0.999)
        with amp_context(device, a.amp) or contextlib.nullcontext():
            q = head(backbone(x1))
            with torch.no_grad(): k = head_k(backbone_k(x2))
            loss = crit(q, k)
        loss.backward(); opt.step()
    ts = time_calls(step, a.steps, a.warmup, device)
    peak = mem.peak()
    med = statistics.median(ts)
    return dict(method=LIGHTLY, step_s=med, img_s=a.batch_size / med, flops=None, perturb_s=0.0,
                peak_mem_bytes=peak, mem_measure=mem.kind)

def bench_row(name, a, device):
    "Row `name` at the command line's settings (`bench_method` of `bench_config`)."
    return bench_method(name, bench_config(name, a, device), device, a.steps, a.warmup, flops=not a.no_flops)

def run_one(name, a, device):
    "One row: in this process on CUDA (or with --in-process), else in a fresh child process (clean peak RSS)."
    bench = (lambda: bench_lightly(a, device)) if name == LIGHTLY else (lambda: bench_row(name, a, device))
    if name == LIGHTLY and importlib.util.find_spec('lightly') is None: raise ImportError("No module named 'lightly'")
    if device.type == 'cuda' or a.in_process: return bench()
    out = subprocess.run([sys.executable, os.path.abspath(__file__), *sys.argv[1:], '--_child', name], capture_output=True, text=True)
    if out.returncode: sys.exit(f"child process for {name} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])

def _nan_to_none(x):
    if isinstance(x, float) and x != x: return None
    if isinstance(x, dict): return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list): return [_nan_to_none(v) for v in x]
    return x

def summarise(rows, a):
    "Time ratios vs FLOP ratios (target <= 1.10), perturbation shares (target <= 5 %), lightly ratio (target <= 1.00)."
    by, ratios, shares, lightly = {r['method']: r for r in rows}, {}, {}, None
    for base in M.BASES:
        ours = base + '+ours'
        if base in by and ours in by and by[base]['flops'] and by[ours]['flops']:
            t_ratio, f_ratio = by[ours]['step_s'] / by[base]['step_s'], by[ours]['flops'] / by[base]['flops']
            ratios[ours] = dict(base=base, time_ratio=t_ratio, flop_ratio=f_ratio, time_per_flop_ratio=t_ratio / f_ratio,
                                target=1.1, met=t_ratio <= 1.1 * f_ratio)
        if ours in by:
            share = by[ours]['perturb_s'] / by[ours]['step_s']
            shares[ours] = dict(perturb_s=by[ours]['perturb_s'], share=share, target=0.05, met=share <= 0.05)
            if 'diag_s' in by[ours]:
                d = by[ours]['diag_s'] / by[ours]['step_s']
                shares[ours].update(diag_s=by[ours]['diag_s'], diag_share=d, diag_target=0.01, diag_met=d <= 0.01)
    if 'mocov2' in by and LIGHTLY in by:
        r = by['mocov2']['step_s'] / by[LIGHTLY]['step_s']
        lightly = dict(synthfg_step_s=by['mocov2']['step_s'], lightly_step_s=by[LIGHTLY]['step_s'], ratio=r, target=1.0, met=r <= 1.0)
    return ratios, shares, lightly

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu'); ap.add_argument('--arch', default='resnet18')
    ap.add_argument('--img-size', type=int, default=64); ap.add_argument('--batch-size', type=int, default=64)
    ap.add_argument('--small-stem', default='off', choices=list(STEMS), help='3x3 stride-1 stem (the trainer uses it for <= 64 px by default)')
    ap.add_argument('--queue-size', type=int, default=65536); ap.add_argument('--mem-size', type=int, default=5632)
    ap.add_argument('--amp', default='none', choices=['none', 'bf16', 'fp16'])
    ap.add_argument('--channels-last', action='store_true', help='channels_last memory format (GPU)')
    ap.add_argument('--steps', type=int, default=10); ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--methods', nargs='*', default=list(METHODS), choices=list(METHODS))
    ap.add_argument('--no-lightly', action='store_true'); ap.add_argument('--no-flops', action='store_true')
    ap.add_argument('--peak-tflops', type=float, default=None,
                    help="accelerator peak for MFU [the device's dense bf16 datasheet peak, synthfg.perf.PEAK_TFLOPS: H100 SXM / H200 989]")
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    ap.add_argument('--in-process', action='store_true', help='CPU: run all methods in this process (peak RSS then accumulates)')
    ap.add_argument('--json', default=None, help='also write the results to this JSON file')
    ap.add_argument('--_child', default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    if device.type == 'cuda' and a.peak_tflops is None: a.peak_tflops = peak_tflops(device_name(device))
    if a._child:                                   # one row, printed as the last line of stdout for the parent
        row = bench_lightly(a, device) if a._child == LIGHTLY else bench_row(a._child, a, device)
        print(json.dumps(_nan_to_none(row))); return
    load0 = os.getloadavg()
    print(f'config: {a.arch} (small stem {a.small_stem}), {a.img_size} px, batch {a.batch_size}, K={a.queue_size}, D={a.mem_size}, device {device} '
          f'({device_name(device)}), amp {a.amp}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; median of {a.steps} steps '
          f'after {a.warmup} warm-up; memory: {PeakMemory(device).kind}{", one child process per method" if device.type != "cuda" and not a.in_process else ""}')
    rows = [run_one(m, a, device) for m in a.methods]
    if not a.no_lightly:
        try: rows.append(run_one(LIGHTLY, a, device))
        except ImportError as e: print(f'lightly not installed ({e}); pip install -e ".[bench]" for the side-by-side comparison')
    gpu = device.type == 'cuda'
    for r in rows:
        if r['flops'] != r['flops']: r['flops'] = None        # NaN from a child's JSON: not counted
        if gpu and r['flops'] and a.peak_tflops: r['tflops_s'] = r['flops'] / r['step_s'] / 1e12; r['mfu'] = r['tflops_s'] / a.peak_tflops
    print('\n' + step_md(dict(rows=rows)))
    print(f"(peak memory: {'CUDA max allocated minus allocated before the model was built' if gpu else 'peak RSS delta of the process (ru_maxrss - RSS before the model was built)'})")
    ratios, shares, lightly = summarise(rows, a)
    print()
    for ours in (m for m in METHODS if split_method(m)[1]):
        if ours in ratios:
            r = ratios[ours]
            print(f'{ours}: time ratio {r["time_ratio"]:.2f} vs FLOP ratio {r["flop_ratio"]:.2f} -> time/FLOP ratio {r["time_per_flop_ratio"]:.2f} '
                  f'(target <= 1.10: {"met" if r["met"] else "NOT met"})')
        if ours in shares:
            r = shares[ours]
            print(f'{ours}: perturbation (Grad-CAM + variance + noise) {1e3 * r["perturb_s"]:.1f} ms per step = '
                  f'{100 * r["share"]:.2f} % of the step (target <= 5 %: {"met" if r["met"] else "NOT met"})')
            if 'diag_s' in r:
                print(f'{ours}: diagnostics (PSNR, pair gap, cos, chance, noise stds, bank fill) {1e3 * r["diag_s"]:.2f} ms per step = '
                      f'{100 * r["diag_share"]:.3f} % of the step (target < 1 %: {"met" if r["diag_met"] else "NOT met"})')
    if lightly:
        print(f'synthfg MoCo v2 step / lightly MoCo v2 step = {lightly["ratio"]:.2f} (target <= 1.00: {"met" if lightly["met"] else "NOT met"})')
    if a.json:
        cfg = {k: v for k, v in vars(a).items() if k not in ('_child', 'json')}
        cfg.update(torch=torch.__version__, python=platform.python_version(), threads=torch.get_num_threads(), device_name=device_name(device),
                   cpu_count=os.cpu_count(), loadavg_start=load0, loadavg_end=os.getloadavg(), mem_measure=PeakMemory(device).kind,
                   date=datetime.datetime.now().isoformat(timespec='seconds'), lightly_installed=any(r['method'] == LIGHTLY for r in rows))
        if gpu: cfg['cuda'] = torch.version.cuda
        out = dict(config=cfg, rows=rows, ratios=ratios, perturbation=shares, lightly=lightly)
        with open(a.json, 'w') as f: json.dump(_nan_to_none(out), f, indent=1)
        print(f'wrote {a.json}')

if __name__ == '__main__': main()
