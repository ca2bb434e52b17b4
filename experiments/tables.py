"""The tables of the experiment rounds (experiments/<round>/summaries/, rendered on the results page nbs/10_results.ipynb):
Tables 1/2/4 and Fig. 5 of the paper at the scale two CPU cores allow, mean and standard deviation over seeds, the
method's diagnostics beside every row, the thesis round's nuisance probes and controls; and the rule that keeps the
committed summaries portable (`portable_config`: no absolute path of the machine that made them).

Report code, not part of the `synthfg` package: the rounds' scripts and the results page put experiments/ on sys.path
and import it as `tables`. Checked in nbs/10_results.ipynb, section "How the tables are made".
"""

__all__ = ['REPO', 'REPO_PATH_KEYS', 'DATA_PATH_KEYS', 'portable_path', 'resolve_path', 'portable_summary', 'portable_config',
           'resolve_config', 'write_portable', 'absolute_paths', 'COLUMNS', 'BUDGET_FIELDS', 'DIAG_COLUMNS', 'FAST_COLUMNS', 'VARIANT_COLOURS', 'metric_value', 'load_results',
           'select', 'zero_noise', 'row_label', 'by_label', 'budget', 'budget_line', 'mean_std', 'last_epoch',
           'silent_branches', 'branch_note', 'val_psnr_of', 'l_c_cell', 'diag_cells', 'results_table', 'paired_diff',
           'diff_table', 'main_runs', 'base_pairs', 'verdict', 'alpha_curve', 'train_segments', 'cpu_hours', 'variant',
           'log_curves', 'nuisance_factors', 'nuisance_table', 'nuisance_verdict', 'control_pairs', 'control_runs',
           'init_pairs', 'round_report']

import dataclasses, json, math, os, re, shutil
from dataclasses import fields
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import yaml

from synthfg.config import Config
from synthfg.data import data_root
from synthfg.figures import run_label, summary_metric
from synthfg.models import BASES, base_class

REPO = Path(__file__).resolve().parents[1]       # the repository root (this file is experiments/tables.py)

# ---- portable records ----------------------------------------------------------------------------------------------
# A committed summary holds no absolute path of the machine that made it. The rule (experiments/README.md):
REPO_PATH_KEYS = ('out', 'decoder_init', 'run', 'ckpt', 'stage1', 'weights')   # run folders, checkpoints, init weights: relative to the repository root
DATA_PATH_KEYS = ('data_root',)                                      # datasets: relative to the data root (synthfg.data.data_root())

def portable_path(p, root):
    "`p` relative to `root` ('runs/thesis/NAME', 'gtsrb35'); a relative `p` or None is kept, a path outside `root` gets '../' steps: never absolute."
    if p is None or not os.path.isabs(str(p)): return p
    return os.path.relpath(os.path.normpath(str(p)), os.path.normpath(str(root)))

def resolve_path(p, root):
    "The inverse of `portable_path`: a relative `p` joined to `root` (normalised); an absolute `p` or None is kept."
    if p is None or os.path.isabs(str(p)): return p
    return os.path.normpath(str(Path(root)/p))

def _map_paths(obj, f, repo=None, data=None):
    "`obj` (dicts and lists, nested) with `f(value, root)` applied to every string value of a path key (`REPO_PATH_KEYS`, `DATA_PATH_KEYS`)."
    repo, data = Path(repo) if repo is not None else REPO, Path(data) if data is not None else data_root()
    def walk(o):
        if isinstance(o, list): return [walk(v) for v in o]
        if not isinstance(o, dict): return o
        return {k: f(v, data) if k in DATA_PATH_KEYS and isinstance(v, str) else f(v, repo) if k in REPO_PATH_KEYS and isinstance(v, str)
                else walk(v) for k, v in o.items()}
    return walk(obj)

def portable_summary(obj, repo=None, data=None):
    "A summary read from a run folder (config.yaml, final_metrics.json, metrics_fast.json, ...: nested dicts) with every path value relative (`portable_path`)."
    return _map_paths(obj, portable_path, repo, data)

def _config_paths(cfg, f, repo, data):
    if not isinstance(cfg, Config): return _map_paths(cfg, f, repo, data)
    return dataclasses.replace(cfg, **_map_paths({k: getattr(cfg, k) for k in ('data_root', 'out', 'decoder_init')}, f, repo, data))

def portable_config(cfg, repo=None, data=None):
    """`cfg` (a `Config` or its mapping) as a committed summary stores it: `data_root` relative to the data root
    (`synthfg.data.data_root()`, e.g. 'gtsrb35'), `out` and `decoder_init` relative to the repository root (e.g. 'runs/thesis/NAME')."""
    return _config_paths(cfg, portable_path, repo, data)

def resolve_config(cfg, repo=None, data=None):
    "The inverse of `portable_config` on this machine: relative paths of `cfg` joined to the repository / data root, absolute ones kept."
    return _config_paths(cfg, resolve_path, repo, data)

def write_portable(src, dst, repo=None, data=None):
    """Copy the summary file `src` to `dst` with portable paths (`portable_summary`): YAML as `Config.to_yaml` writes it,
    JSON with the indent of `src`; other files (metrics.jsonl: no paths) are copied as they are."""
    src, dst = Path(src), Path(dst)
    if src.suffix not in ('.yaml', '.json'): shutil.copy2(src, dst); return
    text = src.read_text()
    if src.suffix == '.yaml': out = yaml.safe_dump(portable_summary(yaml.safe_load(text), repo, data), sort_keys=False)
    else:
        m = re.match(r'\{\n( +)', text)
        out = json.dumps(portable_summary(json.loads(text), repo, data), indent=len(m.group(1)) if m else None)
        if text.endswith('\n') and not out.endswith('\n'): out += '\n'
    dst.write_text(out)

def absolute_paths(folder) -> list:
    "`(file, key, value)` of every absolute path among the string values of the .yaml / .json / .jsonl summaries under `folder`: none in a committed record."
    found = []
    def walk(f, o, k=None):
        if isinstance(o, dict):
            for kk, v in o.items(): walk(f, v, kk)
        elif isinstance(o, list):
            for v in o: walk(f, v, k)
        elif isinstance(o, str) and (os.path.isabs(o) or o.startswith('~')): found.append((f, k, o))
    for f in sorted(Path(folder).rglob('*')):
        if f.suffix == '.yaml': walk(f, yaml.safe_load(f.read_text()))
        elif f.suffix == '.json': walk(f, json.loads(f.read_text()))
        elif f.suffix == '.jsonl':
            for line in f.read_text().splitlines():
                if line.strip(): walk(f, json.loads(line))
    return found

COLUMNS = {'linear 100%': ('linear_top1', '1.0'), 'linear 50%': ('linear_top1', '0.5'),
           'linear 20%': ('linear_top1', '0.2'), 'rank-1': ('retrieval_rank1',), 'rank-5': ('retrieval_rank5',),
           'mAP': ('retrieval_map',), 'kNN': ('knn_top1',),
           'faithful 100%': ('linear_top1_faithful', '1.0')}   # MoCo's linear protocol, where it was run

def metric_value(metrics:dict, col:str) -> float:
    "The value (%) of table column `col` (a key of `COLUMNS`) in a `synthfg_eval` metrics dict."
    if col.startswith(('nuisance ', 'chance ')):    # 'nuisance hue': the hue probe's top-1; 'chance hue': its chance
        k, rest = 'nuisance_top1' if col.startswith('nuisance ') else 'nuisance_chance', [col.split(' ', 1)[1]]
    elif col not in COLUMNS: raise KeyError(f"unknown column {col!r}; known: {list(COLUMNS)}, 'nuisance F', 'chance F'")
    else: k, *rest = COLUMNS[col]
    v = summary_metric(metrics, k)            # 'retrieval_rank1' or, in older summaries, 'rank1'
    if v is None: raise KeyError(f"metrics have no {k!r} (column {col!r})")
    for k in rest:
        if k not in v: raise KeyError(f"metrics have no {k!r} (column {col!r})")
        v = v[k]
    return float(v)

def load_results(folder, repo=None, data=None) -> list:
    """Every finished run under `folder` (one sub-folder per run with `config.yaml` + `metrics_fast.json`), sorted by name;
    `final`: its final_metrics.json. Paths in `cfg` may be stored relative (`portable_config`) or absolute: relative ones
    are joined to this machine's repository / data root (`resolve_config`)."""
    folder = Path(folder)
    if not folder.is_dir(): raise FileNotFoundError(f"summaries folder {folder} not found (made by a round's script: experiments/README.md)")
    runs = []
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not (d/'config.yaml').is_file() or not (d/'metrics_fast.json').is_file(): continue   # unfinished
        timing = json.loads((d/'timing.json').read_text()) if (d/'timing.json').is_file() else {}
        log = [json.loads(l) for l in (d/'metrics.jsonl').read_text().splitlines() if l.strip()] if (d/'metrics.jsonl').is_file() else []
        metrics = json.loads((d/'metrics_fast.json').read_text())
        if (d/'metrics_faithful.json').is_file():     # synthfg_eval --protocol faithful (experiments/round1_cpu/run.py --faithful)
            metrics['linear_top1_faithful'] = json.loads((d/'metrics_faithful.json').read_text())['linear_top1_faithful']
        final = json.loads((d/'final_metrics.json').read_text()) if (d/'final_metrics.json').is_file() else {}
        cfg = resolve_config(Config.from_yaml(d/'config.yaml'), repo, data)
        runs.append(dict(name=d.name, cfg=cfg, metrics=metrics, timing=timing, log=log, final=final))
    return runs

def select(runs:list, **conds) -> list:
    "The runs whose config has every `field=value` of `conds` (e.g. `dataset='gtsrb', synth=True`)."
    bad = set(conds) - {f.name for f in fields(Config)}
    if bad: raise KeyError(f"select: {sorted(bad)} are not Config fields")
    return [r for r in runs if all(getattr(r['cfg'], k) == v for k, v in conds.items())]

def zero_noise(cfg) -> bool:
    "Whether `cfg` is the zero-noise control: synthesized pairs (nu > 0) with eps_g = eps_var = 0, so x_hat_p = x_hat."
    return cfg.synth and cfg.nu > 0 and cfg.eps_g == 0 and cfg.eps_var == 0

def row_label(cfg, epochs:bool=False) -> str:
    "`run_label` + ' (zero noise)' for the zero-noise control, + ', N epochs' if `epochs`; a stage-1-only run (epochs=0) is the initial encoder."
    if cfg.epochs == 0: return f"initial encoder ({'random init' if cfg.weights is None else cfg.weights}; stage 1 only)"
    return run_label(cfg, tex=False) + (' (zero noise)' if zero_noise(cfg) else '') + (f', {cfg.epochs} epochs' if epochs else '')

def _order(cfg):
    "Row order of the tables: base method in registration order (`BASES`), then base before ours, ours (both) before its ablations and zero-noise control, alpha runs last; epochs, seed."
    return (list(BASES).index(cfg.method), cfg.synth, cfg.nu == 0, cfg.alpha,
            ['both', 'gradcam', 'lowvar'].index(cfg.perturb), zero_noise(cfg), cfg.epochs, cfg.seed)

def by_label(runs:list) -> dict:
    "`{label: [runs of each seed, by seed]}`, rows in a fixed order: MoCo v2, MoCo v2 + ours (+ ablations), SimSiam, ... (`_order`); labels name the epochs where they differ within a dataset."
    ep = any(len({r['cfg'].epochs for r in runs if r['cfg'].dataset == d}) > 1 for d in {r['cfg'].dataset for r in runs})
    out = {}
    for r in sorted(runs, key=lambda r: _order(r['cfg'])): out.setdefault(row_label(r['cfg'], ep), []).append(r)
    return out

BUDGET_FIELDS = ('dataset', 'dataset_kw', 'img_size', 'arch', 'weights', 'small_stem', 'epochs', 'batch_size', 'lr',
                 'momentum', 'weight_decay', 'K', 'D', 'tau')

def budget(runs:list, ignore=()) -> dict:
    "The shared training budget of `runs` (fields of `BUDGET_FIELDS` but `ignore`, + seeds per label); raises if any run differs."
    if not runs: raise ValueError("budget: no runs")
    ref, fs = runs[0]['cfg'], [f for f in BUDGET_FIELDS if f not in ignore]
    for r in runs[1:]:
        diff = [f"{f}: {getattr(ref, f)!r} vs {getattr(r['cfg'], f)!r}" for f in fs if getattr(ref, f) != getattr(r['cfg'], f)]
        if diff: raise ValueError(f"unequal budget: {runs[0]['name']} and {r['name']} differ in {'; '.join(diff)}")
    seeds = {lab: sorted(r['cfg'].seed for r in rs) for lab, rs in by_label(runs).items()}
    return {**{f: getattr(ref, f) for f in fs}, 'seeds': seeds}

def _epochs_text(runs):
    "'8 epochs', or '8 epochs (compute-matched bases: 34, 26 epochs)' where plain runs train longer than the others."
    main = sorted({r['cfg'].epochs for r in runs if r['cfg'].synth} or {r['cfg'].epochs for r in runs})
    extra = sorted({r['cfg'].epochs for r in runs} - set(main), reverse=True)
    return f"{'/'.join(map(str, main))} epochs" + (f" (compute-matched bases: {', '.join(map(str, extra))} epochs)" if extra else '')

def budget_line(runs:list) -> str:
    "One line that states the setting of a table (printed above it); only the plain bases may train for more epochs (compute-matched)."
    if len({r['cfg'].epochs for r in runs if r['cfg'].synth}) > 1: budget(runs)       # raises: the method's rows differ in epochs
    b, c = budget(runs, ignore=('epochs',)), runs[0]['cfg']
    init = 'RANDOM INIT (no ImageNet weights)' if b['weights'] is None else f"init {b['weights']}"
    dec = f" (+{c.decoder_epochs} decoder epoch(s) for the runs with a decoder)" if any(r['cfg'].synth for r in runs) else ''
    ns = sorted({len(s) for s in b['seeds'].values()})
    kw = ', '.join(f'{k}={v}' for k, v in b['dataset_kw'].items())
    ds = f"{b['dataset']} ({Path(c.data_root).name}{', ' + kw if kw else ''})" if c.data_root else b['dataset']
    return (f"{ds}, {init}, {b['arch']} ({'3x3' if c.use_small_stem else 'standard'} stem), "
            f"{b['img_size']} px, batch {b['batch_size']}, {_epochs_text(runs)}{dec}, SGD lr {c.sgd_lr:g}, "
            f"K={b['K']}, D={b['D']}; {'/'.join(map(str, ns))} seed(s) per row")

DIAG_COLUMNS = {'frac low-var': 'frac_lowvar', 'pair gap': 'pair_gap', 'PSNR (dB)': 'psnr', 'L_Cp (chance)': 'l_cp'}

def mean_std(v, digits:int=2) -> str:
    "'mean ± std' (sample std) of the numbers `v`, just 'mean' for one, '–' for none."
    v = np.asarray(list(v), dtype=float)
    if not len(v): return '–'
    return f'{v.mean():.{digits}f}' + (f' ± {v.std(ddof=1):.{digits}f}' if len(v) > 1 else '')

def last_epoch(run:dict) -> dict:
    "The means of `run`'s last joint-training epoch (`train_last_epoch` of its final_metrics.json), {} if it has none."
    return (run.get('final') or {}).get('train_last_epoch') or {}

def _fired(v): return v is not None and math.isfinite(v) and v != 0

def silent_branches(cfg, means:dict) -> list:
    "The branches that `cfg` switches on but that did not fire in an epoch with means `means`: 'Grad-CAM', 'low-var', 'L_Cp', 'pair gap'."
    if not cfg.synth or cfg.nu == 0: return []
    g = cfg.perturb in ('both', 'gradcam') and cfg.eps_g > 0
    lv = cfg.perturb in ('both', 'lowvar') and cfg.eps_var > 0
    out = ['Grad-CAM'] if g and not _fired(means.get('std_g')) else []
    if lv and not (_fired(means.get('frac_lowvar')) and _fired(means.get('std_var', 1.0))): out.append('low-var')
    if not _fired(means.get('l_cp')): out.append('L_Cp')
    if (g or lv) and not _fired(means.get('pair_gap')): out.append('pair gap')
    return out

def branch_note(rs:list) -> str:
    "What the rows' branches did, in words: plain base, L_R only, zero noise by design, and which branch did not fire on how many seeds."
    cfg = rs[0]['cfg']
    if not cfg.synth: return 'plain base'
    if cfg.nu == 0: return 'L_R only (nu = 0)'
    if not any(last_epoch(r) for r in rs): return 'no diagnostics (no train_last_epoch)'
    n = {}
    for r in rs:
        for b in silent_branches(r['cfg'], last_epoch(r)): n[b] = n.get(b, 0) + 1
    parts = ['no noise by design (eps_g = eps_var = 0)'] if zero_noise(cfg) else []
    if n: parts.append('did not fire: ' + ', '.join(f'{b} ({k}/{len(rs)} seeds)' for b, k in n.items()))
    return '; '.join(parts) or 'all branches fired'

def val_psnr_of(run:dict, when:str='last'):
    "PSNR (dB) of x_hat on the held-out validation images (final_metrics.json `val_psnr`): at the end ('last') or 'after_stage1'; None without."
    return ((run.get('final') or {}).get('val_psnr') or {}).get(when)

def _val_cell(rs:list) -> str:
    "'after stage 1 → at the end' of the validation PSNR (means over seeds), '–' without."
    a, b = ([v for v in (val_psnr_of(r, w) for r in rs) if v is not None] for w in ('after_stage1', 'last'))
    return '–' if not b else f"{np.mean(a):.1f} → {np.mean(b):.1f}" if a else f"{np.mean(b):.1f}"

def l_c_cell(rs:list, digits:int=3) -> str:
    "L_C of the rows' last epoch, mean ± std over seeds, with the base's `l_c_chance` in brackets; '–' where none was logged."
    cfg, v = rs[0]['cfg'], [last_epoch(r)['l_c'] for r in rs if last_epoch(r).get('l_c') is not None]
    ch = BASES[cfg.method].l_c_chance(cfg) if cfg.method in BASES else None     # None: not known to the base
    return mean_std(v, digits) + (f" ({ch:.{digits}f})" if v and ch is not None else '')

def diag_cells(rs:list, digits:int=3) -> list:
    "One row's cells: `l_c_cell`, `DIAG_COLUMNS` (mean ± std over the seeds that logged them; L_Cp with its chance), validation PSNR, `branch_note`."
    if not rs[0]['cfg'].synth: return [l_c_cell(rs, digits)] + ['–'] * (len(DIAG_COLUMNS) + 1) + [branch_note(rs)]
    ms = [last_epoch(r) for r in rs]
    vals = lambda k: [m[k] for m in ms if m.get(k) is not None]
    cells = [mean_std(vals(k), 1 if k == 'psnr' else digits) if k == 'psnr' or rs[0]['cfg'].nu else '–' for k in DIAG_COLUMNS.values()]
    if vals('l_cp_chance') and cells[-1] != '–': cells[-1] += f" ({np.mean(vals('l_cp_chance')):.{digits}f})"
    return [l_c_cell(rs, digits)] + cells + [_val_cell(rs), branch_note(rs)]

FAST_COLUMNS = tuple(c for c in COLUMNS if c != 'faithful 100%')

def results_table(runs:list, cols=FAST_COLUMNS, digits:int=2, diag:bool=False) -> str:
    "Markdown table: one row per label (`row_label`), mean ± std over seeds of each column (+ the method's diagnostics if `diag`)."
    rows = by_label(runs)
    dcols = ['L_C (chance)'] + list(DIAG_COLUMNS) + ['val PSNR (dB): stage 1 → end', 'branches'] if diag else []
    lines = ['| method | seeds | ' + ' | '.join(list(cols) + dcols) + ' |', '|---|---:|' + '---:|' * len(cols) + '---|' * len(dcols)]
    for lab, rs in rows.items():
        cells = []
        for c in cols:
            v = np.array([metric_value(r['metrics'], c) for r in rs])
            cells.append(mean_std(v, digits))
        if diag: cells += diag_cells(rs)
        lines.append(f'| {lab} | {len(rs)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)

def paired_diff(runs_a:list, runs_b:list, col:str) -> dict:
    "a − b of column `col`, paired by seed: mean, sample std, the per-seed differences, how many seeds have a > b."
    a = {r['cfg'].seed: metric_value(r['metrics'], col) for r in runs_a}
    b = {r['cfg'].seed: metric_value(r['metrics'], col) for r in runs_b}
    seeds = sorted(set(a) & set(b))
    if not seeds: raise ValueError(f"paired_diff: no seed in common ({sorted(a)} vs {sorted(b)})")
    d = np.array([a[s] - b[s] for s in seeds])
    return dict(mean=float(d.mean()), std=float(d.std(ddof=1)) if len(d) > 1 else float('nan'), diffs=d.tolist(),
                seeds=seeds, n_better=int((d > 0).sum()), n=len(d))

def diff_table(pairs:dict, cols=FAST_COLUMNS, digits:int=2) -> str:
    "Markdown table of paired differences: `pairs` is `{row label: (runs_a, runs_b)}`; cells 'mean ± std (k/n)' ('mean (1/1)' for one seed)."
    lines = ['| difference | ' + ' | '.join(cols) + ' |', '|---|' + '---:|' * len(cols)]
    for lab, (ra, rb) in pairs.items():
        cells = []
        for c in cols:
            p = paired_diff(ra, rb, c)
            sd = f" ± {p['std']:.{digits}f}" if p['n'] > 1 else ''      # one seed: no spread to show
            cells.append(f"{p['mean']:+.{digits}f}{sd} ({p['n_better']}/{p['n']})")
        lines.append(f'| {lab} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)

def main_runs(runs:list, method:str) -> tuple:
    "`(ours, base)` of the equal-epoch comparison: `method` + ours (both, nu=0.5, with noise; not a stage-1-only run) and the plain base trained as long."
    ours = [r for r in select(runs, method=method, synth=True, nu=0.5, perturb='both') if not zero_noise(r['cfg']) and r['cfg'].epochs > 0]
    eps = {r['cfg'].epochs for r in ours}
    return ours, [r for r in select(runs, method=method, synth=False) if not eps or r['cfg'].epochs in eps]

def base_pairs(runs:list, prefix:str='') -> dict:
    "`{'<prefix>MoCo v2 + ours − MoCo v2': (ours runs, base runs), ...}` for each registered base (`BASES`) in `runs` (input of `diff_table`); equal epochs."
    out = {}
    for m, cls in BASES.items():
        b = cls.label
        ours, base = main_runs(runs, m)
        if ours and base: out[f'{prefix}{b} + ours − {b}'] = (ours, base)
    return out

def verdict(runs_a:list, runs_b:list, name_a:str, name_b:str, cols=FAST_COLUMNS) -> str:
    "One sentence: columns where a > b on average, the mean difference, columns where a is higher / lower on every seed."
    ps = {c: paired_diff(runs_a, runs_b, c) for c in cols}
    up = [c for c, p in ps.items() if p['mean'] > 0]
    all_up = [c for c, p in ps.items() if p['n_better'] == p['n']]
    all_down = [c for c, p in ps.items() if all(d < 0 for d in p['diffs'])]
    n = min(p['n'] for p in ps.values())
    return (f"{name_a} vs {name_b} ({n} paired seeds): higher on average on {len(up)} of {len(cols)} metrics, mean difference "
            f"over the metrics {np.mean([p['mean'] for p in ps.values()]):+.2f} points; higher on every seed on "
            f"{len(all_up)} ({', '.join(all_up) or 'none'}), lower on every seed on {len(all_down)} ({', '.join(all_down) or 'none'}).")

def alpha_curve(runs:list, col:str='linear 100%', method:str='mocov2', ax=None, title=None):
    "Fig. 5 from the runs of one dataset: `col` vs alpha of the nu=0 runs (+ the base at alpha=0), base and ours dashed."
    lr_runs = select(runs, method=method, synth=True, nu=0.0)
    ours, base = main_runs(runs, method)                  # equal epochs, with noise (no control run)
    if not lr_runs: raise ValueError(f"alpha_curve: no {method} runs with nu=0 (L_C + alpha L_R)")
    budget(lr_runs + base + ours)
    pts = {}
    for r in base: pts.setdefault(0.0, []).append(metric_value(r['metrics'], col))
    for r in lr_runs: pts.setdefault(float(r['cfg'].alpha), []).append(metric_value(r['metrics'], col))
    al = sorted(pts)
    mean = np.array([np.mean(pts[a]) for a in al]); std = np.array([np.std(pts[a], ddof=1) if len(pts[a]) > 1 else 0. for a in al])
    if ax is None: _, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.errorbar(al, mean, yerr=std, fmt='o-', color='tab:green', capsize=3, label=rf'$L_C + \alpha L_R$ (α=0: {base_class(method).label})')
    for rs, lab, colr in ((base, run_label(base[0]['cfg'], tex=False) if base else '', 'tab:red'),
                          (ours, run_label(ours[0]['cfg'], tex=False) if ours else '', 'tab:blue')):
        if not rs: continue
        v = np.array([metric_value(r['metrics'], col) for r in rs])
        ax.axhline(v.mean(), ls='--', color=colr, label=f'{lab} (mean of {len(v)})')
        if len(v) > 1: ax.axhspan(v.mean() - v.std(ddof=1), v.mean() + v.std(ddof=1), color=colr, alpha=0.1)
    ax.set_xlabel(r'$\alpha$'); ax.set_ylabel(f'{col} top-1 (%)' if 'linear' in col or col == 'kNN' else f'{col} (%)')
    ax.set_xticks(al); ax.grid(alpha=0.3); ax.legend(fontsize=7)
    ax.set_title(title or f'Fig. 5: {col} vs α', fontsize=10)
    return ax

def train_segments(run) -> list:
    "The last logged `time` (s since its process started) of each process that trained `run`: a resume starts the clock again."
    t = [l['time'] for l in run['log'] if l.get('kind') == 'train' and 'time' in l]
    return [a for a, b in zip(t, t[1:]) if b < a] + t[-1:]

def cpu_hours(runs:list) -> float:
    """CPU-hours of `runs`: (training + evaluation (+ faithful protocol) wall time) x threads per run, from each run's
    timing.json; training is at least what the log's segments add up to (timing.json misses a process killed mid-way)."""
    train = lambda r: max(r['timing'].get('train_s', 0.), sum(train_segments(r)))
    t = lambda r: train(r) + sum(r['timing'].get(k, 0.) for k in ('eval_s', 'faithful_s'))
    return sum(t(r) * r['timing'].get('threads', 1) for r in runs) / 3600

VARIANT_COLOURS = {'base': 'tab:gray', 'both': 'tab:orange', 'gradcam': 'tab:green', 'lowvar': 'tab:red',
                   'zero noise': 'tab:purple', 'L_C + alpha L_R': 'tab:brown'}

def variant(cfg) -> str:
    "The method variant of `cfg`, a key of `VARIANT_COLOURS`: base, both / gradcam / lowvar (the perturbation), zero noise, L_C + alpha L_R."
    if not cfg.synth: return 'base'
    return 'L_C + alpha L_R' if cfg.nu == 0 else 'zero noise' if zero_noise(cfg) else cfg.perturb

def log_curves(runs:list, key:str='l_cp', ax=None, title=None):
    "`key` of each run's logged joint-training records against `global_step`: rows as `by_label`, a colour per `variant`, a line style per seed."
    if ax is None: _, ax = plt.subplots(figsize=(5.2, 3.4))
    styles, chance = ('-', '--', ':', '-.'), []
    for lab, rs in by_label(runs).items():
        for r in rs:
            recs = [x for x in r['log'] if x.get('kind') == 'train' and x.get('stage', 2) == 2 and x.get(key) is not None]
            if not recs: continue
            ax.plot([x['global_step'] for x in recs], [x[key] for x in recs], styles[r['cfg'].seed % len(styles)],
                    color=VARIANT_COLOURS[variant(r['cfg'])], lw=1.1, label=f"{lab}, seed {r['cfg'].seed}")
            if key == 'l_cp' and recs[-1].get('l_cp_chance'): chance.append(recs[-1]['l_cp_chance'])
    if not ax.lines: raise ValueError(f"log_curves: no run logged {key!r} in its joint-training records")
    if chance: ax.axhline(float(np.mean(chance)), color='grey', lw=0.8, ls=(0, (1, 3)), label=r'chance $\log(2B-1)$')
    ax.set_xlabel('step'); ax.set_ylabel(key); ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc='upper center', bbox_to_anchor=(0.5, -0.16))     # below the axes: the curves fill them
    ax.set_title(title or key, fontsize=10)
    return ax

def nuisance_factors(runs:list) -> list:
    "The nuisance factors probed in every run of `runs` (in the first run's order); [] if any run has none."
    fs = [list(r['metrics'].get('nuisance_top1') or {}) for r in runs]
    return [f for f in fs[0] if all(f in x for x in fs)] if fs else []

def nuisance_table(runs:list, digits:int=1) -> str:
    "Markdown: class linear top-1 (100 % labels) beside each nuisance factor's probe top-1, mean ± std over seeds; last row: chance."
    fs = nuisance_factors(runs)
    if not fs: raise ValueError("nuisance_table: the runs have no common nuisance probes (nuisance_top1 in metrics_fast.json)")
    t = results_table(runs, cols=['linear 100%'] + [f'nuisance {f}' for f in fs], digits=digits)
    ch = [np.mean([metric_value(r['metrics'], f'chance {f}') for r in runs]) for f in fs]
    return t + '\n| chance (majority label) | | – | ' + ' | '.join(f'{c:.{digits}f}' for c in ch) + ' |'

def nuisance_verdict(ours:list, base:list, name:str) -> str:
    "One sentence: ours − base in class top-1 and in each nuisance probe's top-1 (paired by seed), against the thesis' prediction."
    fs = nuisance_factors(ours + base)
    cls, ps = paired_diff(ours, base, 'linear 100%'), {f: paired_diff(ours, base, f'nuisance {f}') for f in fs}
    down = [f for f, p in ps.items() if p['mean'] < 0]
    all_down = [f for f, p in ps.items() if all(d < 0 for d in p['diffs'])]
    return (f"{name} ({cls['n']} paired seeds): class top-1 {cls['mean']:+.1f} points (higher on {cls['n_better']}/{cls['n']} seeds); "
            f"nuisance probes lower on average for {len(down)} of {len(fs)} factors ({', '.join(down) or 'none'}), lower on "
            f"every seed for {len(all_down)} ({', '.join(all_down) or 'none'}). The thesis predicts class up and the probes down.")

def control_pairs(runs:list, method:str) -> dict:
    "`{label: (ours, other)}`: `method` + ours (equal epochs) minus its base at equal epochs, its zero-noise control and its compute-matched base."
    ours, base = main_runs(runs, method)
    if not ours: return {}
    lab, e0 = base_class(method).label, ours[0]['cfg'].epochs
    zero = [r for r in select(runs, method=method, synth=True, nu=0.5, perturb='both') if zero_noise(r['cfg'])]
    long = [r for r in select(runs, method=method, synth=False) if r['cfg'].epochs > e0]
    out = {f'{lab} + ours − {lab} (equal epochs)': (ours, base)} if base else {}
    if zero: out[f'{lab} + ours − {lab} + ours (zero noise)'] = (ours, zero)
    for e in sorted({r['cfg'].epochs for r in long}):
        out[f'{lab} + ours − {lab}, {e} epochs (compute-matched)'] = (ours, [r for r in long if r['cfg'].epochs == e])
    return out

def control_runs(runs:list) -> list:
    "The runs of the controls table: every base's equal-epoch pair, zero-noise control and compute-matched base."
    keep = {id(r) for m in BASES for ps in control_pairs(runs, m).values() for rs in ps for r in rs}
    return [r for r in runs if id(r) in keep]

def _hours(rs): return f"*{cpu_hours(rs):.2f} CPU-hours ({len(rs)} runs: training + evaluation x threads)*"

def _section(title:str, rs:list, body) -> str:
    "A report section: title, setting line, CPU-hours and `body(rs)`; or a line saying its runs have not landed."
    if not rs: return f"**{title}**: no runs yet."
    return f"**{title}** — {budget_line(rs)}\n\n{_hours(rs)}\n\n{body(rs)}"

def _paired(pairs:dict) -> dict:
    "The pairs of `pairs` that share at least one seed (while a queue runs, a row may have landed before its partner)."
    return {k: (a, b) for k, (a, b) in pairs.items() if {r['cfg'].seed for r in a} & {r['cfg'].seed for r in b}}

def _main_body(rs):
    pairs = _paired(base_pairs(rs))
    out = results_table(rs, diag=True)
    if pairs: out += "\n\nPaired by seed, ours − base: mean ± std (seeds on which ours is higher / seeds)\n\n" + diff_table(pairs)
    return out + ''.join(f"\n\n{verdict(a, b, *lab.split(' − '))}" for lab, (a, b) in pairs.items())

def _nuisance_body(rs):
    fs, pairs = nuisance_factors(rs), _paired(base_pairs(rs))
    out = nuisance_table(rs)
    if pairs: out += "\n\nPaired by seed, ours − base\n\n" + diff_table(pairs, cols=['linear 100%'] + [f'nuisance {f}' for f in fs], digits=1)
    return out + ''.join(f"\n\n{nuisance_verdict(a, b, lab)}" for lab, (a, b) in pairs.items())

def _controls_body(rs):
    pairs = _paired({k: v for m in BASES for k, v in control_pairs(rs, m).items()})
    return results_table(rs, diag=True) + ("\n\nPaired by seed: mean ± std (seeds on which ours is higher / seeds)\n\n" + diff_table(pairs) if pairs else '')

def _ablation_body(rs):
    ours = [r for r in rs if r['cfg'].synth and r['cfg'].perturb == 'both']
    others = [g for g in by_label([r for r in rs if r not in ours]).values()]
    pairs = _paired({f"{row_label(g[0]['cfg'])} − MoCo v2 + ours": (g, ours) for g in others})
    return results_table(rs, diag=True) + ("\n\nPaired by seed against MoCo v2 + ours (both perturbations)\n\n" + diff_table(pairs) if pairs else '')

def _alpha_body(rs):
    lr, (ours, base) = select(rs, synth=True, nu=0.0), main_runs(rs, 'mocov2')
    pairs = {f"L_C + {a:g} L_R − MoCo v2": (select(lr, alpha=a), base) for a in sorted({r['cfg'].alpha for r in lr})}
    if ours: pairs['MoCo v2 + ours − MoCo v2'] = (ours, base)
    pairs = _paired(pairs)
    return results_table(rs, diag=True) + ("\n\nPaired by seed, against MoCo v2\n\n" + diff_table(pairs) if pairs else '')

def init_pairs(trained:list, init:list) -> dict:
    "`{'<row> − initial encoder': (row's runs, init)}` for every row of `trained` (`by_label`) sharing a seed with the stage-1 runs `init`."
    return _paired({f'{lab} − initial encoder': (g, init) for lab, g in by_label(trained).items()})

def _initial_body(rs, trained=()):
    cols = ['linear 100%', 'kNN'] + [f'nuisance {f}' for f in nuisance_factors(rs)]
    out = results_table(rs, cols=cols) + f"\n\nheld-out PSNR of x_hat after stage 1: {mean_std([val_psnr_of(r) for r in rs if val_psnr_of(r)], 2)} dB"
    pairs = init_pairs(trained, rs)
    if pairs: out += ("\n\nEvery trained row against the initial encoder of its own seed (did training add anything?): mean ± std "
                      "(seeds on which the trained row is higher / seeds)\n\n" + diff_table(pairs, cols=['linear 100%', 'kNN'], digits=1))
    return out

def round_report(runs:list, dataset:str, name:str) -> str:
    "Markdown of every table of the thesis round for `dataset` (a `Config.dataset` value) named `name`: main, nuisance, controls, Table 4, Fig. 5's."
    rs = [r for r in select(runs, dataset=dataset) if r['cfg'].epochs > 0]
    init = [r for r in select(runs, dataset=dataset) if r['cfg'].epochs == 0]      # the shared stage 1 runs
    main = [r for m in BASES for r in sum(main_runs(rs, m), [])]
    mo_ours, mo_base = main_runs(rs, 'mocov2')
    abl = mo_base + [r for r in select(rs, method='mocov2', synth=True, nu=0.5) if not zero_noise(r['cfg'])]
    alpha = (select(rs, method='mocov2', synth=True, nu=0.0) + mo_base + mo_ours) if select(rs, synth=True, nu=0.0) else []
    parts = [f"### {name}", _section('Tables 1/2: main comparison (equal epochs)', main, _main_body)]
    if init: parts.append(_section('The initial encoder every run starts from (stage 1 alone: random init + the shared decoder)',
                                   init, lambda r: _initial_body(r, rs)))
    if nuisance_factors(main): parts.append(_section('Nuisance probes (linear top-1, %; chance = majority label)', main, _nuisance_body))
    parts += [_section('Controls: zero noise and compute-matched bases', control_runs(rs), _controls_body),
              _section('Table 4: which perturbation (MoCo v2)', abl if len(abl) > len(mo_base + mo_ours) else [], _ablation_body),
              _section('Fig. 5: L_C + alpha L_R (MoCo v2, nu = 0)', alpha, _alpha_body)]
    return '\n\n'.join(parts)
