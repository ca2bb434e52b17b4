"""The runs of issue 11 ("Results that test the paper's thesis"): the tables of the results page made again with the
method as the paper describes it (after the fidelity fixes), on three datasets, with controls and diagnostics.

    python experiments/thesis/run.py --dry-run        # the queue: runs, state, CPU-hours estimate per group
    python experiments/thesis/run.py                  # every group, 2 single-threaded runs at a time, resumable
    python experiments/thesis/run.py --groups main    # one group (each is sized to ~2 h of wall time at 2 jobs)
    python experiments/thesis/run.py --collect        # only copy finished runs' summaries to experiments/thesis/summaries/
    python experiments/thesis/run.py --report         # regenerate every table and figure of the round from the committed
                                                      #   summaries (re-executes nbs/10_results.ipynb) and Fig. 4 from the
                                                      #   seed-0 checkpoints under --runs if they are there (nbs/09_figures.ipynb)
    python experiments/thesis/run.py --measure        # re-measure throughput -> experiments/thesis/throughput.json
    python experiments/thesis/run.py --size 2         # the EPOCHS per dataset that make each group ~2 h of wall time
    python experiments/thesis/run.py --pilot          # ONE synthetic MoCo v2 + ours run (1 decoder + 1 joint epoch), end to end (pipeline
                                                      #   check; summaries in experiments/thesis/pilot/, never a result)

The previous round (experiments/round1_cpu/run.py -> experiments/round1_cpu/summaries/) was made BEFORE the fidelity
fixes (low-variance branch off, generated-image BN statistics in the encoder, retrieval tie bug); it is kept as a record.

Runs are `synthfg_train` run folders under --runs (default runs/thesis/NAME, git-ignored: checkpoints) followed by
`synthfg_eval --protocol fast` (linear top-1 at 100/50/20 % labels, retrieval, kNN, and on the synthetic set the
nuisance probes `nuisance_top1` / `nuisance_chance`). A finished run is skipped, an interrupted one resumed from its
checkpoint; when a run ends its summary files (config.yaml, metrics_fast.json, final_metrics.json -- whose
`train_last_epoch` holds the diagnostics frac_lowvar, pair_gap, psnr, l_cp, l_cp_chance --, metrics.jsonl, timing.json)
are copied to experiments/thesis/summaries/NAME/ at once, with portable paths (experiments/README.md), so
`git add experiments/thesis/summaries` after each group keeps them. A finished
run's checkpoint.pt is then deleted (disk: ~117 runs) except for the seed-0 runs with synthesized pairs, which Fig. 4
and the figures notebook load; --keep-checkpoints keeps all.

On a fresh machine (run folders are git-ignored; the summaries are committed) a committed run is skipped ('committed'
in --dry-run), except a shared stage 1 that a run still to do starts from: its decoder weights were never committed, so
it is trained again ('retrain'), not bit-identically; its summaries go to experiments/thesis/summaries/NAME/retrained/ with
retrained.json comparing it with the committed one, and each run started from it gets that note as stage1.json.

Groups (every one on the three datasets, seeds 0, 1, 2; equal budget per dataset):
- main:      MoCo v2, MoCo v2 + ours, SimSiam, SimSiam + ours (Tables 1/2; the paper's equal-epoch protocol);
- ablation:  MoCo v2 + ours with Grad-CAM only / low-variance only (Table 4; 'both' is the main group's run);
- alpha:     MoCo v2 with L_C + alpha L_R (nu = 0), alpha in 0.5, 1, 2 (Fig. 5; alpha = 0 is plain MoCo v2);
- zeronoise: MoCo v2 + ours and SimSiam + ours with eps_g = eps_var = 0 (x_hat_p = x_hat: L_Cp without perturbation);
- matched_mocov2, matched_simsiam (two groups, each ~ the size of the others):
             MoCo v2 / SimSiam trained for as many epochs as ours costs (`matched_epochs`): the CLOSED-FORM cost
             ratio of synthfg.perf (`ideal_ratio` with the encoder/decoder FLOPs `encoder_decoder_flops` of the
             dataset's setting; stage 1 = encoder forward + decoder forward/backward, (F + 3G) / (c F) per batch),
             i.e. FLOPs, not seconds (the stricter test: on these CPUs ours/base measured 1.4-2.9x in time against
             3.9-4.2x in FLOPs, so the bases get more epochs than the wall clock alone would give them).

Setting (named below; `DECODER_EPOCHS` is to be confirmed on the validation split by experiments/decoder_study/run.py
at each dataset's image size): ResNet-18 from RANDOM INIT (no ImageNet weights can be
downloaded here), standard stem; the method's hyperparameters are the paper's (tau 0.2, alpha 1, nu 0.5, eps_g 0.1,
eps_var 0.05, kappa 0.02, var_norm 'columns', Grad-CAM sign 'plus', Config defaults); the memory bank D is smaller than
the paper's 5632 so that Eq. 6 fires within the first epoch (checked: `bank_fill_warning` must be None for every run);
the SGD step is MoCo's 0.03 at every batch size (lr = 0.03 * 256 / batch), as in the previous round; no tuning.
"""
import argparse, dataclasses, functools, json, statistics, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent              # experiments/thesis
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))                # experiments/: runqueue.py, tables.py
from runqueue import RETRAINED, collect, execute, folder_state, log, state, _env      # the queue machinery shared by the rounds
from tables import load_results, train_segments, val_psnr_of

from synthfg.config import Config
from synthfg.data import data_root
from synthfg.models import base_class
from synthfg.perf import encoder_decoder_flops, ideal_counts
from synthfg.trainer import bank_fill_warning, build_data

THROUGHPUT = HERE/'throughput.json'
SUMMARIES = HERE/'summaries'                        # the committed summaries, one folder per run
PILOT = HERE/'pilot'                                # the pilot's summaries (--pilot)
ROUND1 = HERE.parent/'round1_cpu'/'summaries'       # the previous round's summaries (calibration of the estimate)

# ---- named settings --------------------------------------------------------------------------------------------
DECODER_EPOCHS = {'synthetic': 32, 'gtsrb': 8, 'flowers': 32}
                          # stage 1 epochs, chosen on the validation split (experiments/decoder_study/, nbs/04_decoder): at 64 px
                          # the synthetic set's x_hat still improves at 32 epochs (held-out identification 6-19% at 16, 46% at
                          # 32), GTSRB-35 at 32 px reaches 16.4 dB (mean image 11.5) by 4 and still rises; flowers12 as synthetic
                          # (same size, same 64 px). Stage 1 runs ONCE per dataset and seed (group 'stage1', `epochs=0`) and
                          # every synthesized-pair run of that dataset and seed starts from its decoder (`decoder_init`)
VAL_FRAC = 0.1            # Config.val_frac: the validation split carved from the training split (val_psnr is logged on it)
SEEDS = (0, 1, 2)
DATASETS = ('synthetic', 'gtsrb', 'flowers')
EPOCHS = {'synthetic': 6, 'gtsrb': 3, 'flowers': 8}   # joint epochs, from 'python experiments/thesis/run.py --size 2' (main group ~2 h)
ALPHAS = (0.5, 1.0, 2.0)
GROUPS = ('stage1', 'main', 'zeronoise', 'ablation', 'alpha', 'matched_mocov2', 'matched_simsiam')
JOBS = 2                  # runs at a time (single-threaded each); the group sizes assume this

def dataset_configs(root):
    "The three dataset settings (everything but method, variant, epochs and seed)."
    common = dict(arch='resnet18', small_stem=False, weights=None, workers=0, eval_every=0, log_every=5, progress=False)
    return {
        'synthetic': dict(common, decoder_epochs=DECODER_EPOCHS['synthetic'], dataset='synthetic', dataset_kw={'seed': 0, 'n_per_class': 100, 'img_size': 64},
                          img_size=64, batch_size=32, lr=0.03 * 256 / 32, K=512, D=512),
        'gtsrb': dict(common, decoder_epochs=DECODER_EPOCHS['gtsrb'], dataset='gtsrb', data_root=str(root/'gtsrb35'), dataset_kw={'gtsrb_subset': True, 'seed': 0},
                      img_size=32, batch_size=64, lr=0.03 * 256 / 64, K=4096, D=1024),
        'flowers': dict(common, decoder_epochs=DECODER_EPOCHS['flowers'], dataset='folder', data_root=str(root/'flowers12'), img_size=64, batch_size=32,
                        lr=0.03 * 256 / 32, K=512, D=512),
    }

def make_config(base, **kw):
    "A validated Config of `base` + `kw`, with the validation split `val_frac=VAL_FRAC`."
    return Config(**{**base, 'val_frac': VAL_FRAC, **kw}).validate()

# ---- cost model (closed form, synthfg.perf) ----------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _flops(arch, img_size, small_stem, decoder_width, batch_size):
    "(F, G) of `synthfg.perf.encoder_decoder_flops`, counted once per setting (it traces the modules on device 'meta')."
    return encoder_decoder_flops(Config(arch=arch, img_size=img_size, small_stem=small_stem, decoder_width=decoder_width,
                                        batch_size=batch_size))

def stage_costs(cfg):
    "`(joint, stage1)`: FLOPs of one joint-training step and of one decoder pre-training step of `cfg` (closed form)."
    F, G = _flops(cfg.arch, cfg.img_size, cfg.small_stem, cfg.decoder_width, cfg.batch_size)
    a, b, _ = ideal_counts(cfg)
    return a * F + b * G, (F + 3 * G) if cfg.synth else 0.      # stage 1: recon_forward = f(x) no grad + h fwd/bwd

def run_flops(cfg, spe):
    "Closed-form FLOPs of a whole run of `cfg` with `spe` steps per epoch (stage 1 + stage 2)."
    joint, s1 = stage_costs(cfg)
    return spe * (cfg.epochs * joint + (cfg.decoder_epochs if cfg.synth else 0) * s1)

def matched_epochs(base_cfg, ours_cfg):
    "Epochs of the plain base that cost as many FLOPs as the `ours_cfg` run (stage 1 included), rounded."
    plain, _ = stage_costs(base_cfg)
    return max(base_cfg.epochs, round(run_flops(ours_cfg, 1) / plain))

# ---- the queue -----------------------------------------------------------------------------------------------------
def variants(ds, base):
    "(group, label, Config overrides) of every run of dataset `ds` (`base`: its dataset setting with epochs)."
    ours = lambda m, **kw: dict(method=m, synth=True, **kw)
    out = [('stage1', 'stage1', dict(method='mocov2', synth=True, epochs=0))]     # decoder pre-training alone (shared)
    out += [('main', f"{m}{'_ours' if s else ''}", dict(method=m, synth=s)) for m in ('mocov2', 'simsiam') for s in (False, True)]
    out += [('ablation', f'mocov2_ours_{p}', ours('mocov2', perturb=p)) for p in ('gradcam', 'lowvar')]
    out += [('alpha', f'mocov2_lr_alpha{a:g}', ours('mocov2', nu=0.0, alpha=a)) for a in ALPHAS]
    out += [('zeronoise', f'{m}_ours_eps0', ours(m, eps_g=0.0, eps_var=0.0)) for m in ('mocov2', 'simsiam')]
    for m in ('mocov2', 'simsiam'):
        e = matched_epochs(make_config(base, method=m, synth=False), make_config(base, method=m, synth=True))
        out.append((f'matched_{m}', f'{m}_ep{e}', dict(method=m, synth=False, epochs=e)))
    return out

def plan(runs_dir, groups, root, datasets=DATASETS, epochs=None, seeds=SEEDS):
    "Every run of `groups`, in queue order (group, seed, dataset, most expensive first): dicts with name, cfg, spe, flops."
    settings, out = dataset_configs(root), []
    epochs = {**EPOCHS, **(epochs or {})}
    n_train = {ds: len(build_data(make_config({**settings[ds], 'epochs': 1}))) for ds in datasets}
    for g in GROUPS:
        if g not in groups: continue
        for seed in seeds:
            batch = []
            for ds in datasets:
                base = {**settings[ds], 'epochs': epochs[ds]}
                for grp, label, kw in variants(ds, base):
                    if grp != g: continue
                    name, needs = f'{ds}_{label}_s{seed}', None
                    if kw.get('synth') and grp != 'stage1':             # starts from the shared stage 1 of (ds, seed)
                        needs = f'{ds}_stage1_s{seed}'; kw = {**kw, 'decoder_init': str(runs_dir/needs)}
                    cfg = make_config(base, **kw, seed=seed, out=str(runs_dir/name))
                    warn = bank_fill_warning(cfg, n_train[ds])
                    if warn: raise SystemExit(f"{name}: {warn}")
                    spe = n_train[ds] // cfg.batch_size
                    batch.append(dict(name=name, group=g, dataset=ds, label=label, seed=seed, cfg=cfg, spe=spe, needs=needs,
                                      n_train=n_train[ds], flops=run_flops(cfg, spe)))
            out += sorted(batch, key=lambda r: -r['flops'])
    return out

# ---- a fresh machine: committed summaries, no run folders -----------------------------------------------------------
def _first_record(d):
    "The first line of folder `d`'s metrics.jsonl (its 'time' field makes it unique to one training), or None."
    f = Path(d)/'metrics.jsonl'
    if not f.is_file(): return None
    with open(f) as fh: line = fh.readline().strip()
    return json.loads(line) if line else None

def provenance(run, results_dir):
    """'new': nothing committed under `results_dir` for this run; 'same': the committed summaries came from this run
    folder (same first metrics record); 'other': they came from another training of the same name (another machine:
    run folders are git-ignored), so this folder, if it holds a run, is a retraining."""
    old = Path(results_dir)/run['name']
    if not (old/'metrics_fast.json').is_file(): return 'new'
    mine = _first_record(run['cfg'].out)
    return 'same' if mine is not None and mine == _first_record(old) else 'other'

def queue_states(runs, results_dir):
    """{name: state}: the run folder's state (`folder_state`), except for a run committed from another training
    (`provenance` 'other'): 'committed' (skipped), or 'retrain' when it is the shared stage 1 of a run still to do, whose
    decoder weights are needed and were never committed; it is trained again (same config and seed) and its summaries go
    to results_dir/NAME/retrained/ (`mark_retrained`), the committed ones stay."""
    st = {r['name']: state(r) if provenance(r, results_dir) != 'other' else 'committed' for r in runs}
    needed = {r['needs'] for r in runs if r['needs'] and st[r['name']] not in ('done', 'committed')}
    return {n: 'retrain' if s == 'committed' and n in needed else s for n, s in st.items()}

def _summary(d):
    "What `mark_retrained` compares of a stage-1 folder: its last validation PSNR, mean of its last 5 logged losses, linear top-1 and kNN."
    recs = [json.loads(l) for l in (Path(d)/'metrics.jsonl').read_text().splitlines() if l.strip()]
    fast = json.loads((Path(d)/'metrics_fast.json').read_text())
    loss = [x['loss'] for x in recs if x.get('kind') == 'train'][-5:]
    return dict(val_psnr=val_psnr_of({'final': json.loads((Path(d)/'final_metrics.json').read_text())}),
                loss_last5=statistics.fmean(loss) if loss else None,
                linear_top1=fast['linear_top1']['1.0'], knn_top1=fast['knn_top1'])

def mark_retrained(run, results_dir):
    "Write RETRAINED into a finished retraining's folder: which committed run it stands in for and how the two compare."
    new, old = Path(run['cfg'].out), Path(results_dir)/run['name']
    note = dict(run=run['name'], date=time.strftime('%Y-%m-%d %H:%M:%S'),
                why='trained again with the same config and seed: the committed run\'s weights were not on this machine '
                    '(run folders are git-ignored); not bit-identical to it: the losses differ from the first logged step on',
                committed=_summary(old), retrained=_summary(new))
    (new/RETRAINED).write_text(json.dumps(note, indent=1))
    return note

def collect_run(run, results_dir):
    "`collect` a finished run; a retraining of a committed run (`provenance` 'other') is first marked (`mark_retrained`), so it lands in NAME/retrained/."
    if provenance(run, results_dir) == 'other' and not (Path(run['cfg'].out)/RETRAINED).is_file(): mark_retrained(run, results_dir)
    collect(run, results_dir)

def with_stage1(runs, runs_dir, root):
    "`runs` plus, first, the shared stage-1 runs they start from that are neither among them nor finished under `runs_dir`."
    have = {r['name'] for r in runs}
    need = {r['needs'] for r in runs if r['needs'] and r['needs'] not in have and folder_state(runs_dir/r['needs']) not in ('done', 'trained')}
    if not need: return runs
    extra = [r for r in plan(runs_dir, ['stage1'], root, sorted({r['dataset'] for r in runs}), seeds=tuple(sorted({r['seed'] for r in runs})))
             if r['name'] in need]
    return extra + runs

# ---- throughput and the CPU-hours estimate ------------------------------------------------------------------------
def kind(cfg):
    "The measured kind a run's step time is read from: base method, + ours or + L_R only (nu = 0)."
    return cfg.method + ('' if not cfg.synth else '_ours' if cfg.nu > 0 else '_lr')

KINDS = {'mocov2': dict(method='mocov2', synth=False), 'mocov2_ours': dict(method='mocov2', synth=True),
         'simsiam': dict(method='simsiam', synth=False), 'simsiam_ours': dict(method='simsiam', synth=True),
         'mocov2_lr': dict(method='mocov2', synth=True, nu=0.0)}

def estimate_s(run, tp, cal=1.0, eval_s=True, timed=None):
    """Wall seconds of `run` at 1 thread: training from the round's own step time where `timed` (`round_timings`) has its
    dataset and kind, else from measured throughput `tp` x `cal` (stage 2 measured, stage 1 scaled by FLOPs); + eval."""
    cfg, d, t = run['cfg'], tp['datasets'][run['dataset']], timed or {}
    own = t.get('step_s', {}).get((run['dataset'], kind(cfg)))         # measured by the round itself: no calibration
    step_s, c = (own, 1.0) if own else (d['step_s'][kind(cfg)], cal)
    joint, s1 = stage_costs(dataclasses.replace(cfg, epochs=max(cfg.epochs, 1)))
    s1_s = step_s * s1 / joint if cfg.synth else 0.
    own_s1 = cfg.decoder_epochs if cfg.synth and cfg.decoder_init is None else 0     # shared stage 1: its own run's cost
    ev = t.get('eval_s', {}).get(run['dataset'], d['eval_s'])
    return c * run['spe'] * (cfg.epochs * step_s + own_s1 * s1_s) + (ev if eval_s else 0.)

def resumed(run):
    "Whether a run's training was interrupted and resumed (more than one process trained it: `train_segments`)."
    return len(train_segments(run)) > 1

def round_timings(results):
    """What the round's finished runs under `results` (committed summaries, read by `tables.load_results`)
    measured, in the queue's own condition (2 single-threaded jobs at once, overheads included):
    {'step_s': {(dataset, kind): median train_s / steps}, 'eval_s': {dataset: median eval_s}, 'n': runs read}.
    Stage-1-only runs, runs that trained their own stage 1 and resumed runs (`resumed`) give no step time."""
    steps, evals, runs = {}, {}, [r for r in load_results(results) if r['name'].split('_')[0] in DATASETS and 'eval_s' in r['timing']]
    for r in runs:
        ds, cfg, n = r['name'].split('_')[0], r['cfg'], r['final'].get('global_step')
        evals.setdefault(ds, []).append(r['timing']['eval_s'])
        if cfg.epochs and n and not resumed(r) and not (cfg.synth and cfg.decoder_init is None and cfg.decoder_epochs):
            steps.setdefault((ds, kind(cfg)), []).append(r['timing']['train_s'] / n)
    med = lambda v: {k: statistics.median(x) for k, x in v.items()}
    return dict(step_s=med(steps), eval_s=med(evals), n=len(runs))

def measure(root, runs_dir, steps=10, warm=3, jobs=JOBS):
    "Time `steps` joint-training steps of every kind on every dataset (1 thread, `jobs` at a time) -> throughput.json."
    settings, todo = dataset_configs(root), []
    for ds in DATASETS:
        for k, kw in KINDS.items():
            out = runs_dir/'measure'/f'{ds}_{k}'
            cfg = make_config({**settings[ds], 'epochs': 1}, **kw, decoder_epochs=0, log_every=1, max_steps=steps, out=str(out))
            todo.append((ds, k, cfg))
    (runs_dir/'measure').mkdir(parents=True, exist_ok=True)
    def one(item):
        ds, k, cfg = item
        y = runs_dir/'measure'/f'{ds}_{k}.yaml'; cfg.to_yaml(y)
        r = subprocess.run([str(Path(sys.executable).parent/'synthfg_train'), '--config', str(y), '--overwrite', '--no-progress'],
                           env=_env(1), capture_output=True, text=True)
        if r.returncode: raise SystemExit(f"measure {ds} {k} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        recs = [json.loads(l) for l in (Path(cfg.out)/'metrics.jsonl').read_text().splitlines() if l.strip()]
        t = {x['global_step']: x['time'] for x in recs if x.get('kind') == 'train'}
        return ds, k, (t[steps] - t[warm]) / (steps - warm)
    t0, load0 = time.time(), _loadavg()
    with ThreadPoolExecutor(jobs) as ex: res = list(ex.map(one, todo))
    out = {'steps': steps, 'warmup_steps': warm, 'jobs': jobs, 'threads': 1, 'date': time.strftime('%Y-%m-%d %H:%M:%S'),
           'loadavg_start': load0, 'loadavg_end': _loadavg(), 'wall_s': time.time() - t0,
           'note': 'seconds per joint-training step, mean of steps warm+1..steps, `jobs` single-threaded runs at once',
           'datasets': {}}
    for ds, k, s in res:
        d = out['datasets'].setdefault(ds, {'batch_size': settings[ds]['batch_size'], 'img_size': settings[ds]['img_size'],
                                            'eval_s': EVAL_S[ds], 'step_s': {}, 'img_per_s': {}})
        d['step_s'][k] = s; d['img_per_s'][k] = settings[ds]['batch_size'] / s
    THROUGHPUT.write_text(json.dumps(out, indent=1))
    return out

EVAL_S = {'synthetic': 60., 'gtsrb': 60., 'flowers': 15.}   # synthfg_eval --protocol fast, 1 thread (previous round; synthetic: pilot)

def _loadavg():
    try: return [float(x) for x in Path('/proc/loadavg').read_text().split()[:3]]
    except OSError: return None

def calibration(tp, old=ROUND1):
    """Median of (measured wall time of a previous-round flowers12 run) / (its estimate from `tp`): the previous round ran
    the queue's condition (2 single-threaded jobs at a time) on the same settings (64 px, batch 32, K=D=512),
    while `tp` may have been measured beside other work; None without those runs."""
    rs = []
    for d in sorted(old.glob('flowers_*_s*')):
        if not (d/'timing.json').is_file() or not (d/'config.yaml').is_file(): continue
        cfg, t = Config.from_yaml(d/'config.yaml'), json.loads((d/'timing.json').read_text())
        if cfg.perturb != 'both' or kind(cfg) not in tp['datasets']['flowers']['step_s']: continue
        n = 720                                                  # the previous round trained on all 720 images
        rs.append(t['train_s'] / estimate_s(dict(cfg=cfg, dataset='flowers', spe=n // cfg.batch_size), tp, eval_s=False))
    return statistics.median(rs) if rs else None

def print_plan(runs, tp, results=None):
    "The queue (name, group, state, estimated minutes) and the CPU-hours / wall-hours estimate of each group."
    by_group, raw, cal = {}, 0., (calibration(tp) or 1.0) if tp else 1.0
    timed = round_timings(results) if results else {}
    states = queue_states(runs, results) if results else {r['name']: state(r) for r in runs}
    for r in runs:
        est = estimate_s(r, tp, cal, timed=timed) if tp else float('nan')
        raw += estimate_s(r, tp) if tp else 0.
        st = states[r['name']]
        by_group.setdefault(r['group'], []).append((est, st))
        print(f"{r['name']:36s} {r['group']:9s} {r['cfg'].epochs:3d} ep {st:8s} ~{est / 60:5.1f} min")
    if not tp: print(f"no {THROUGHPUT.relative_to(REPO)}: run --measure for the estimate"); return
    print(f"\nestimate from {THROUGHPUT.relative_to(REPO)} ({tp['date']}, {tp['jobs']} single-threaded jobs at once, load "
          f"{tp['loadavg_start']} -> {tp['loadavg_end']}):")
    for ds, d in tp['datasets'].items():
        print(f"  {ds:9s} img/s per job: " + ', '.join(f"{k} {v:.1f}" for k, v in d['img_per_s'].items()))
    print(f"  calibration x{cal:.2f} (training time only; eval from EVAL_S): median ratio of the previous round's flowers12 training times (same settings, 2 jobs at a time; "
          f"older code) to their estimate from these throughputs; applied where the round has not timed a kind itself")
    if timed.get('step_s'):
        print(f"  the round's own timings ({timed['n']} finished runs under {Path(results).parent.name}/{Path(results).name}/, median seconds per joint-training step "
              f"of those never resumed, 2 single-threaded jobs at once) replace the throughput for: " + ', '.join(f"{ds} {k} {v:.2f} s" for (ds, k), v in sorted(timed['step_s'].items()))
              + "; eval: " + ', '.join(f"{ds} {v:.0f} s" for ds, v in sorted(timed['eval_s'].items())))
    tot = left = 0.
    for g, ests in by_group.items():
        h, l = sum(e for e, _ in ests) / 3600, sum(e for e, st in ests if st not in ('done', 'committed')) / 3600; tot += h; left += l
        print(f"  group {g:9s} {len(ests):3d} runs  {h:5.2f} CPU-hours  ~{h / JOBS:4.2f} h wall at {JOBS} jobs; "
              f"not done: {sum(st not in ('done', 'committed') for _, st in ests)} runs, ~{l / JOBS:4.2f} h wall")
    print(f"  all           {len(runs):3d} runs  {tot:5.2f} CPU-hours  ~{tot / JOBS:4.2f} h wall at {JOBS} jobs; not done: ~{left / JOBS:4.2f} h wall "
          f"(throughput alone, uncalibrated: {raw / 3600:.1f} CPU-hours)")

def keeps_checkpoint(run):
    "Whether a finished run keeps RUN/checkpoint.pt: the seed-0 runs with synthesized pairs (Fig. 4, figures); others free ~0.1-0.2 GB each."
    return run['group'] == 'stage1' or (run['seed'] == 0 and run['cfg'].synth)

def size_epochs(root, tp, hours=2.0, jobs=JOBS):
    "Per dataset, the most joint epochs at which its share (1/3) of the main group -- the largest group -- fits `hours` of wall at `jobs`."
    cal, out = calibration(tp) or 1.0, {}
    for ds in DATASETS:                     # a group's cost is linear in the epochs: a + b * E (the matched epochs scale too)
        c1, c2 = [sum(estimate_s(r, tp, cal) for r in plan(Path('/nonexistent'), ['main'], root, [ds], epochs={ds: e})) for e in (1, 2)]
        out[ds] = max(1, int((hours * jobs * 3600 / len(DATASETS) - (2 * c1 - c2)) // (c2 - c1)))
    return out

def report(runs_dir):
    "Re-execute the results page (nbs/10_results.ipynb, from the committed summaries) and, if seed-0 checkpoints are under `runs_dir`, Fig. 4; -> exit code."
    exe, tool = sys.executable, str(REPO/'tools'/'exec_nb.py')
    rc = subprocess.run([exe, tool, str(REPO/'nbs'/'10_results.ipynb')], cwd=REPO).returncode
    if any(runs_dir.glob('*_mocov2_ours_s0/checkpoint.pt')):
        env = {**_env(2), 'SYNTHFG_THESIS_RUNS': str(runs_dir.resolve())}
        rc = rc or subprocess.run([exe, tool, str(REPO/'nbs'/'09_figures.ipynb'), '--flags', 'thesis'], cwd=REPO, env=env).returncode
    else: print(f"no seed-0 checkpoints under {runs_dir}: Fig. 4 kept as committed")
    return rc

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', default=str(REPO/'runs'/'thesis'), help='run folders (checkpoints; git-ignored)')
    ap.add_argument('--results', default=str(SUMMARIES), help='committed summaries read by the results page')
    ap.add_argument('--groups', default=','.join(GROUPS), help=f'comma-separated subset of {GROUPS}')
    ap.add_argument('--datasets', default=','.join(DATASETS), help=f'comma-separated subset of {DATASETS}')
    ap.add_argument('--seeds', default=','.join(map(str, SEEDS)), help=f'comma-separated subset of the seeds {SEEDS}')
    ap.add_argument('--jobs', type=int, default=JOBS); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--data', default=None, help='folder holding gtsrb35/ and flowers12/ (default: synthfg.data.data_root())')
    ap.add_argument('--dry-run', action='store_true'); ap.add_argument('--collect', action='store_true')
    ap.add_argument('--measure', action='store_true'); ap.add_argument('--pilot', action='store_true')
    ap.add_argument('--report', action='store_true', help='re-execute the results notebook (and Fig. 4 if the checkpoints exist)')
    ap.add_argument('--size', type=float, default=None, metavar='HOURS',
                    help='print the EPOCHS that make the main group (the largest) last about HOURS of wall time')
    ap.add_argument('--keep-checkpoints', action='store_true',
                    help='keep every finished run\'s checkpoint.pt (default: only the seed-0 runs with synthesized pairs)')
    a = ap.parse_args()
    groups = [g.strip() for g in a.groups.split(',') if g.strip()]
    datasets = [d.strip() for d in a.datasets.split(',') if d.strip()]
    try: seeds = tuple(int(x) for x in a.seeds.split(',') if x.strip())
    except ValueError: ap.error(f"--seeds: expected comma-separated integers, got {a.seeds!r}")
    if bad := [g for g in groups if g not in GROUPS]: ap.error(f"--groups: unknown group(s) {bad}; choose from {GROUPS}")
    if bad := [d for d in datasets if d not in DATASETS]: ap.error(f"--datasets: unknown dataset(s) {bad}; choose from {DATASETS}")
    root = Path(a.data) if a.data else data_root()
    for sub in ('gtsrb35', 'flowers12'):
        if not (root/sub).is_dir(): ap.error(f"--data: {root/sub} is not a folder (set --data or $SYNTHFG_DATA)")
    runs_dir, results_dir = Path(a.runs), Path(a.results)
    if a.report: sys.exit(report(runs_dir))
    if a.measure: print(json.dumps(measure(root, runs_dir), indent=1)); return
    if a.size:
        tp = json.loads(THROUGHPUT.read_text())
        print(f"joint epochs per dataset for a main group of ~{a.size:g} h wall at {JOBS} jobs (set EPOCHS to these): "
              f"{size_epochs(root, tp, a.size)}"); return
    if a.pilot:     # one 1-epoch run of the queue's synthetic MoCo v2 + ours, seed 0, in its own folders
        runs_dir, results_dir = runs_dir.parent/'thesis_pilot', PILOT
        runs = [r for r in plan(runs_dir, ['main'], root, ['synthetic'], epochs={'synthetic': 1}, seeds=(0,))
                if r['label'] == 'mocov2_ours']
        for r in runs: r['cfg'].decoder_epochs, r['cfg'].decoder_init, r['needs'] = 1, None, None   # its own 1 decoder epoch + 1 joint epoch
    else: runs = with_stage1(plan(runs_dir, groups, root, datasets, seeds=seeds), runs_dir, root)
    tp = json.loads(THROUGHPUT.read_text()) if THROUGHPUT.is_file() else None
    if a.dry_run or a.collect:
        if a.collect:
            for r in runs:
                if state(r) == 'done': collect_run(r, results_dir)
        print_plan(runs, tp, results_dir); return
    (runs_dir/'logs').mkdir(parents=True, exist_ok=True); (runs_dir/'configs').mkdir(parents=True, exist_ok=True)
    log(runs_dir, f"queue: {len(runs)} runs ({sum(state(r) == 'done' for r in runs)} done), {a.jobs} at a time, "
                  f"{a.threads} thread(s) each; summaries to {results_dir}")
    done, states = {r['name']: threading.Event() for r in runs}, queue_states(runs, results_dir)
    def run_one(r):
        if states[r['name']] == 'committed':          # finished on another machine and not needed here
            done[r['name']].set(); return 'done'
        if r['needs'] in done:                       # the shared stage 1 of this run is in the queue: wait for it
            done[r['needs']].wait()
        if r['needs'] and folder_state(runs_dir/r['needs']) not in ('done', 'trained'):
            log(runs_dir, f"SKIPPED {r['name']}: its stage 1 {r['needs']} did not finish"); done[r['name']].set(); return 'failed'
        try:
            if states[r['name']] != 'retrain': st = execute(r, runs_dir, results_dir, a.threads)
            elif (st := execute(r, runs_dir, None, a.threads)) == 'done':     # its summaries must not replace the committed ones
                (Path(r['cfg'].out)/RETRAINED).unlink(missing_ok=True); collect_run(r, results_dir)   # compared afresh
                n = json.loads((Path(r['cfg'].out)/RETRAINED).read_text())
                log(runs_dir, f"retrained {r['name']}: committed {n['committed']}, now {n['retrained']}")
        finally: done[r['name']].set()
        ck = Path(r['cfg'].out)/'checkpoint.pt'
        if st == 'done' and not a.keep_checkpoints and not keeps_checkpoint(r) and ck.exists(): ck.unlink()
        return st
    with ThreadPoolExecutor(a.jobs) as ex: res = list(ex.map(run_one, runs))
    log(runs_dir, f"finished: {res.count('done')} done, {res.count('failed')} failed")
    sys.exit(1 if 'failed' in res else 0)

if __name__ == '__main__': main()
