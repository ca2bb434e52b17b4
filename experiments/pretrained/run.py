"""The round "pretrained" (issue 25): does the paper's method beat its base where the base learns? A supervised,
class-disjoint init (the stand-in for ImageNet weights), SSL fine-tuning on a fine-grained target (GTSRB's 15
warning-triangle classes), arms that share the init and the stage-1 decoder, gates decided before the runs.

    python experiments/pretrained/run.py --dry-run             # the queue and each run's state
    python experiments/pretrained/run.py --init                # the init (init.py) and gate G1 (its rerun check if committed)
    python experiments/pretrained/run.py --groups core,controls --seeds 105,106   # end to end: the init if its weights
                        # are missing, stage 1 + gate G3, then the arms (2 jobs x 1 thread); the seeds must be the init's
    python experiments/pretrained/run.py --groups core --seeds 0,1 --init-id init2  # an init other than this CPU kind's
    python experiments/pretrained/run.py --schedule e10 --arms mocov2 --seeds 0   # a run of the first (failed) schedule
    python experiments/pretrained/run.py --report              # the tables, gates and verdict from the committed summaries

--init-id defaults to the init made on this machine's CPU kind (INIT_CPU: init2 on the Intel Xeon family 6 model 167,
init2_amd on the AMD EPYC family 26 model 2; README.md, "Blocks"), else init2.

Everything is resumable: a finished run is skipped, an interrupted one resumed from its checkpoint; each finished
run's summaries are copied at once to experiments/pretrained/summaries/INIT/ (portable paths; INIT is the init every
arm shares): the stage 1s (shared by every schedule) to stage1_s<seed>/, the arms to <schedule>/<arm>_s<seed>/.
An arm starts only if the init's weights on disk have the committed sha256. Run folders:
runs/pretrained/ (git-ignored; weights and checkpoints are never committed). The protocol, the gates and the
pre-registered reading are in README.md beside this script.
"""
import argparse, json, math, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(HERE), str(HERE.parent)]
from common import TARGET, cpu_id, data_root, method_arm, portable, target_tree, weights_sha256
from runqueue import collect, execute, folder_state, log

# The inits of the round (every arm of a seed shares its init). init1 (the first) cannot be retrained on every machine (its numbers
# depend on the CPU: init1/init_reproducibility.json), and its weights were lost with its machine; its runs stay as
# records in summaries/init1/. init2 is trained under init.py's AVX2 cap and identified by its weights' sha256.
# init2 cannot be retrained on every CPU kind either (an AMD EPYC under the same cap gave other weights:
# init2/init_s0_rerun_amd.json), so the round's seeds are blocks: each seed runs whole (its stage 1 and every arm) on
# one init made by the same recipe on the CPU kind of the machine that runs it (README.md, "Blocks"). The reading pools
# the seeds' paired differences; a seed number belongs to one init (INITS: its seeds).
INITS = {'init2': range(0, 100),        # Intel Xeon, AVX-512 + AMX (family 6, model 167): the first, G1 chose its epoch
         'init2_amd': range(100, 200)}  # AMD EPYC (family 26, model 2): a replicate, the same recipe stopped at the same epoch
FIRST = 'init2'                         # its seed 0 decided the method arm (gate G4)
INIT_CPU = {'init2': ('6', '167'), 'init2_amd': ('26', '2')}   # (cpu family, model) of the CPU kind that made each init
INIT = FIRST
INIT_DIR = HERE / INIT                  # init_s0.json (per epoch: metrics, weights_sha256), gate_g1.json
SUMMARIES = HERE / 'summaries' / INIT   # stage1_s<seed>/ and <schedule>/<arm>_s<seed>/
INIT_EPOCHS, INIT_SEED = 4, 0
G1_RANGE = (40.0, 85.0)       # gate G1: the initial encoder's linear top-1 on the target, 100 % labels
INIT_THREADS = 1              # init.py trains with 1 thread: the thread count changes the weights too
G1_PICK_MAX = 80.0            # the init is the LAST epoch of init.py whose linear top-1 is in [40, 80] (room to improve)

# ---- the protocol (README.md): every arm shares these ------------------------------------------------------------
COMMON = dict(dataset='folder', arch='resnet18', img_size=64, small_stem=False, batch_size=64, lr=0.03,
              m=0.999, m_steps=4700, D=4096, hflip=False, epochs=10, decoder_epochs=15, eval_every=0, workers=1,
              progress=False, log_every=10, device='cpu')
# The joint-training schedule of the arms (the stage 1s do not depend on it: Adam at decoder_lr, encoder frozen).
SCHEDULES = {
    'e10': dict(epochs=10, lr=0.03),        # the first: gate G2 FAILED (MoCo v2 seed 2 ended 1.19 below the init)
    'e5_lr015': dict(epochs=5, lr=0.015),   # the second, fixed after G2 failed and before any arm of it ran: half the
                                            # lr (0.015 per 256) and half the steps (435; m_steps keeps the forgetting);
                                            # G2 FAILED worse (seed 2: -1.90): the gentler run stays in the early drop
    'e20': dict(epochs=20, lr=0.03),        # the third, a pilot on MoCo v2 seeds 2 and 0 (G2 PASSED: +1.57, +0.49): twice e10's steps at its lr,
                                            # closer to the paper's 100 epochs, to see whether the early drop recovers
}
SCHEDULE = 'e20'                            # the current one: its G2 decides whether ours' seeds count
STAGE1 = dict(epochs=0, synth=True)   # decoder_epochs 15: 5 failed gate G3 (summaries/init1/stage1_e5_s*, README.md)
ARMS = {   # name: (overrides, group)
    'mocov2':        (dict(synth=False), 'core'),
    'ours':          (dict(synth=True), 'core'),
    'zeronoise':     (dict(synth=True, eps_g=0.0, eps_var=0.0), 'core'),
    'lr_only':       (dict(synth=True, nu=0.0), 'controls'),
    'shuffle':       (dict(synth=True, perturb='shuffle'), 'controls'),
    'mocov2_matched': (dict(synth=False), 'controls'),      # epochs set from the measured cost ratio (matched_epochs)
    'ours_var':      (dict(synth=True, noise_scale='var'), 'g4alt'),   # G4's declared alternative: N(0, x) read as a variance
}
GROUPS = ('core', 'controls', 'g4alt')


def use_init(name):
    "Point the module at init `name` (--init-id): its folder of committed files and its summaries."
    global INIT, INIT_DIR, SUMMARIES
    INIT, INIT_DIR, SUMMARIES = name, HERE / name, HERE / 'summaries' / name


def arms(schedule):
    """ARMS as the schedule's method arm (`common.method_arm`, gate G4 on seed 0) makes them: if it is 'ours_var', that
    arm is in 'core', 'ours' in 'g4alt', and the eta-shuffle control reads N(0, x) as a variance too (it pairs with it)."""
    if method_arm(HERE / 'summaries' / FIRST / schedule) == 'ours':
        return ARMS
    a = dict(ARMS, ours=(ARMS['ours'][0], 'g4alt'), ours_var=(ARMS['ours_var'][0], 'core'))
    a['shuffle'] = ({**ARMS['shuffle'][0], 'noise_scale': 'var'}, 'controls')
    return a


def default_init():
    "The init made on this machine's CPU kind (INIT_CPU, /proc/cpuinfo), else FIRST: the --init-id a plain command gets."
    c = cpu_id() or {}
    return next((k for k, fm in INIT_CPU.items() if fm == (c.get('family'), c.get('model'))), FIRST)


def init_weights(epoch):
    "A weights file of the init, relative to the repository root (run.py works from there; the configs store it so)."
    return Path(f'runs/pretrained/{INIT}_s{INIT_SEED}/weights_e{epoch}.pth')


def chosen_init():
    "The epoch gate G1 chose (INIT_DIR/gate_g1.json), or None before --init."
    p = INIT_DIR / 'gate_g1.json'
    return json.loads(p.read_text())['chosen_epoch'] if p.exists() else None


def make_cfg(name, runs, tree, **kw):
    from synthfg.config import Config
    return Config(**{**COMMON, 'data_root': portable(tree), 'weights': str(init_weights(chosen_init())),
                     'out': portable(runs / name), **kw})


def arm_dirs(runs, schedule):
    "Run folder root and committed summaries of a schedule's arms (the first schedule's summaries predate the split)."
    return Path(runs) / schedule, SUMMARIES / schedule


def matched_epochs(schedule):
    """Joint epochs of the compute-matched MoCo v2: the method arm's measured train seconds / MoCo v2's, times MoCo v2's
    epochs, on the lowest seed of this init where both ran at 1 thread (the cost ratio is the CPU kind's: a block's own).
    Only the joint training counts (the stage 1 the method arm also needs, ~12 min, does not). Until 2026-12-07 the ratio
    came from `init2` seed 0's 'ours' (2 threads) over its MoCo v2 (1 thread): 57 epochs, a mixed-thread measure
    (README.md, "Blocks"); no compute-matched run had used it."""
    arm, d = method_arm(HERE / 'summaries' / FIRST / schedule), SUMMARIES / schedule
    def secs(a, seed):
        f = d / f'{a}_s{seed}' / 'timing.json'
        t = json.loads(f.read_text()) if f.exists() else {}
        return t['train_s'] if t.get('threads') == 1 else None
    for seed in INITS[INIT]:
        if (o := secs(arm, seed)) and (b := secs('mocov2', seed)):
            ep = SCHEDULES[schedule]['epochs']
            return max(ep, round(ep * o / b))
    return None


def queue(runs, tree, groups, seeds, schedule=SCHEDULE):
    "Per seed: its stage 1 (the decoder; `decoder_init` requires the arm's seed), then the arms of `groups` under `schedule`."
    out, arm_runs = [], arm_dirs(runs, schedule)[0]
    for seed in seeds:
        out.append(dict(name=f'stage1_s{seed}', cfg=make_cfg(f'stage1_s{seed}', runs, tree, seed=seed, **STAGE1), group='stage1'))
        for arm, (kw, group) in arms(schedule).items():
            if group not in groups: continue
            kw = {**SCHEDULES[schedule], **kw}
            if arm == 'mocov2_matched':
                ep = matched_epochs(schedule)
                if ep is None: continue          # needs a seed of this init with the method arm and MoCo v2 at 1 thread
                kw['epochs'] = ep
            if kw.get('synth'): kw['decoder_init'] = str(runs / f'stage1_s{seed}')
            name = f'{arm}_s{seed}'
            out.append(dict(name=name, cfg=make_cfg(name, arm_runs, tree, seed=seed, **kw), group=group))
    return out


# ---- the init's identity: arms of different inits cannot be paired ----------------------------------------------
def check_init(ep):
    "None when the weights on disk are the committed init (the sha256 in INIT_DIR/init_s0.json), else why not (one line)."
    import torch
    w = init_weights(ep)
    if not w.exists(): return f'{portable(w)} is missing (weights are not committed): run --init to train it again'
    want = json.loads((INIT_DIR / f'init_s{INIT_SEED}.json').read_text())['epochs'][ep - 1].get('weights_sha256')
    got = weights_sha256(torch.load(w, map_location='cpu'))
    if got != want:
        return (f'{portable(w)} is not the committed {INIT} (weights sha256 {got[:12]} != {str(want)[:12]} in '
                f'{portable(INIT_DIR)}/init_s{INIT_SEED}.json): arms trained from it could not be paired with the committed '
                f'runs. Delete it and run --init (init.py retrains it single-threaded under its AVX2 cap); if it was '
                f'retrained on this machine, this CPU kind makes other weights: use the init of this kind (--init-id, '
                f'README.md "Blocks")')
    return None


def make_init(tree, root, threads=1):
    """--init: train the init (init.py, 1 thread) up to its epoch where its weights are missing, then gate G1 on it: chosen
    anew (the first init), at FIRST's epoch (a replicate), or, when G1 is committed, the rerun check of its sha256."""
    ep = chosen_init()           # known: train only up to it again (a fresh machine), and check the rerun
    replicate = INIT != FIRST and ep is None
    if replicate: ep = replicate_epoch()
    if not all(init_weights(e).exists() for e in range(1, (ep or INIT_EPOCHS) + 1)):
        subprocess.run([sys.executable, str(HERE / 'init.py'), '--epochs', str(INIT_EPOCHS), '--seed', str(INIT_SEED),
                        '--data-root', str(root), '--threads', str(INIT_THREADS), '--out', str(init_weights(1).parent),
                        '--summary-dir', str(INIT_DIR)] + (['--stop-after', str(ep)] if ep else []), check=True)
    return (init_gate(tree, threads) if ep is None else replicate_gate(tree, threads) if replicate
            else init_rerun(tree, ep, threads))


# ---- gate G1: the init's epochs on the target -----------------------------------------------------------------
def init_metrics(tree, ep):
    "The init's epoch `ep` on the target (the gates' columns): linear top-1 at 100 % and 20 % labels, kNN, rank-1, mAP."
    from synthfg.evaluation import evaluate_encoder
    from synthfg.models import make_backbone
    enc, _ = make_backbone('resnet18', str(init_weights(ep)), small_stem=False)
    m = evaluate_encoder(enc.eval(), 'folder', tree, 64, fracs=(1.0, 0.2))
    return {k: m[k] for k in ('linear_top1', 'knn_top1', 'retrieval_rank1', 'retrieval_map')}


def init_gate(tree, threads=1):
    import torch
    torch.set_num_threads(threads)
    rows = {}
    for ep in range(1, INIT_EPOCHS + 1):
        rows[ep] = init_metrics(tree, ep)
        print(f'init epoch {ep}: {json.dumps(rows[ep])}', flush=True)
    ok = [ep for ep, r in rows.items() if G1_RANGE[0] <= r['linear_top1']['1.0'] <= G1_PICK_MAX]
    chosen = max(ok) if ok else None
    out = dict(rule=f'the last init epoch whose linear top-1 (100 % labels) on the target is in [{G1_RANGE[0]}, '
                    f'{G1_PICK_MAX}]; G1 passes if it is in [{G1_RANGE[0]}, {G1_RANGE[1]}]',
               epochs=rows, chosen_epoch=chosen, g1_pass=chosen is not None)
    (INIT_DIR / 'gate_g1.json').write_text(json.dumps(out, indent=1) + '\n')
    return out


def replicate_gate(tree, threads=1):
    """G1 on a replicate init (not FIRST): the same recipe stopped at the epoch FIRST's G1 chose (not chosen again), its
    linear top-1 on the target in G1_RANGE -> INIT_DIR/gate_g1.json."""
    import torch
    torch.set_num_threads(threads)
    ep = replicate_epoch()
    row = init_metrics(tree, ep)
    ok = G1_RANGE[0] <= row['linear_top1']['1.0'] <= G1_RANGE[1]
    out = dict(rule=f'a replicate of {FIRST}: the same recipe stopped at epoch {ep}, the epoch {FIRST}\'s G1 chose (not '
                    f'chosen again); G1 passes if its linear top-1 is in [{G1_RANGE[0]}, {G1_RANGE[1]}]',
               epochs={ep: row}, chosen_epoch=ep, g1_pass=ok, cpu=cpu_id())
    (INIT_DIR / 'gate_g1.json').write_text(json.dumps(out, indent=1) + '\n')
    return out


def replicate_epoch():
    "The epoch of FIRST's init that its gate G1 chose: a replicate init stops there."
    return json.loads((HERE / FIRST / 'gate_g1.json').read_text())['chosen_epoch']


def init_rerun(tree, ep, threads=1):
    """The chosen init epoch trained again (its weights are not committed): its metrics on the target beside the
    committed ones of gate G1 -> INIT_DIR/gate_g1_rerun.json, and whether the weights' sha256 is the committed one."""
    import torch
    torch.set_num_threads(threads)
    new = init_metrics(tree, ep)
    old = json.loads((INIT_DIR / 'gate_g1.json').read_text())['epochs'][str(ep)]
    out = dict(epoch=ep, rerun=new, committed=old, same=new == old, same_weights=check_init(ep) is None, torch=torch.__version__,
               cpu=cpu_id())
    (INIT_DIR / 'gate_g1_rerun.json').write_text(json.dumps(out, indent=1) + '\n')
    if not out['same_weights']:
        others = [k for k in INITS if k != INIT]
        print(f'run.py: this machine retrained {INIT} into other weights (its CPU kind differs from the one that made it); '
              f'its arms cannot be paired with the committed runs. Use the init of this CPU kind ({others}, --init-id; '
              f'README.md "Blocks") and git checkout {portable(INIT_DIR)}/ to keep the committed rerun records', file=sys.stderr)
    return out


# ---- gate G3: does the stage-1 decoder draw? --------------------------------------------------------------------
def stage1_rerun(r):
    """A committed stage 1 trained again (a fresh machine: its weights are not committed), set against the committed run
    -> summaries/INIT/NAME/rerun.json: are the logged losses of every step and the evaluation the same? The committed
    summary files are not replaced. (The thesis round keeps a rerun's whole summary in NAME/retrained/, runqueue's
    RETRAINED, because its reruns differ; here a block reruns bit for bit on its CPU kind, so the comparison is the record.)"""
    new, old = Path(r['cfg'].out), SUMMARIES / r['name']
    def steps(d): return [{k: v for k, v in json.loads(l).items() if k not in ('time', 'img_per_s')}
                          for l in (d / 'metrics.jsonl').read_text().splitlines() if l.strip()]
    def ev(d): return {k: json.loads((d / 'metrics_fast.json').read_text())[k] for k in ('linear_top1', 'knn_top1', 'retrieval_map')}
    t = json.loads((new / 'timing.json').read_text()) if (new / 'timing.json').exists() else {}
    out = dict(run=r['name'], date=time.strftime('%Y-%m-%d'), cpu=cpu_id(), steps_logged=len(steps(new)),
               same_logged_steps=steps(new) == steps(old), same_evaluation=ev(new) == ev(old), rerun_timing=t)
    (old / 'rerun.json').write_text(json.dumps(out, indent=1) + '\n')
    return out


def decoder_gate(stage1_dir, tree, threads=1):
    """G3: a linear probe trained on f(x) of the training images keeps >= 50 % of its test accuracy on f(x_hat) of the
    test images, x_hat = h(f(x)) the stage-1 decoder's reconstruction."""
    import torch
    from synthfg.checkpoint import load_checkpoint, stored_config, load_encoder
    from synthfg.decoder import Decoder
    from synthfg.evaluation import extract_features, plain_dataset, linear_eval_fast
    from synthfg.data import make_dataset
    torch.set_num_threads(threads)
    enc, cfg = load_encoder(stage1_dir)
    ck = load_checkpoint(stage1_dir)
    dec_sd = {k[len('decoder.'):]: v for k, v in ck['model'].items() if k.startswith('decoder.')}
    dec = Decoder(n_in=512, img_size=cfg.img_size, width=cfg.decoder_width)
    dec.load_state_dict(dec_sd); dec.eval()
    tr = plain_dataset(make_dataset('folder', tree, 'train'), cfg.img_size)
    te = plain_dataset(make_dataset('folder', tree, 'test'), cfg.img_size)
    ftr, ytr = extract_features(enc, tr); fte, yte = extract_features(enc, te)
    class Redraw(torch.nn.Module):            # x -> f(h(f(x)))
        def forward(self, x): return enc(dec(enc(x)))
    fhat, _ = extract_features(Redraw().eval(), te)
    a = linear_eval_fast(ftr, ytr, fte, yte)
    b = linear_eval_fast(ftr, ytr, fhat, yte)
    out = dict(probe_on_f_x=a['top1'], probe_on_f_x_hat=b['top1'], kept=b['top1'] / a['top1'],
               g3_pass=b['top1'] >= 0.5 * a['top1'], chance=100.0 / len(TARGET))
    dst = SUMMARIES / Path(stage1_dir).name; dst.mkdir(parents=True, exist_ok=True)
    (dst / 'gate_g3.json').write_text(json.dumps(out, indent=1) + '\n')
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mine = default_init()
    ap.add_argument('--init-id', default=mine, choices=tuple(INITS), help='the init the runs start from: the one made '
                    f'on this machine\'s CPU kind (README.md, "Blocks"; seeds {dict((k, f"{v.start}-{v.stop - 1}") for k, v in INITS.items())}) [default: the init of this CPU kind, else {FIRST}: {mine}]')
    ap.add_argument('--runs', default=None, help='run folder [default: runs/pretrained/INIT]')
    ap.add_argument('--data-root', default=None, help='GTSRB root [default: ../shared/data/gtsrb35 or $SYNTHFG_DATA/gtsrb35]')
    ap.add_argument('--groups', default='core', help=f'comma-separated subset of {GROUPS}')
    ap.add_argument('--seeds', default='0', help='comma-separated seeds')
    ap.add_argument('--jobs', type=int, default=2); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--init', action='store_true', help='train the init (init.py) if needed and run gate G1')
    ap.add_argument('--dry-run', action='store_true'); ap.add_argument('--report', action='store_true')
    ap.add_argument('--stage1-only', action='store_true', help='train the seeds\' stage 1s (and gate G3), no arm')
    ap.add_argument('--arms', default=None, help=f'comma-separated subset of the arms {tuple(ARMS)} (default: every arm of --groups)')
    ap.add_argument('--schedule', default=SCHEDULE, choices=tuple(SCHEDULES), help=f'the arms\' joint-training schedule [default: {SCHEDULE}]')
    a = ap.parse_args(argv)
    os.chdir(REPO)                       # paths in the configs are relative to the repository root
    use_init(a.init_id)
    runs = Path(a.runs or REPO / 'runs' / 'pretrained' / INIT); (runs / 'logs').mkdir(parents=True, exist_ok=True); (runs / 'configs').mkdir(exist_ok=True)
    root = data_root(a.data_root)
    tree, counts = target_tree(root, REPO / 'runs' / 'pretrained' / 'triangles')
    if a.report:
        import report; print(report.main()); return
    if a.init:
        print(json.dumps(make_init(tree, root, a.threads), indent=1)); return
    groups, seeds = a.groups.split(','), [int(s) for s in a.seeds.split(',')]
    if bad := [s for s in seeds if s not in INITS[INIT]]:
        sys.exit(f'--seeds {bad}: the seeds of {INIT} are {INITS[INIT].start}-{INITS[INIT].stop - 1} (a seed belongs to one init; '
                 'README.md, "Blocks"): choose seeds in that range or another --init-id')
    bad = [g for g in groups if g not in GROUPS]
    if bad: sys.exit(f'--groups: unknown {bad}; choose from {GROUPS}')
    if chosen_init() is None: sys.exit('no init chosen yet: run `python experiments/pretrained/run.py --init` first (gate G1)')
    if not a.dry_run and not init_weights(chosen_init()).exists():     # a fresh machine: the weights are not committed
        print(f'{portable(init_weights(chosen_init()))} is missing: training {INIT} again (init.py, 1 thread) and checking '
              'its sha256', flush=True)
        print(json.dumps(make_init(tree, root, a.threads), indent=1), flush=True)
    if not a.dry_run and (why := check_init(chosen_init())): sys.exit(f'run.py: {why}')
    q = queue(runs, tree, groups, seeds, a.schedule)
    if a.arms: q = [r for r in q if r['group'] == 'stage1' or r['name'].rsplit('_s', 1)[0] in a.arms.split(',')]
    arm_runs, arm_summ = arm_dirs(runs, a.schedule)
    for d in ('logs', 'configs'): (arm_runs / d).mkdir(parents=True, exist_ok=True)
    summ = lambda r: SUMMARIES if r['group'] == 'stage1' else arm_summ
    if a.dry_run:
        for r in q: print(f"{r['name']:<22} {r['group']:<9} {folder_state(r['cfg'].out):<8} "
                          f"{'committed' if (summ(r) / r['name'] / 'metrics_fast.json').exists() else ''}")
        return
    todo = [r for r in q if r['group'] != 'stage1' and not (arm_summ / r['name'] / 'metrics_fast.json').exists()]
    need = {Path(r['cfg'].decoder_init).name for r in todo if r['cfg'].decoder_init}
    if a.stage1_only: need, todo = {r['name'] for r in q if r['group'] == 'stage1'}, []
    stage1s = [r for r in q if r['name'] in need]   # trained (again on a fresh machine: weights are not committed) when needed
    def stage1(r):
        committed, fresh = (SUMMARIES / r['name'] / 'metrics_fast.json').exists(), folder_state(r['cfg'].out) != 'done'
        st = execute(r, runs, None if committed else SUMMARIES, a.threads)     # a rerun leaves the committed summary as it is
        if st == 'done' and committed and fresh: print(json.dumps(stage1_rerun(r)), flush=True)
        if st == 'done' and not (SUMMARIES / r['name'] / 'gate_g3.json').exists():
            print(json.dumps(decoder_gate(Path(r['cfg'].out), tree, a.threads)), flush=True)
        return st
    with ThreadPoolExecutor(a.jobs) as ex: s1 = list(ex.map(stage1, stage1s))
    if 'failed' in s1: sys.exit('a stage 1 failed: see runs/pretrained/logs/')
    with ThreadPoolExecutor(a.jobs) as ex: res = list(ex.map(lambda r: execute(r, arm_runs, arm_summ, a.threads), todo))
    log(runs, f"queue finished: {s1.count('done')} stage 1 and {res.count('done')} arm runs done (trained now or found done), {res.count('failed')} failed")


if __name__ == '__main__': main()
