"""Step-time benchmark of the four training methods (MoCo v2, MoCo v2 + ours, SimSiam, SimSiam + ours).

For each method: median optimiser-step time (forward + backward + SGD step), images/s, FLOPs of one step
(torch.utils.flop_counter), and for ours the time spent in the perturbation (Grad-CAM scores + bank variance + noise)
and its share of the step. Then the two targets:
  - no wasted work: time(ours)/time(base) <= 1.1 x FLOPs(ours)/FLOPs(base);
  - our MoCo v2 step <= the `lightly` library's MoCo v2 step at the same config (`pip install -e ".[bench]"`),
    measured side by side in the same run.
On a GPU (--device cuda) it also reports MFU against --peak-tflops (H100 bf16 dense, measured: 800).

Defaults are the CPU configuration of the issues: ResNet-18 (standard stem), 64 px, batch 64.
    python benchmarks/bench_step.py
    python benchmarks/bench_step.py --device cuda --arch resnet50 --img-size 224 --batch-size 128 --amp bf16
"""
import argparse, contextlib, copy, json, statistics, time
import torch, torch.nn as nn

import synthfg.models as M
from synthfg.trainer import Config, build_model

STEMS = {'auto': 'auto', 'on': True, 'off': False}
METHODS = {'mocov2': ('mocov2', False), 'mocov2+ours': ('mocov2', True), 'simsiam': ('simsiam', False), 'simsiam+ours': ('simsiam', True)}

def sync(device):
    if device.type == 'cuda': torch.cuda.synchronize()

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

def make_batch(bs, img_size, device, gen):
    x, x1, x2 = (torch.randn(bs, 3, img_size, img_size, generator=gen).to(device) for _ in range(3))
    return x, x1, x2

def autocast(device, amp):
    if amp == 'none': return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == 'bf16' else torch.float16)

def time_steps(step, n_warmup, n_steps, device):
    for _ in range(n_warmup): step()
    ts = []
    for _ in range(n_steps):
        sync(device); t = time.perf_counter(); step(); sync(device); ts.append(time.perf_counter() - t)
    return ts

def bench_method(name, a, device):
    method, synth = METHODS[name]
    cfg = Config(method=method, synth=synth, arch=a.arch, img_size=a.img_size, batch_size=a.batch_size, K=a.queue_size,
                 D=a.mem_size, device=str(device), small_stem=STEMS[a.small_stem])
    torch.manual_seed(0)
    model = build_model(cfg).to(device)
    if synth:  # fill the memory bank so the low-variance branch runs as in steady-state training
        model.bank.enqueue(torch.randn(cfg.D, model.bank.n) * torch.rand(model.bank.n))
    if device.type == 'cuda' and a.channels_last: model = model.to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(0)
    batch = make_batch(a.batch_size, a.img_size, device, gen)
    if device.type == 'cuda' and a.channels_last: batch = tuple(t.contiguous(memory_format=torch.channels_last) for t in batch)
    def step():
        opt.zero_grad(set_to_none=True)
        with autocast(device, a.amp): out = model(*batch)
        out['loss'].backward(); opt.step()
    flops = M.count_flops(model, batch) if not a.no_flops else float('nan')
    with PerturbTimer(device) as pt:
        ts = time_steps(step, a.warmup, a.steps, device)
    med = statistics.median(ts)
    return dict(method=name, step_s=med, img_s=a.batch_size / med, flops=flops, perturb_s=pt.total / (a.steps + a.warmup) if synth else 0.0)

def bench_lightly(a, device):
    "lightly's MoCo v2 at the same config: its ResNet backbone (same stem), MoCoProjectionHead, NTXentLoss with a memory bank."
    from lightly.loss import NTXentLoss
    from lightly.models.modules import MoCoProjectionHead
    from lightly.models.utils import deactivate_requires_grad, update_momentum
    torch.manual_seed(0)
    backbone, n = M.make_backbone(a.arch, None, small_stem=Config(img_size=a.img_size, small_stem=STEMS[a.small_stem]).use_small_stem)
    head = MoCoProjectionHead(n, n, 128)
    backbone_k, head_k = copy.deepcopy(backbone), copy.deepcopy(head)
    deactivate_requires_grad(backbone_k); deactivate_requires_grad(head_k)
    mods = nn.ModuleList([backbone, head, backbone_k, head_k]).to(device).train()
    crit = NTXentLoss(temperature=0.2, memory_bank_size=(a.queue_size, 128))
    opt = torch.optim.SGD([*backbone.parameters(), *head.parameters()], lr=0.01, momentum=0.9, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(0)
    _, x1, x2 = make_batch(a.batch_size, a.img_size, device, gen)
    def step():
        opt.zero_grad(set_to_none=True)
        update_momentum(backbone, backbone_k, 0.999); update_momentum(head, head_k, 0.999)
        with autocast(device, a.amp):
            q = head(backbone(x1))
            with torch.no_grad(): k = head_k(backbone_k(x2))
            loss = crit(q, k)
        loss.backward(); opt.step()
    ts = time_steps(step, a.warmup, a.steps, device)
    med = statistics.median(ts)
    return dict(method='lightly MoCo v2', step_s=med, img_s=a.batch_size / med, flops=float('nan'), perturb_s=0.0)

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
    ap.add_argument('--peak-tflops', type=float, default=800.0, help='accelerator peak for MFU (H100 bf16 dense, measured: 800)')
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default)')
    ap.add_argument('--json', default=None, help='also write the results to this JSON file')
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    print(f'config: {a.arch} (small stem {a.small_stem}), {a.img_size} px, batch {a.batch_size}, K={a.queue_size}, D={a.mem_size}, device {device}, '
          f'amp {a.amp}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads; median of {a.steps} steps after {a.warmup} warm-up')
    rows = [bench_method(m, a, device) for m in a.methods]
    if not a.no_lightly:
        try: rows.append(bench_lightly(a, device))
        except ImportError as e: print(f'lightly not installed ({e}); pip install -e ".[bench]" for the side-by-side comparison')
    gpu = device.type == 'cuda'
    print(f"\n| method | step (s) | images/s | GFLOPs/step | perturbation (ms) | perturbation share |{' TFLOP/s | MFU |' if gpu else ''}")
    print(f"|---|---:|---:|---:|---:|---:|{'---:|---:|' if gpu else ''}")
    for r in rows:
        share = f"{100 * r['perturb_s'] / r['step_s']:.2f} %" if r['perturb_s'] else '-'
        pert = f"{1e3 * r['perturb_s']:.1f}" if r['perturb_s'] else '-'
        extra = ''
        if gpu and r['flops'] == r['flops']:
            tf = r['flops'] / r['step_s'] / 1e12; extra = f' {tf:.1f} | {100 * tf / a.peak_tflops:.1f} % |'
        elif gpu: extra = ' - | - |'
        print(f"| {r['method']} | {r['step_s']:.3f} | {r['img_s']:.1f} | {r['flops'] / 1e9:.1f} | {pert} | {share} |{extra}")
    by = {r['method']: r for r in rows}
    print()
    for base in ('mocov2', 'simsiam'):
        ours = base + '+ours'
        if base in by and ours in by and by[base]['flops'] == by[base]['flops']:
            t_ratio, f_ratio = by[ours]['step_s'] / by[base]['step_s'], by[ours]['flops'] / by[base]['flops']
            ok = t_ratio <= 1.1 * f_ratio
            print(f'{ours}: time ratio {t_ratio:.2f} vs FLOP ratio {f_ratio:.2f} -> time/FLOP ratio {t_ratio / f_ratio:.2f} '
                  f'(target <= 1.10: {"met" if ok else "NOT met"})')
        if ours in by:
            share = by[ours]['perturb_s'] / by[ours]['step_s']
            print(f'{ours}: perturbation (Grad-CAM + variance + noise) {1e3 * by[ours]["perturb_s"]:.1f} ms per step = '
                  f'{100 * share:.2f} % of the step (target <= 5 %: {"met" if share <= 0.05 else "NOT met"})')
    if 'mocov2' in by and 'lightly MoCo v2' in by:
        r = by['mocov2']['step_s'] / by['lightly MoCo v2']['step_s']
        print(f'synthfg MoCo v2 step / lightly MoCo v2 step = {r:.2f} (target <= 1.00: {"met" if r <= 1.0 else "NOT met"})')
    if a.json:
        with open(a.json, 'w') as f: json.dump(dict(config=vars(a), rows=rows), f, indent=1)

if __name__ == '__main__': main()
