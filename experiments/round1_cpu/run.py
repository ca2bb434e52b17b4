"""THE PREVIOUS ROUND (kept as a record): the runs behind the results page's section "The previous round: made before
the fidelity fixes" (nbs/10_results.ipynb) -- Tables 1/2 (main comparison), Table 4 (ablation) and Fig. 5 (alpha sweep)
of the paper, at the scale two CPU cores can afford. They were made by the earlier implementation (low-variance branch
off, generated-image BN statistics in the encoder, retrieval tie bug); experiments/round1_cpu/summaries/ holds their
summaries. The successor is experiments/thesis/run.py (issue 11: the fixed method, a synthetic set with nuisance probes,
controls). Both use the queue machinery of experiments/runqueue.py (state, execute, collect, log).

    python experiments/round1_cpu/run.py                    # everything, 2 single-threaded runs at a time, resumable
    python experiments/round1_cpu/run.py --groups main      # only the main comparison
    python experiments/round1_cpu/run.py --dry-run          # list the runs and their state
    python experiments/round1_cpu/run.py --methods mocov2 simsiam byol   # the main comparison for other registered bases too
    python experiments/round1_cpu/run.py --collect          # only copy finished runs' summaries to experiments/round1_cpu/summaries/
    python experiments/round1_cpu/run.py --faithful         # + MoCo's linear protocol (100 epochs, 100 % labels) on the
                                                            #   flowers12 MoCo v2 / MoCo v2 + ours runs (after they finish)

Every run is a `synthfg_train` run folder under --runs (default runs/results/NAME; git-ignored, holds checkpoints)
followed by `synthfg_eval --protocol fast` (linear top-1 at 100/50/20 % labels, retrieval, kNN). A finished run
(RUN/metrics_fast.json) is skipped; an interrupted one is resumed from RUN/checkpoint.pt, so the script can be
killed and started again at any time. Progress: --runs/progress.log (one line per start/finish), per-run logs in
--runs/logs/. When a run ends its small summary files (config.yaml, metrics_fast.json, final_metrics.json,
metrics.jsonl, timing.json) are copied to experiments/round1_cpu/summaries/NAME/ with portable paths (experiments/README.md),
which the results page reads.

Protocol (equal budget: every method of a dataset gets the same epochs, batch, image size, backbone, lr, seeds):
- encoders start from RANDOM INIT (no ImageNet weights can be downloaded here); ResNet-18, standard stem;
- GTSRB-35: the paper's seeded 4,800 / 3,750 subset (subset seed fixed to 0 for every training seed), 32 px,
  batch 64, 4 joint epochs (+1 decoder epoch for ours), K = 4096, D = 1024;
- flowers12: 720 / 240 images, 64 px, batch 32, 8 joint epochs (+1 decoder epoch for ours), K = 512, D = 512;
- the method's hyperparameters are the paper's (tau 0.2, alpha 1, nu 0.5, eps_g 0.1, eps_var 0.05, kappa 0.02);
  the SGD step size is MoCo's 0.03 at every batch size (lr = 0.03 * 256 / batch per 256 images), i.e. not linearly
  scaled down for the small batches; nothing was tuned, on the test split or elsewhere;
- 3 seeds (0, 1, 2) per configuration; metrics are those of the last epoch (no model selection).
"""
import argparse, json, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent              # experiments/round1_cpu
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))                # experiments/: runqueue.py, tables.py
from runqueue import _env, collect, execute, log, state

from synthfg.data import data_root
from synthfg.models import BASES, base_class
from synthfg.trainer import Config

SEEDS = (0, 1, 2)

def base_configs(root):
    "The two dataset settings (everything but method, variant and seed)."
    common = dict(arch='resnet18', small_stem=False, weights=None, workers=0, eval_every=0, log_every=5, progress=False)
    return {
        'gtsrb': dict(common, dataset='gtsrb', data_root=str(root/'gtsrb35'), dataset_kw={'gtsrb_subset': True, 'seed': 0},
                      img_size=32, batch_size=64, lr=0.03 * 256 / 64, epochs=4, decoder_epochs=1, K=4096, D=1024),
        'flowers': dict(common, dataset='folder', data_root=str(root/'flowers12'), img_size=64, batch_size=32,
                        lr=0.03 * 256 / 32, epochs=8, decoder_epochs=1, K=512, D=512),
    }

MAIN_METHODS = ('mocov2', 'simsiam')   # the bases of the committed runs; --methods takes any registered base (synthfg.models.BASES)

def variants(methods=MAIN_METHODS):
    "(group, dataset, run label, Config overrides, relative cost used to order the queue) of every run; the main group per base in `methods`."
    cost = lambda m, ours: (base_class(m).step_cost + 13 * ours) / 4     # the cost model's closed form, in MoCo v2 steps
    return [
        ('main', ds, f"{m}{'_ours' if ours else ''}", dict(method=m, synth=ours), cost(m, ours))
        for ds in ('gtsrb', 'flowers') for m in methods for ours in (False, True)
    ] + [
        ('ablation', 'flowers', f'mocov2_ours_{p}', dict(method='mocov2', perturb=p), cost('mocov2', True)) for p in ('gradcam', 'lowvar')
    ] + [
        ('alpha', 'flowers', f'mocov2_lr_alpha{a:g}', dict(method='mocov2', nu=0.0, alpha=a), 2.0) for a in (0.5, 1.0, 2.0)
    ]
GROUPS = ('main', 'ablation', 'alpha')

def plan(runs_dir, groups, root, methods=MAIN_METHODS):
    "All runs of `groups` (the main group for the bases `methods`), in queue order: group priority, then seed, then most expensive first."
    bases, out, VARIANTS = base_configs(root), [], variants(methods)
    for gi, g in enumerate(GROUPS):
        if g not in groups: continue
        for seed in SEEDS:
            vs = sorted([v for v in VARIANTS if v[0] == g], key=lambda v: -v[4] * (3 if v[1] == 'gtsrb' else 1))
            for _, ds, label, kw, cost in vs:
                name = f'{ds}_{label}_s{seed}'
                cfg = Config(**{**bases[ds], **kw, 'seed': seed, 'out': str(runs_dir/name)}).validate()
                out.append(dict(name=name, group=g, dataset=ds, label=label, seed=seed, cfg=cfg))
    return out

def faithful(run, runs_dir, results_dir, threads, epochs=100):
    "MoCo's linear protocol (synthfg_eval --protocol faithful, 100 % labels) on a finished run -> RUN/metrics_faithful.json."
    d, name = Path(run['cfg'].out), run['name']
    if (d/'metrics_faithful.json').exists(): collect(run, results_dir); return 'done'
    if state(run) != 'done': log(runs_dir, f"skip faithful {name}: run not finished"); return 'failed'
    env = _env(threads)
    log(runs_dir, f"start faithful {name}")
    t0 = time.time()
    with open(runs_dir/'logs'/f'{name}.faithful.log', 'a') as lf:
        r = subprocess.run([str(Path(sys.executable).parent/'synthfg_eval'), '--ckpt', str(d), '--protocol', 'faithful',
                            '--fracs', '1.0', '--epochs', str(epochs), '--out', str(d/'metrics_faithful.json')],
                           stdout=lf, stderr=subprocess.STDOUT, env=env)
    if r.returncode: log(runs_dir, f"FAILED faithful {name} (exit {r.returncode})"); return 'failed'
    timing = json.loads((d/'timing.json').read_text())
    (d/'timing.json').write_text(json.dumps({**timing, 'faithful_s': time.time() - t0}))
    collect(run, results_dir)
    log(runs_dir, f"done faithful {name}: {time.time() - t0:.0f} s")
    return 'done'

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default=str(REPO/'runs'/'results'), help='run folders (checkpoints; git-ignored)')
    ap.add_argument('--results', default=str(HERE/'summaries'), help='committed summaries read by the results page')
    ap.add_argument('--groups', default=','.join(GROUPS), help=f'comma-separated subset of {GROUPS}')
    ap.add_argument('--methods', nargs='+', default=list(MAIN_METHODS), choices=list(BASES),
                    help=f"base methods of the main comparison [{' '.join(MAIN_METHODS)}: the committed runs]")
    ap.add_argument('--jobs', type=int, default=2, help='runs at a time')
    ap.add_argument('--threads', type=int, default=1, help='torch threads per run')
    ap.add_argument('--data', default=None, help='folder holding gtsrb35/ and flowers12/ (default: synthfg.data.data_root())')
    ap.add_argument('--dry-run', action='store_true'); ap.add_argument('--collect', action='store_true')
    ap.add_argument('--faithful', action='store_true', help='run the faithful linear protocol on the flowers12 MoCo v2 runs')
    ap.add_argument('--faithful-epochs', type=int, default=100)
    a = ap.parse_args()
    groups = [g.strip() for g in a.groups.split(',') if g.strip()]
    bad = [g for g in groups if g not in GROUPS]
    if bad: ap.error(f"--groups: unknown group(s) {bad}; choose from {GROUPS}")
    root = Path(a.data) if a.data else data_root()
    for sub in ('gtsrb35', 'flowers12'):
        if not (root/sub).is_dir(): ap.error(f"--data: {root/sub} is not a folder (set --data or $SYNTHFG_DATA)")
    runs_dir, results_dir = Path(a.runs), Path(a.results)
    runs = plan(runs_dir, groups, root, a.methods)
    if a.dry_run or a.collect:
        for r in runs:
            st = state(r); print(f"{r['name']:40s} {r['group']:9s} {st}")
            if a.collect and st == 'done': collect(r, results_dir)
        return
    (runs_dir/'logs').mkdir(parents=True, exist_ok=True); (runs_dir/'configs').mkdir(parents=True, exist_ok=True)
    log(runs_dir, f"queue: {len(runs)} runs ({sum(state(r) == 'done' for r in runs)} done), {a.jobs} at a time, "
                  f"{a.threads} thread(s) each")
    with ThreadPoolExecutor(a.jobs) as ex:
        if a.faithful:
            sel = [r for r in runs if r['group'] == 'main' and r['dataset'] == 'flowers' and r['label'].startswith('mocov2')]
            res = list(ex.map(lambda r: faithful(r, runs_dir, results_dir, a.threads, a.faithful_epochs), sel))
        else: res = list(ex.map(lambda r: execute(r, runs_dir, results_dir, a.threads), runs))
    log(runs_dir, f"finished: {res.count('done')} done, {res.count('failed')} failed")
    sys.exit(1 if 'failed' in res else 0)

if __name__ == '__main__': main()
