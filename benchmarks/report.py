"""The performance report in one command: run the benchmarks, write benchmarks/results/*.json, re-render the docs page.

    python benchmarks/report.py            # CPU: ResNet-18 (standard stem), 64 px, batch 64, K 65536, D 5632
                                           # (+ lightly's MoCo v2 if installed: pip install -e ".[bench]")

1. benchmarks/bench_step.py --json results/step.json: step time, images/s, FLOPs, perturbation share, peak memory of
   every registered base (synthfg.models.BASES: MoCo v2, SimSiam, ...) plain and + ours, and lightly's MoCo v2, with the
   time/FLOP-ratio and lightly targets.
2. synthfg.perf.cost_report at the same configuration -> results/cost.json: FLOPs and median time of each component of
   the cost model (nbs/11_performance.ipynb), the predicted step against the measured one.
3. benchmarks/bench_retrieval.py --json results/retrieval.json: retrieval_metrics at N = 10k and 50k, chunks 256 and 1024.
4. Re-executes nbs/11_performance.ipynb (tools/exec_nb.py) and runs nbdev_clean on it, so the docs page shows the tables
   (their Markdown is built by benchmarks/report_md.py from the JSON files).

GPU recipe (ResNet-50 at 224 px, bf16 autocast; retrieval stays on the CPU):
    python benchmarks/report.py --device cuda --arch resnet50 --img-size 224 --batch-size 128 --amp bf16

Smoke test (tiny model and sizes, few steps; the JSON files say "quick": true and the page prints a warning):
    OMP_NUM_THREADS=1 python benchmarks/report.py --quick --threads 1
Other flags: --skip-retrieval (keep the existing retrieval.json), --no-notebook (only the JSON files), --no-lightly,
--small-stem, --queue-size, --mem-size, --steps, --warmup, --cost-steps, --threads, --channels-last, --out.
"""
import argparse, json, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NB = ROOT / 'nbs' / '11_performance.ipynb'
STEMS = {'auto': 'auto', 'on': True, 'off': False}
FULL = dict(arch='resnet18', img_size=64, batch_size=64, queue_size=65536, mem_size=5632, steps=10, warmup=2, cost_steps=5,
            cost_warmup=1, retrieval_sizes=[10_000, 50_000], retrieval_chunks=[256, 1024])
QUICK = dict(arch='resnet18', img_size=32, batch_size=8, queue_size=256, mem_size=64, steps=2, warmup=1, cost_steps=1,
             cost_warmup=1, retrieval_sizes=[2000], retrieval_chunks=[256, 1024])


def run(cmd, **kw):
    print('$', ' '.join(map(str, cmd)), flush=True)
    t = time.time()
    subprocess.run(list(map(str, cmd)), cwd=ROOT, check=True, **kw)
    print(f'({time.time() - t:.0f} s)', flush=True)


def mark(path, quick):
    "Add `quick` to a results file (so the page can warn about smoke-test numbers)."
    d = json.loads(path.read_text()); d['quick'] = quick
    path.write_text(json.dumps(d, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--arch'); ap.add_argument('--img-size', type=int); ap.add_argument('--batch-size', type=int)
    ap.add_argument('--small-stem', default='off', choices=list(STEMS))
    ap.add_argument('--queue-size', type=int); ap.add_argument('--mem-size', type=int)
    ap.add_argument('--amp', default='none', choices=['none', 'bf16', 'fp16'])
    ap.add_argument('--channels-last', action='store_true')
    ap.add_argument('--steps', type=int, help='timed steps of bench_step (default 10; --quick 2)')
    ap.add_argument('--warmup', type=int, help='warm-up steps of bench_step (default 2; --quick 1)')
    ap.add_argument('--cost-steps', type=int, help='timed runs per cost-model component (default 5; --quick 1)')
    ap.add_argument('--threads', type=int, default=None, help='torch CPU threads (default: torch default; retrieval: 2)')
    ap.add_argument('--quick', action='store_true', help='tiny settings for a smoke test; results marked "quick": true')
    ap.add_argument('--skip-retrieval', action='store_true', help='do not run bench_retrieval (keep the existing retrieval.json)')
    ap.add_argument('--no-notebook', action='store_true', help='only write the JSON files')
    ap.add_argument('--no-lightly', action='store_true')
    ap.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results'))
    a = ap.parse_args()
    s = dict(QUICK if a.quick else FULL)
    for k in ('arch', 'img_size', 'batch_size', 'queue_size', 'mem_size', 'steps', 'warmup', 'cost_steps'):
        if getattr(a, k) is not None: s[k] = getattr(a, k)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    t0 = time.time()

    # 1. step benchmark (one child process per method on the CPU)
    common = ['--device', a.device, '--arch', s['arch'], '--img-size', s['img_size'], '--batch-size', s['batch_size'],
              '--small-stem', a.small_stem, '--queue-size', s['queue_size'], '--mem-size', s['mem_size'], '--amp', a.amp]
    extra = (['--channels-last'] if a.channels_last else []) + (['--threads', a.threads] if a.threads else []) \
        + (['--no-lightly'] if a.no_lightly else [])
    run([py, ROOT / 'benchmarks' / 'bench_step.py', *common, '--steps', s['steps'], '--warmup', s['warmup'], *extra,
         '--json', out / 'step.json'])
    mark(out / 'step.json', a.quick)

    # 2. cost model at the same configuration
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from synthfg.trainer import Config
    from synthfg.perf import cost_report
    cfg = Config(arch=s['arch'], img_size=s['img_size'], batch_size=s['batch_size'], K=s['queue_size'], D=s['mem_size'],
                 small_stem=STEMS[a.small_stem], device=a.device, amp=a.amp, channels_last=a.channels_last).validate()
    print(f'$ synthfg.perf.cost_report({s["arch"]}, {s["img_size"]} px, batch {s["batch_size"]}, {s["cost_steps"]} runs per component)', flush=True)
    t = time.time()
    rep = cost_report(cfg, device=a.device, steps=s['cost_steps'], warmup=s['cost_warmup'])
    rep['quick'] = a.quick
    (out / 'cost.json').write_text(json.dumps(rep, indent=1))
    for name, m in rep['methods'].items():
        print(f"  {name:13s} predicted {m['predicted_flops'] / 1e9:8.2f} GFLOPs, {1e3 * m['predicted_s']:8.1f} ms; "
              f"measured {m['flops']['step'] / 1e9:8.2f} GFLOPs, {1e3 * m['times_s']['step']:8.1f} ms")
    print(f'({time.time() - t:.0f} s)', flush=True)

    # 3. retrieval benchmark (CPU)
    if a.skip_retrieval: print(f'skipping the retrieval benchmark: {out / "retrieval.json"} is kept as it is')
    else:
        run([py, ROOT / 'benchmarks' / 'bench_retrieval.py', '--sizes', *s['retrieval_sizes'], '--chunks', *s['retrieval_chunks'],
             '--threads', a.threads or 2, '--json', out / 'retrieval.json'])
        mark(out / 'retrieval.json', a.quick)

    # 4. the docs page
    if not a.no_notebook:
        if out.resolve() != (ROOT / 'benchmarks' / 'results').resolve():
            print(f'note: the notebook reads benchmarks/results/, not {out}; not re-executing it'); return
        run([py, ROOT / 'tools' / 'exec_nb.py', NB])
        clean = shutil.which('nbdev_clean') or str(Path(py).parent / 'nbdev_clean')
        run([clean, '--fname', NB])
    print(f'done in {time.time() - t0:.0f} s: {", ".join(str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in sorted(out.glob("*.json")))}'
          + ('' if a.no_notebook else f', {NB.relative_to(ROOT)}'))


if __name__ == '__main__':
    main()
