"""Why does L_Cp stay near chance without the Grad-CAM branch? A probe of the first joint-training steps.

In the thesis round's Table 4 ablation (seed 0, MoCo v2 + ours), L_Cp ended near 3.1-3.2 (chance log(2B-1) = 4.14) with
the low-variance branch alone and with no noise at all (eps_g = eps_var = 0), but near 0.7 with the Grad-CAM branch.
Their logs show when: with the Grad-CAM branch L_Cp falls from 3.7 to 1.3 in the first 20 steps; without it, it RISES
to chance by step 20 (the generated images' projections collapse to one point, where NT-Xent has no gradient that
separates them) and creeps back to ~3.2. Two differences between the branches: the low-variance noise (Eq. 6) is zero
until the memory bank is full (D = 512 at batch 32: the first 16 steps, exactly when the collapse happens), while the
Grad-CAM noise is there from step 1; and once both fire (every dimension: frac_lowvar = 1) the Grad-CAM noise is ~4x
larger (std_g ~0.093 vs std_var ~0.024). The probe separates them: Grad-CAM noise from step 1 but 4x smaller
(eps_g = 0.025), and low-variance noise 4x larger (eps_var = 0.2) but still only from step 17, beside the paper's
values, and the low-variance noise at both sizes from step 3 (bank_min_fill = 64: Eq. 6 once the bank holds two
batches); it logs L_Cp, cos(z_hat, z_hat_p), the pair gap and the noise stds every 5 steps.

    python experiments/thesis/lcp_probe.py --stage1 runs/thesis/synthetic_stage1_s1 --seed 1      # 6 x 40 steps, one at a time
    python experiments/thesis/lcp_probe.py --stage1 runs/thesis/synthetic_stage1_s2 --seed 2
    python experiments/thesis/lcp_probe.py --stage1 runs/thesis/synthetic_stage1_s2 --seed 2 --variants "lowvar eps_var=0.05 from step 3"
                                                            # only these variants, added to the seed's summary
    python experiments/thesis/lcp_probe.py --dataset flowers --stage1 runs/thesis/flowers_stage1_s2 --seed 2
                                                            # the same probe on flowers12, where low-variance only stalls as well

--dataset is 'synthetic' or 'flowers', the two datasets on which the ablation's low-variance-only row stalls (2 of 3 seeds
each; GTSRB-35's never does). Both have batch 32 and D = 512, so the variants' step numbers (Eq. 6 from step 17, or from
step 3 with bank_min_fill = 64) hold on both.

Each variant is a `synthfg_train` run of the thesis round's setting of --dataset (`dataset_configs` of
experiments/thesis/run.py) that starts from the given stage 1 and stops after --steps joint steps; the summary goes to
experiments/thesis/probe/{dataset}_s{seed}.json (committed; the stage 1 folder in it is relative to the repository root).
"""
import argparse, json, subprocess, sys, time
from pathlib import Path

import importlib.util
HERE = Path(__file__).resolve().parent              # experiments/thesis
_spec = importlib.util.spec_from_file_location('thesis_run', HERE/'run.py')
thesis = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(thesis)   # the round's script (it puts experiments/ on sys.path)
from runqueue import _env
from tables import portable_path
from synthfg.data import data_root
from synthfg.config import Config

DATASETS = ('synthetic', 'flowers')     # where the ablation's low-variance-only row stalls; both batch 32, D = 512

VARIANTS = {'gradcam eps_g=0.1 (paper)': dict(perturb='gradcam', eps_g=0.1),
            'gradcam eps_g=0.025': dict(perturb='gradcam', eps_g=0.025),
            'lowvar eps_var=0.05 (paper)': dict(perturb='lowvar', eps_var=0.05),
            'lowvar eps_var=0.2': dict(perturb='lowvar', eps_var=0.2),
            'lowvar eps_var=0.05 from step 3': dict(perturb='lowvar', eps_var=0.05, bank_min_fill=64),   # Eq. 6 from step 3
            'lowvar eps_var=0.2 from step 3': dict(perturb='lowvar', eps_var=0.2, bank_min_fill=64)}
KEYS = ('l_cp', 'cos_zp', 'pair_gap', 'std_g', 'std_var', 'l_c')

def trajectory(run):
    "The logged joint-training records of run folder `run`: [{global_step, l_cp, cos_zp, pair_gap, std_g, std_var, l_c}]."
    recs = [json.loads(l) for l in (Path(run)/'metrics.jsonl').read_text().splitlines() if l.strip()]
    return [{'global_step': r['global_step'], **{k: r.get(k) for k in KEYS}} for r in recs if r.get('kind') == 'train' and 'l_cp' in r]

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', default='synthetic', choices=DATASETS, help='the thesis setting to probe (default synthetic)')
    ap.add_argument('--stage1', required=True, help='a finished stage-1 run folder of the thesis round (same dataset and seed)')
    ap.add_argument('--seed', type=int, required=True, help="the seed of --stage1's run (the initial encoder must match)")
    ap.add_argument('--steps', type=int, default=40); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--runs', default=None, help='run folders [runs/lcp_probe/DATASET_sSEED]')
    ap.add_argument('--results', default=None, help='summary file [experiments/thesis/probe/DATASET_sSEED.json]')
    ap.add_argument('--variants', default=None, help=f'comma-separated subset of {list(VARIANTS)} (default: all), merged into the summary')
    a = ap.parse_args()
    todo = list(VARIANTS) if a.variants is None else [v.strip() for v in a.variants.split(',') if v.strip()]
    if bad := [v for v in todo if v not in VARIANTS]: ap.error(f"--variants: unknown {bad}; choose from {list(VARIANTS)}")
    s1 = Path(a.stage1)
    a.results = a.results or str(HERE/'probe'/f'{a.dataset}_s{a.seed}.json')
    a.runs = a.runs or str(thesis.REPO/'runs'/'lcp_probe'/f'{a.dataset}_s{a.seed}')     # one folder per probe: seeds can run at once
    if not (s1/'checkpoint.pt').is_file(): ap.error(f"--stage1: {s1/'checkpoint.pt'} not found (run the thesis queue's stage 1 first)")
    base = {**thesis.dataset_configs(data_root())[a.dataset], 'epochs': thesis.EPOCHS[a.dataset]}
    if (s1/'config.yaml').is_file() and (got := Config.from_yaml(s1/'config.yaml').dataset) != base['dataset']:
        ap.error(f"--stage1: {s1} is a stage 1 of dataset {got!r}, not of --dataset {a.dataset!r}")
    runs, out = Path(a.runs), {'dataset': a.dataset, 'stage1': portable_path(str(s1.absolute()), thesis.REPO), 'seed': a.seed, 'steps': a.steps, 'date': time.strftime('%Y-%m-%d %H:%M:%S'),
                               'setting': f'thesis round, {a.dataset}, MoCo v2 + ours (nu 0.5), 1 thread', 'variants': {}}
    runs.mkdir(parents=True, exist_ok=True)
    old = json.loads(Path(a.results).read_text()) if Path(a.results).is_file() else None
    if old and (old['seed'], old['steps']) == (a.seed, a.steps): out['variants'] = old['variants']   # add to it
    for label in todo:
        kw = VARIANTS[label]
        d = runs/label.split(' (')[0].replace(' ', '_').replace('=', '')
        cfg = thesis.make_config(base, method='mocov2', synth=True, seed=a.seed, decoder_init=str(s1), max_steps=a.steps,
                                 out=str(d), **kw)
        cfg.to_yaml(runs/f'{d.name}.yaml'); t0 = time.time()
        r = subprocess.run([str(Path(sys.executable).parent/'synthfg_train'), '--config', str(runs/f'{d.name}.yaml'),
                            '--overwrite', '--no-progress'], env=_env(a.threads), capture_output=True, text=True)
        if r.returncode: raise SystemExit(f"{label} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        out['variants'][label] = dict(config=kw, train_s=time.time() - t0, log=trajectory(d))
        print(label.ljust(28), ' '.join(f"{x['global_step']}:{x['l_cp']:.2f}" for x in out['variants'][label]['log']), flush=True)
    Path(a.results).parent.mkdir(parents=True, exist_ok=True); Path(a.results).write_text(json.dumps(out, indent=1))
    print(f"wrote {a.results}")

if __name__ == '__main__': main()
