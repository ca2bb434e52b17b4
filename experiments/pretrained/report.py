"""Tables, gates and the pre-registered reading of the round "pretrained", from its committed summaries only.

    python experiments/pretrained/report.py            # Markdown to stdout (the results page shows the same)

Reads, for every init INIT of run.py's INITS (a seed is a block on one init; README.md, "Blocks"): INIT/gate_g1.json,
summaries/INIT/stage1_s<seed>/ (the initial encoder's row, gate G3) and summaries/INIT/<schedule>/<arm>_s<seed>/
(metrics_fast.json, final_metrics.json, config.yaml). The tables are those of the current schedule (run.py's SCHEDULE),
the seeds of every init pooled, each seed's arms paired within its own init; gate G2 is reported for every schedule that
has MoCo v2 runs, and the earlier inits' gates (init1) as records (their arms are never paired).
"""
import json, math, statistics as st
from pathlib import Path

import yaml

try: from .common import g4, method_arm, G4_COS, G4_GAP       # imported as pretrained.report (the results page)
except ImportError: from common import g4, method_arm, G4_COS, G4_GAP   # run as a script

HERE = Path(__file__).resolve().parent
COLS = {'linear 100%': ('linear_top1', '1.0'), 'linear 20%': ('linear_top1', '0.2'), 'kNN': ('knn_top1',),
        'rank-1': ('retrieval_rank1',), 'mAP': ('retrieval_map',)}
LABELS = {'stage1': 'initial encoder (the init, before SSL)', 'mocov2': 'MoCo v2', 'ours': 'MoCo v2 + ours, N(0, x): x a std (Sec. 3.4)',
          'zeronoise': 'MoCo v2 + ours, zero noise (eps_g = eps_var = 0)', 'lr_only': 'MoCo v2, L_C + L_R (nu = 0)',
          'shuffle': 'MoCo v2 + ours, eta-shuffle', 'mocov2_matched': 'MoCo v2, compute-matched epochs',
          'ours_var': 'MoCo v2 + ours, N(0, x): x a variance (G4\'s alternative)'}


def pairs(m):
    "The paired differences, for the method arm `m` ('ours' or 'ours_var', `common.method_arm`)."
    other = 'ours_var' if m == 'ours' else 'ours'
    return [(m, 'mocov2'), (other, 'mocov2'), (m, 'zeronoise'), ('zeronoise', 'mocov2'), (m, 'shuffle'), ('lr_only', 'mocov2'),
            (m, 'mocov2_matched'), ('zeronoise', 'mocov2_matched'),
            ('mocov2', 'stage1'), (m, 'stage1')]


DELTA = 2.0          # the effect the seeds must be able to detect (points of linear top-1), paired t, alpha 0.05, power 0.8


def metric(m, path):
    v = m
    for k in path: v = v[k]
    return float(v)


def run_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location('pretrained_run', HERE / 'run.py')
    run = importlib.util.module_from_spec(spec); spec.loader.exec_module(run)
    return run


def schedules():
    "The schedules in run.py's order, the current one, and the first init of the pooled round (its seed 0 chose the method arm)."
    run = run_module()
    return list(run.SCHEDULES), run.SCHEDULE, run.FIRST


def blocks():
    "The inits whose seeds are pooled (run.py's INITS: a seed is a block on one init), in run.py's order."
    return list(run_module().INITS)


def inits():
    "The inits with committed files, oldest first (init1, init2, ...)."
    return sorted(p.name for p in HERE.glob('init[0-9]*') if p.is_dir())


def load(schedule, init):
    """{arm: {seed: {'m': metrics_fast, 'f': final_metrics, 'cfg': config}}} of `schedule`'s arms on `init`, and the
    stage 1s (the initial encoder, shared by every schedule) under 'stage1'."""
    runs, summ = {}, HERE / 'summaries' / init
    for d in sorted([*summ.glob('stage1*'), *(summ / schedule).glob('*')]):
        if not (d / 'metrics_fast.json').exists(): continue
        arm, seed = d.name.rsplit('_s', 1)
        r = dict(m=json.loads((d / 'metrics_fast.json').read_text()),
                 f=json.loads((d / 'final_metrics.json').read_text()) if (d / 'final_metrics.json').exists() else {},
                 cfg=yaml.safe_load((d / 'config.yaml').read_text()) if (d / 'config.yaml').exists() else {},
                 t=json.loads((d / 'timing.json').read_text()) if (d / 'timing.json').exists() else {})
        runs.setdefault(arm, {})[int(seed)] = r
    if 'stage1' in runs:   # a stage 1 leaves the init untouched: its one row is the initial encoder of every seed of `init`
        row = next(iter(runs['stage1'].values()))
        runs['stage1'] = {k: runs['stage1'].get(k, row) for rs in list(runs.values()) for k in rs}
    return runs


def load_pooled(schedule, names):
    """The runs of every init in `names`, merged by seed (a seed belongs to one init), and {seed: init}. Each seed keeps
    its own init's initial-encoder row under 'stage1' (`load`); a seed of an init without a stage 1 has none."""
    runs, block = {}, {}
    for init in names:
        r = load(schedule, init)
        for k in {k for arm in r.values() for k in arm}:
            if k in block: raise ValueError(f'seed {k} has runs on {block[k]} and {init}: a seed belongs to one init')
            block[k] = init
        for arm, rs in r.items(): runs.setdefault(arm, {}).update(rs)
    return runs, block


def t_quantile(p, df):
    "Student's t quantile (scipy)."
    from scipy.stats import t
    return float(t.ppf(p, df))


def paired(a, b, path, runs):
    "Paired differences a - b over the seeds both have (b = 'stage1': each seed's initial encoder, its init's one row, `load`)."
    ra, rb = runs.get(a, {}), runs.get(b, {})
    seeds = sorted(s for s in ra if s in rb)
    d = [metric(ra[s]['m'], path) - metric(rb[s]['m'], path) for s in seeds]
    return seeds, d


def ci_text(d):
    if not d: return '–', None
    n, mu = len(d), st.fmean(d)
    if n < 2: return f'{mu:+.2f} (1 seed)', None
    sd = st.stdev(d); h = t_quantile(0.975, n - 1) * sd / math.sqrt(n)
    return f'{mu:+.2f} ± {sd:.2f} [{mu - h:+.2f}, {mu + h:+.2f}] ({sum(x > 0 for x in d)}/{n})', (mu - h, mu + h)


def seeds_needed(sd, delta=DELTA, alpha=0.05, power=0.8):
    "Smallest n with a paired t test detecting `delta` at `alpha` (two-sided) with `power`, for a paired spread `sd`."
    if sd == 0: return 2
    for n in range(2, 200):
        if (t_quantile(1 - alpha / 2, n - 1) + t_quantile(power, n - 1)) * sd / math.sqrt(n) <= delta: return n
    return None


def results_table(runs, m='ours'):
    rows = ['| row | seeds (inits for the initial encoder) | ' + ' | '.join(COLS) + ' |', '|---|---|' + '---|' * len(COLS)]
    for arm in LABELS:
        rs = runs.get(arm)
        if not rs: continue
        if arm == 'stage1': rs = {id(r): r for r in rs.values()}   # one row per init, not per seed (load_pooled)
        cells = []
        for path in COLS.values():
            v = [metric(r['m'], path) for r in rs.values()]
            cells.append(f'{st.fmean(v):.2f} ± {st.stdev(v):.2f}' if len(v) > 1 else f'{v[0]:.2f}')
        ep = sorted({r['cfg'].get('epochs') for r in rs.values()} - {None}) if arm == 'mocov2_matched' else []
        label = LABELS[arm] + (f" ({', '.join(map(str, ep))})" if ep else '')
        rows.append(f"| {label}{' (**method arm**)' if arm == m else ''} | {len(rs)} | " + ' | '.join(cells) + ' |')
    return '\n'.join(rows)


def seed_table(runs, block, m='ours'):
    "Every arm's metrics seed by seed (the numbers behind the paired differences), each seed with its init."
    arms = [a for a in LABELS if a != 'stage1' and a in runs]
    rows = ['| seed (init) | arm | ' + ' | '.join(COLS) + ' |', '|---|---|' + '---|' * len(COLS)]
    for s in sorted(block):
        rows += [f"| {s} (`{block[s]}`) | {a}{' (method arm)' if a == m else ''} | "
                 + ' | '.join(f'{metric(runs[a][s]["m"], p):.2f}' for p in COLS.values()) + ' |' for a in arms if s in runs[a]]
    return '\n'.join(rows)


def seed_diff_table(runs, block, m='ours'):
    """The method arm's paired differences seed by seed (`paired`, the terms `diff_table` pools), against MoCo v2, zero noise
    and, where they ran, the eta-shuffle and the compute-matched MoCo v2."""
    d = {b: [dict(zip(*paired(m, b, p, runs))) for p in COLS.values()] for b in ('mocov2', 'zeronoise', 'shuffle', 'mocov2_matched')}
    rows = [f'{m} − MoCo v2, − zero noise and − the controls that ran, seed by seed (the terms of the pooled rows above):', '',
            '| seed (init) | difference | ' + ' | '.join(COLS) + ' |', '|---|---|' + '---|' * len(COLS)]
    rows += [f"| {s} (`{block[s]}`) | {m} − {b} | " + ' | '.join(f'{c[s]:+.2f}' for c in d[b]) + ' |'
             for s in sorted(block) for b in d if s in d[b][0]]
    return '\n'.join(rows)


def diff_table(runs, m='ours'):
    rows = ['| difference | ' + ' | '.join(COLS) + ' |', '|---|' + '---|' * len(COLS)]
    for a, b in pairs(m):
        if a not in runs or b not in runs: continue
        rows.append(f'| {a} − {b} | ' + ' | '.join(ci_text(paired(a, b, p, runs)[1])[0] for p in COLS.values()) + ' |')
    return '\n'.join(rows) + ('\n\nmean ± std of the paired difference, [95 % CI, Student t], (seeds on which it is > 0); '
                              '`stage1` is the initial encoder a seed starts from: its own init\'s weights (one row per init, the same for all its seeds).')


def gate_g2(runs):
    "G2 on a schedule's MoCo v2 seeds: (pass?, its line), or (None, '') before any."
    if 'mocov2' not in runs or 'stage1' not in runs: return None, ''
    s = sorted(k for k in runs['mocov2'] if k in runs['stage1'])      # each seed against its own init (`load`)
    lc = [runs['mocov2'][k]['f'].get('train_last_epoch', {}).get('l_c') for k in s]
    K = [runs['mocov2'][k]['cfg'].get('K') for k in s]
    chance = [math.log(k + 1) if k else float('nan') for k in K]
    d = [metric(runs['mocov2'][k]['m'], COLS['linear 100%']) - metric(runs['stage1'][k]['m'], COLS['linear 100%']) for k in s]
    ok = all(l is not None and l < 0.8 * c for l, c in zip(lc, chance)) and all(x >= -1.0 for x in d)
    return ok, (f"{'pass' if ok else 'FAIL'} — L_C at the end "
                + ', '.join(f's{k}: {l:.2f} (chance {c:.2f})' for k, l, c in zip(s, lc, chance))
                + '; MoCo v2 − initial encoder, linear 100 %: ' + ', '.join(f's{k}: {x:+.2f}' for k, x in zip(s, d)) + '.')


def schedule_text(cfg):
    "A schedule from a run's config: epochs, lr per 256 images, the momentum the run used."
    return f"{cfg.get('epochs')} epochs, lr {cfg.get('lr')} per 256, m {cfg.get('m'):.4f}" if cfg else '?'


def gate_g4(runs, arm):
    "G4 on an arm's seeds: (pass on every seed?, its line)."
    s = sorted(runs[arm]); r = [g4(runs[arm][k]['f']) for k in s]
    ok = all(x[0] for x in r)
    return ok, f"{'pass' if ok else 'FAIL'} — " + ', '.join(
        f's{k}: cos {c:.3f}, gap {p:.3f}' if c is not None else f's{k}: not measured' for k, (_, c, p) in zip(s, r)) + '.'


def gates(runs, schedule, pool, earlier=(), m='ours'):
    "The gates over the pooled inits `pool` (G1 per init; G2, G3, G4 per seed): ({gate: pass?}, their lines)."
    g, out, init = {}, [], pool[0]
    for i in pool:
        p1 = HERE / i / 'gate_g1.json'
        if not p1.exists(): continue
        g1 = json.loads(p1.read_text()); ep = g1['chosen_epoch']
        vals = ', '.join(f"epoch {e}: {r['linear_top1']['1.0']:.1f}" for e, r in g1['epochs'].items())
        g['G1'] = g.get('G1', True) and g1['g1_pass']
        out.append(f"- **G1, `{i}`** (initial encoder's linear top-1 in [40, 85] %): {'pass' if g1['g1_pass'] else 'FAIL'} — "
                   f"init epochs {vals}; chosen epoch {ep} ({g1['rule']}).")
    for name in earlier:      # the schedules before the current one: their G2, as a record
        ok, line = gate_g2(load(name, init))
        if ok is not None:
            c = next(iter(load(name, init)['mocov2'].values()))['cfg']
            out.append(f"- **G2, schedule `{name}`** ({schedule_text(c)}; replaced): {line}")
    ok, line = gate_g2(runs)
    if ok is not None:
        g['G2'] = ok
        c = next(iter(runs['mocov2'].values()))['cfg']
        out.append(f"- **G2, schedule `{schedule}`** ({schedule_text(c)}; MoCo v2 learns without destroying the init: "
                   f"L_C < 0.8 × chance, linear top-1 at most 1 point below the initial encoder): {line}")
    g3s = {int(p.parent.name.rsplit('_s', 1)[1]): json.loads(p.read_text())
           for i in pool for p in sorted((HERE / 'summaries' / i).glob('stage1_s*/gate_g3.json'))}
    old = {int(p.parent.name.rsplit('_s', 1)[1]): json.loads(p.read_text())
           for i in pool for p in sorted((HERE / 'summaries' / i).glob('stage1_e5_s*/gate_g3.json'))}
    if old:
        out.append("- **G3 with 5 decoder epochs** (the first stage 1, before any arm ran): FAIL — " + ', '.join(
            f"s{k}: {x['probe_on_f_x_hat']:.1f} % on f(x̂) of {x['probe_on_f_x']:.1f} % ({100 * x['kept']:.0f} % kept)"
            for k, x in old.items()) + ". The regime was fixed as the gate says, with 15 decoder epochs (`summaries/{init}/stage1_e5_s*`).")
    if g3s:
        g['G3'] = all(x['g3_pass'] for x in g3s.values())
        out.append(f"- **G3** (the decoder draws: a probe trained on f(x) keeps ≥ 50 % of its accuracy on f(x̂)): "
                   f"{'pass' if g['G3'] else 'FAIL'} — " + ', '.join(f"s{k}: {x['probe_on_f_x']:.1f} % on f(x), "
                   f"{x['probe_on_f_x_hat']:.1f} % on f(x̂) ({100 * x['kept']:.0f} % kept)" for k, x in g3s.items())
                   + f" (chance {next(iter(g3s.values()))['chance']:.1f} %).")
    for arm, what in (('ours', 'ours: N(0, x) with x a std, Sec. 3.4'), ('ours_var', 'ours_var: x a variance, the declared alternative')):
        if arm not in runs: continue
        ok, line = gate_g4(runs, arm)
        if arm == m: g['G4'] = ok
        out.append(f"- **G4, {what}** (the pair differs: cos(ẑ, ẑ_p) ≤ {G4_COS} and pair gap > {G4_GAP}, last epoch): {line}")
    if 'ours' in runs or 'ours_var' in runs:
        out.append(f"- **Method arm: `{m}`** (G4 on seed 0 decides, pre-registered: `ours` if it passes, else `ours_var` if "
                   "it passes, else `ours`); the other reading is a record.")
    return g, '\n'.join(out)


def by_init_text(runs, block, m='ours'):
    "The method arm − MoCo v2 (linear top-1, 100 %) on each init's seeds: a check on the pooling, not a gate."
    seeds, d = paired(m, 'mocov2', COLS['linear 100%'], runs)
    per = {}
    for k, x in zip(seeds, d): per.setdefault(block[k], []).append((k, x))
    if len(per) < 2: return ''
    return (f'{m} − MoCo v2, linear top-1 (100 %), by init (a check on pooling the blocks, not a gate): '
            + '; '.join(f"`{i}` seeds {[k for k, _ in v]}: {ci_text([x for _, x in v])[0]}" for i, v in per.items()) + '.')


def power_text(runs, m='ours'):
    seeds, d = paired(m, 'mocov2', COLS['linear 100%'], runs)
    if len(d) < 2: return f'The paired spread of {m} − MoCo v2 needs 2 seeds.'
    sd = st.stdev(d); n = seeds_needed(sd)
    return (f"Paired spread of {m} − MoCo v2 (linear top-1, 100 %), seeds {seeds}: std {sd:.2f}. Seeds needed to detect "
            f"a {DELTA:.0f}-point difference (paired t, α = 0.05, power 0.8): **{n}** (at least 5 for the core arms).")


def verdict(runs, g, m='ours'):
    "The pre-registered reading (README.md), applied as written."
    failed = [k for k in ('G1', 'G2', 'G3') if g.get(k) is False]
    if failed: return (f"**Inconclusive**: gate(s) {', '.join(failed)} failed; the regime is not one where the paper's "
                       "claim can be tested (fix the regime before spending seeds).")
    missing = [k for k in ('G1', 'G2', 'G3') if k not in g]
    if missing: return f"**Not yet read**: gate(s) {', '.join(missing)} not measured yet."
    d = {c: paired(m, 'mocov2', COLS[c], runs)[1] for c in ('linear 100%', 'linear 20%', 'mAP')}
    return reading(d['linear 100%'], d['linear 20%'], d['mAP'], paired(m, 'zeronoise', COLS['linear 100%'], runs)[1],
                   g.get('G4', True), m)


def reading(d100, d20, dmap, dzn, g4=True, m='ours'):
    """The pre-registered reading of the paired differences (lists by seed: `m` − MoCo v2 at 100 % and 20 % labels and in
    mAP, `m` − zero noise at 100 %), as written in README.md; the order of its tests: supports/partial, refutes, mixed."""
    if len(d100) < 5: return f"**Not yet read**: {len(d100)} seed(s) of {m} − MoCo v2; the reading needs at least 5."
    _, ci = ci_text(d100)
    s20, smap = st.fmean(d20), st.fmean(dmap)
    q = '' if g4 else f' (G4 failed on `{m}`: the synthesized pair barely differs)'
    if ci[0] > 0 and s20 > 0 and smap > 0:
        if not dzn: return f'**Not yet read**: {m} beats MoCo v2; the zero-noise control has no seed yet' + q
        return ('**Supports** the thesis' + q if st.fmean(dzn) > 0 else
                f'**Partial**: {m} beats MoCo v2, but not the zero-noise control (the gain comes from the extra losses, not the perturbation)' + q)
    if ci[1] < 1.5: return f'**Refutes** the paper\'s effect here: the CI of {m} − MoCo v2 excludes a gain of 1.5 points or more' + q
    if ci[0] > 0:    # not named by the pre-registered list: a gain at 100 % labels whose sign the other metrics do not share
        off = ' and '.join(f'{k} ({v:+.2f})' for k, v in (('linear top-1 at 20 % labels', s20), ('mAP', smap)) if v <= 0)
        return (f'**Inconclusive (mixed)**: {m} beats MoCo v2 at 100 % labels (the CI excludes 0), but its mean difference in '
                f'{off} does not have the same sign, which "supports" requires' + q)
    return f'**Inconclusive**: the CI of {m} − MoCo v2 includes both 0 and the paper\'s effect' + q


def unique_runs(runs, stage1=True):
    "Each run once (a stage 1 row stands under every seed of its init: `load`)."
    return list({id(r): r for arm, rs in runs.items() if stage1 or arm != 'stage1' for r in rs.values()}.values())


def cpu_hours(runs, stage1=True):
    return sum((r['t'].get('train_s', 0) + r['t'].get('eval_s', 0)) * r['t'].get('threads', 1)
               for r in unique_runs(runs, stage1)) / 3600


def init_text(init):
    "The init's line: its G1 epoch, how it is made, the sha256 that identifies its weights."
    d = HERE / init
    if not (d / 'init_s0.json').exists(): return f'`{init}`: not trained yet.'
    summ = json.loads((d / 'init_s0.json').read_text()); g1 = d / 'gate_g1.json'
    ep = json.loads(g1.read_text())['chosen_epoch'] if g1.exists() else None
    row = summ['epochs'][ep - 1] if ep and len(summ['epochs']) >= ep else {}
    cap = summ['settings'].get('isa_cap')
    return (f"`{init}`: epoch {ep} of `init.py` ({summ['settings'].get('threads', 1)} thread"
            + (f", ISA cap {', '.join(f'{k}={v}' for k, v in cap.items())}" if cap else ', no ISA cap')
            + (f"; weights sha256 {row['weights_sha256'][:16]}…" if row.get('weights_sha256') else '; weights hash not recorded')
            + ').')


def records(init, names):
    "An earlier init's gates (G1, G2 schedule by schedule, G3): a record; its arms are never paired with another init's."
    g1 = json.loads((HERE / init / 'gate_g1.json').read_text())
    ep = g1['chosen_epoch']; m = g1['epochs'][str(ep)]
    lines = [f"- G1: {'pass' if g1['g1_pass'] else 'FAIL'}, epoch {ep}: linear top-1 {m['linear_top1']['1.0']:.1f} %, "
             f"kNN {m['knn_top1']:.1f}, mAP {m['retrieval_map']:.1f}."]
    for n in names:
        r = load(n, init)
        if 'mocov2' not in r: continue
        ok, line = gate_g2(r)
        c = next(iter(r['mocov2'].values()))['cfg']
        lines.append(f"- G2, schedule `{n}` ({schedule_text(c)}): {line}")
    g3 = {p.parent.name: json.loads(p.read_text()) for p in sorted((HERE / 'summaries' / init).glob('stage1_s*/gate_g3.json'))}
    if g3: lines.append('- G3 (15 decoder epochs): ' + ', '.join(f"{k}: {100 * x['kept']:.0f} % kept" for k, x in g3.items()) + '.')
    return '\n\n'.join([f'#### Records of `{init}` (its arms are not paired with another init\'s)', init_text(init), '\n'.join(lines)])


def main(schedule=None):
    names, current, first = schedules()
    schedule, pool = schedule or current, blocks()
    runs, block = load_pooled(schedule, pool)
    m = method_arm(HERE / 'summaries' / first / schedule)
    g, gt = gates(runs, schedule, pool, [n for n in names[:names.index(schedule)]], m)
    used = [i for i in pool if i in block.values() or (HERE / i / 'gate_g1.json').exists()]
    seeds_of = lambda i: sorted(k for k, b in block.items() if b == i)
    ih = sum(json.loads((HERE / i / 'init_s0.json').read_text())['cpu_seconds'] / 3600
             for i in inits() if (HERE / i / 'init_s0.json').exists())
    every = [load(n, i) for i in inits() for n in names]
    cpu = sum(cpu_hours(r, stage1=k % len(names) == 0) for k, r in enumerate(every))
    n = sum(len(unique_runs(r, stage1=k % len(names) == 0)) for k, r in enumerate(every))
    parts = ['### Inits (a seed is a block on one init; README.md, "Blocks")',
             '\n'.join(f'- {init_text(i)} Seeds: {seeds_of(i) or "none yet"}.' for i in used),
             '### Gates (decided before the runs)', gt or '(none measured yet)',
             f"### Results of schedule `{schedule}`, seeds of {' and '.join(f'`{i}`' for i in used)} pooled (test split, 1,845 images)",
             results_table(runs, m) if runs else '(no run yet)', '### Paired differences', diff_table(runs, m),
             *([t] if (t := by_init_text(runs, block, m)) else []),
             '### Per seed', seed_table(runs, block, m), seed_diff_table(runs, block, m),
             '### Power', power_text(runs, m), '### Reading', verdict(runs, g, m),
             *[records(i, names) for i in inits() if i not in pool],
             f'*{cpu + ih:.1f} CPU-hours so far (inits {ih:.1f}, {n} runs of every init and schedule: training + evaluation).*']
    return '\n\n'.join(parts)


if __name__ == '__main__': print(main())
