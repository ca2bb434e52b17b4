"""The performance report's Markdown: the tables and the closing findings of nbs/11_performance.ipynb, built from the
result files the benchmark scripts write (benchmarks/results/*.json). Not part of the library: the notebook imports it
(`sys.path` on benchmarks/), as bench_step.py does; what a user measures with (the cost model, `cost_report`,
`step_setup`, `sync`, `peak_tflops`, ...) is `synthfg.perf`.

    python benchmarks/report.py      # writes the JSON files and re-renders the notebook that reads them with this module
"""
import json
from pathlib import Path
from synthfg.config import Config
from synthfg.perf import cost_table, split_method

__all__ = ['RESULTS', 'REPORT_CMD', 'RESULT_FILES', 'md_table', 'cost_md', 'load_result', 'load_optional', 'quick_warning',
           'machine_md', 'step_md', 'step_config_md', 'targets_md', 'retrieval_md', 'cost_summary_md', 'cost_detail_md',
           'loader_md', 'gpu_check_md', 'findings_md']

RESULTS = Path(__file__).resolve().parent / 'results'    # where the benchmark scripts write their JSON files

def md_table(header: list, rows: list) -> str:
    "A markdown table; the first column left-aligned, the others right-aligned."
    al = ['---'] + ['---:'] * (len(header) - 1)
    return '\n'.join('| ' + ' | '.join(map(str, r)) + ' |' for r in [header, al, *rows])

def _f(x, fmt='.2f', none='–'): return none if x is None else format(x, fmt)
def _pct(x, d=1): return '–' if x is None else f"{100 * x:.{d}f} %"

def cost_md(rows: list) -> str:
    "Markdown of `cost_table` rows (the time columns only if timed)."
    timed = any('ms' in r for r in rows)
    hdr = ['term', 'component', '×', 'GFLOPs', 'share'] + (['ms', 'share'] if timed else [])
    body = []
    for r in rows:
        bold = r['count'] is None or r['component'] == 'step'
        t = f"**{r['term']}**" if bold else r['term']
        body.append([t, f"`{r['component']}`" if r['component'] else '', _f(r['count'], 'd', ''), _f(r['gflops'], '.2f'), _pct(r['flop_share'])]
                    + ([_f(r.get('ms'), '.1f'), _pct(r.get('time_share'))] if timed else []))
    return md_table(hdr, body)

REPORT_CMD = 'python benchmarks/report.py'
RESULT_FILES = {'step': ('step.json', 'python benchmarks/bench_step.py --json benchmarks/results/step.json'),
                'cost': ('cost.json', 'python benchmarks/report.py --skip-retrieval'),
                'retrieval': ('retrieval.json', 'python benchmarks/bench_retrieval.py --json benchmarks/results/retrieval.json'),
                'loader': ('loader.json', 'OMP_NUM_THREADS=1 python benchmarks/bench_loader.py --json benchmarks/results/loader.json'),
                'loader_compiled': ('loader_compiled.json', 'OMP_NUM_THREADS=1 python benchmarks/bench_loader.py --compile --json benchmarks/results/loader_compiled.json'),
                'gpu_check': ('gpu_check.json', 'python benchmarks/gpu_check.py (on a GPU machine, after benchmarks/pack_data.py)')}

def load_result(name: str, folder=RESULTS) -> dict:
    "The JSON results `name` (a key of `RESULT_FILES`) from `folder`; a clear error naming the file and the command if missing."
    fn, cmd = RESULT_FILES[name]
    p = Path(folder) / fn
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: the performance report needs it. Make it with `{REPORT_CMD}` from the repository "
                                f"root (all results; `--quick` for a smoke test), or only this file with `{cmd}`.")
    return json.loads(p.read_text())

def quick_warning(d: dict) -> str:
    "A warning line if the results come from a `--quick` smoke run (tiny settings), else ''."
    return ("**Warning: these are `--quick` smoke-test numbers (tiny model, few steps), not the benchmark. "
            f"Run `{REPORT_CMD}` for the real ones.**") if d.get('quick') else ''

def machine_md(d: dict) -> str:
    "One line: where and how the numbers of results dict `d` were taken."
    c = d['config']
    load = lambda k: '/'.join(f'{x:.1f}' for x in c[k]) if c.get(k) else '?'
    parts = [f"device `{c.get('device', '?')}` ({c.get('device_name', '?')}, {c.get('cpu_count', '?')} CPUs)",
             f"torch {c.get('torch', '?')}", f"torch threads: {c.get('threads', '?')}"]
    if 'loadavg_start' in c: parts.append(f"load average (1/5/15 min) {load('loadavg_start')} at start, {load('loadavg_end')} at end")
    if c.get('date'): parts.append(f"run {c['date']}")
    return 'Measured on ' + ', '.join(parts) + '.'

def step_md(d: dict) -> str:
    "Markdown table of `step.json` (bench_step.py): step time, images/s, GFLOPs, perturbation, peak memory (+ TFLOP/s, MFU on GPU)."
    gpu = any('mfu' in r for r in d['rows'])
    hdr = ['method', 'step (s)', 'images/s', 'GFLOPs/step', 'perturbation (ms)', 'perturbation share', 'peak memory (MiB)'] + (['TFLOP/s', 'MFU'] if gpu else [])
    rows = []
    for r in d['rows']:
        p = r['perturb_s'] or None
        rows.append([r['method'], f"{r['step_s']:.3f}", f"{r['img_s']:.1f}", _f(r['flops'] and r['flops'] / 1e9, '.1f'),
                     _f(p and 1e3 * p, '.1f'), _pct(p and p / r['step_s'], 2), _f(r.get('peak_mem_bytes') and r['peak_mem_bytes'] / 2**20, '.0f')]
                    + ([_f(r.get('tflops_s'), '.1f'), _pct(r.get('mfu'))] if gpu else []))
    return md_table(hdr, rows)

def step_config_md(d: dict) -> str:
    "The benchmark configuration of `step.json` in one line."
    c = d['config']
    return (f"{c['arch']} (small stem {c['small_stem']}), {c['img_size']} px, batch {c['batch_size']}, K = {c['queue_size']}, "
            f"D = {c['mem_size']}, amp {c['amp']}; median of {c['steps']} steps after {c['warmup']} warm-up; "
            f"peak memory = {'peak RSS delta (ru_maxrss minus RSS before the model is built), one child process per method' if c.get('mem_measure') == 'rss-delta' else 'CUDA max allocated minus allocated before the model is built'}.")

def targets_md(d: dict) -> str:
    "Markdown table of the targets in `step.json`: time ratio / FLOP ratio <= 1.10, perturbation share <= 5 %, synthfg / lightly <= 1.00."
    ok = lambda b: 'met' if b else '**not met**'
    rows = []
    for ours, r in d.get('ratios', {}).items():
        rows.append([f"{ours} / {r['base']}: time ratio ÷ FLOP ratio", f"{r['time_ratio']:.2f} ÷ {r['flop_ratio']:.2f} = {r['time_per_flop_ratio']:.2f}",
                     f"≤ {r['target']:.2f}", ok(r['met'])])
    for ours, r in d.get('perturbation', {}).items():
        rows.append([f"{ours}: perturbation share of the step", f"{1e3 * r['perturb_s']:.1f} ms = {100 * r['share']:.2f} %", f"≤ {100 * r['target']:.0f} %", ok(r['met'])])
    lt = d.get('lightly')
    if lt: rows.append(['synthfg MoCo v2 step ÷ lightly MoCo v2 step', f"{lt['synthfg_step_s']:.3f} s ÷ {lt['lightly_step_s']:.3f} s = {lt['ratio']:.2f}",
                        f"≤ {lt['target']:.2f}", ok(lt['met'])])
    else: rows.append(['synthfg MoCo v2 step ÷ lightly MoCo v2 step', 'not measured: lightly not installed (`pip install -e ".[bench]"`)', '≤ 1.00', '–'])
    return md_table(['comparison', 'measured', 'target', ''], rows)

def retrieval_md(d: dict) -> str:
    "Markdown table of `retrieval.json` (bench_retrieval.py): N, chunk, time, peak memory, inputs, the N x N matrix avoided, metrics."
    rows = [[f"{r['N']:,}", r['chunk'], f"{r['time_s']:.2f}", f"{r['peak_delta_mb']:.0f}", f"{r['inputs_mb']:.0f}", f"{r['nxn_mb']:,.0f}",
             f"{r['rank1']:.2f}", f"{r['map']:.2f}"] for r in d['rows']]
    return md_table(['N', 'chunk', 'time (s)', 'peak memory (MiB)', 'inputs (MiB)', 'N×N fp32 (MiB)', 'rank-1', 'mAP'], rows)

def cost_summary_md(d: dict) -> str:
    "Markdown table of `cost.json`: per method predicted vs measured step FLOPs and time, and the closed-form ratio."
    ms, rows = d['methods'], []
    for name, m in ms.items():
        fl, ts = m['flops'], m['times_s']
        method, synth = split_method(name)
        base = ms.get(method)
        ratio = fl['step'] / base['flops']['step'] if base and synth else None
        rows.append([name, f"{m['predicted_flops'] / 1e9:.2f}", f"{fl['step'] / 1e9:.2f}", f"{100 * (m['predicted_flops'] / fl['step'] - 1):+.2f} %",
                     _f(m['predicted_s'] and 1e3 * m['predicted_s'], '.0f'), _f(ts and 1e3 * ts['step'], '.0f'),
                     '–' if not ts else f"{100 * (m['predicted_s'] / ts['step'] - 1):+.1f} %",
                     f"{m['ideal']['formula']} = {m['ideal']['ratio']:.2f}" if synth else '–', _f(ratio, '.2f')])
    return md_table(['method', 'predicted GFLOPs', 'measured GFLOPs', 'gap', 'predicted ms', 'measured ms', 'gap',
                     'closed form ours/base', 'measured FLOP ratio'], rows)

def cost_detail_md(d: dict, name: str) -> str:
    "Markdown `cost_md` table of method `name` in `cost.json`."
    m = d['methods'][name]
    method, synth = split_method(name)
    cfg = Config(method=method, synth=synth, nu=d['config']['nu'])
    return cost_md(cost_table(cfg, m['flops'], m['times_s']))

def load_optional(name: str, folder=RESULTS):
    "`load_result(name, folder)`, or None if that file does not exist yet."
    try: return load_result(name, folder)
    except FileNotFoundError: return None

def loader_md(d: dict) -> str:
    "Markdown table of `loader.json` (bench_loader.py): images/s of each pipeline per worker/core, cores per 1,000 images/s."
    s, t = d['summary'], d['tensor']
    rows = [[f"PIL (`SSLDataset` in a DataLoader, {p['workers']} worker{'s' if p['workers'] > 1 else ''})", f"{p['img_s']:.1f}",
             f"{p['img_s_per_worker']:.1f}", f"{1000 / p['img_s_per_worker']:.1f}"] for p in d['pil']]
    if t: rows.append([f"tensor cache (`DeviceViews`, {t['threads']} thread{'s' if t['threads'] > 1 else ''}, {d['config']['device']})",
                       f"{t['img_s']:.1f}", _f(t.get('img_s_per_core'), '.1f'),
                       _f(t.get('img_s_per_core') and 1000 / t['img_s_per_core'], '.1f')])
    out = md_table(['pipeline (3 views per image)', 'images/s', 'images/s per worker or core', 'CPU cores per 1,000 images/s'], rows)
    if 'speedup_per_core' in s:
        il = (f", **{s['speedup_interleaved']:.2f}×** timed back to back in one process (median of "
              f"{len(d['interleaved']['rounds'])} rounds)") if 'speedup_interleaved' in s else ''
        out += (f"\n\nTensor cache ÷ PIL, images/s per core: **{s['speedup_per_core']:.2f}×** from the rows above{il} "
                f"(target ≥ {s['target_speedup']:.0f}× on the {'interleaved ' if il else ''}ratio: "
                f"{'met' if s['target_met'] else '**not met**'}); the cache itself is decoded once in {t['decode_s']:.1f} s "
                f"({t['cache_mib']:.0f} MiB){'; colour operations compiled' if t.get('compile') else ''}.")
    return out

def gpu_check_md(d) -> str:
    "Markdown of `gpu_check.json` (benchmarks/gpu_check.py): gpu cells, step table with MFU, loaders, short runs, targets; a line if None."
    if d is None:
        return ("**No GPU run yet.** No GPU has been lent to this project so far: `benchmarks/results/gpu_check.json` does not "
                "exist. On a GPU machine: `python benchmarks/pack_data.py` (here, for the data), then "
                "`python benchmarks/gpu_check.py` (under 8 minutes) writes it, and this section shows it.")
    c, parts = d['config'], []
    parts.append(f"{'**Dry run** (CPU, tiny sizes: a smoke test of the script, not GPU numbers). ' if d.get('dry_run') else ''}"
                 f"{c['device_name']}, torch {c['torch']}, CUDA {c.get('cuda') or '–'}; {c['arch']}, {c['img_size']} px, batch "
                 f"{c['batch_size']}, amp {c['amp']}, channels_last; dense bf16 peak {_f(c.get('peak_tflops'), '.0f')} TFLOP/s; "
                 f"run {c['date']}, {d['elapsed_s']:.0f} s.")
    if d['cells']:
        parts.append(md_table(['notebook (`--flags gpu`)', 'result', 'time (s)'],
                              [[r['notebook'], r.get('skipped') or ('ok' if r['ok'] else '**failed**'), _f(r.get('time_s'), '.0f')] for r in d['cells']]))
    rows = []
    for r in d['steps']:
        mode = 'compiled' if r['compiled'] else 'eager'
        if 'img_s' not in r: rows.append([r['method'], mode] + [r.get('skipped') or f"error: {r.get('error', '')[:60]}"] + [''] * 5); continue
        rows.append([r['method'], mode, f"{1e3 * r['step_s']:.1f}", f"{r['img_s']:.0f}", _f(r.get('tflops_s'), '.1f'), _pct(r.get('mfu')),
                     f"{r['peak_mem_bytes'] / 2**30:.2f}", f"{r['first_step_s']:.1f}"])
    if rows: parts.append(md_table(['method', 'mode', 'step (ms)', 'images/s', 'TFLOP/s', 'MFU', 'peak memory (GiB)', 'first step (s)'], rows))
    L = d.get('loader')
    if L:
        lr = [[f"PIL, {p['workers']} worker(s)", f"{p['img_s']:.0f}"] for p in L['pil']]
        if L.get('tensor'): lr.append([f"tensor cache on {L['tensor']['device']}", f"{L['tensor']['img_s']:.0f}"])
        parts.append(md_table([f"loader ({L['images']} images, {c.get('data', '')})", 'images/s'], lr))
    if d['runs']:
        rr = [[n, r.get('skipped') or r.get('error') or f"{r['stage2_steps']}", _f(r.get('loss_first'), '.3f'), _f(r.get('loss_last'), '.3f'),
               _f(r.get('l_c_last'), '.3f'), _f(r.get('chance_l_c'), '.2f'), 'yes' if r.get('finite') else '**no**'] for n, r in d['runs'].items()]
        parts.append(md_table(['short run', 'joint steps', 'loss, first quarter', 'loss, last quarter', 'L_C, last quarter',
                               'L_C chance ln(K+1)', 'all finite'], rr))
    t = d['targets']
    ok = lambda b: '–' if b is None else ('met' if b else '**not met**')
    parts.append(md_table(['target', 'measured', ''], [
        ['MoCo v2 + ours model FLOP utilisation ≥ 35 %', _pct(t.get('mfu_mocov2_ours')), ok(t.get('mfu_met'))],
        ['tensor loader ≥ the fastest step', f"{_f(t.get('tensor_loader_img_s'), '.0f')} vs {_f(t.get('fastest_step_img_s'), '.0f')} images/s",
         ok(t.get('tensor_loader_keeps_up'))],
        ['PIL loader ≥ the fastest step', f"{_f(t.get('pil_loader_img_s'), '.0f')} vs {_f(t.get('fastest_step_img_s'), '.0f')} images/s",
         ok(t.get('pil_loader_keeps_up'))],
        ['hard checks (gpu cells, steps, finite losses)', '', 'ok' if t['hard_checks_ok'] else '**failed**']]))
    return '\n\n'.join(parts)

def _ok(b): return 'met' if b else 'not met'

def _pairs(ms: dict) -> list:
    "(ours name, base name) for each 'BASE+ours' row name in `ms` whose base was measured too (other rows, e.g. lightly's, skipped)."
    return [(n, n.removesuffix('+ours')) for n in ms if n.endswith('+ours') and n.removesuffix('+ours') in ms]

def _time_per_flop(ms, ours, base):
    o, b = ms[ours], ms[base]
    return (o['times_s']['step'] / b['times_s']['step']) / (o['flops']['step'] / b['flops']['step'])

def _flops_finding(ms):
    exact = sum(m['predicted_flops'] == m['flops']['step'] for m in ms.values())
    return (f"- **FLOPs are {'exact' if exact == len(ms) else 'not exact'}, times are not.** The cost model predicts the FLOPs of "
            f"{exact} of the {len(ms)} steps to the last FLOP; the closed forms (heads, queue and Grad-CAM left out) against the "
            "measured FLOP ratios: " + ', '.join(f"{o} {ms[o]['ideal']['formula']} = {ms[o]['ideal']['ratio']:.2f} vs "
                                                 f"{ms[o]['flops']['step'] / ms[b]['flops']['step']:.2f}" for o, b in _pairs(ms)) + '.')

def _noise_finding(ms, srow, c):
    twice = [(n, srow[n]['step_s'], m['times_s']['step']) for n, m in ms.items() if n in srow and m.get('times_s')]
    if not twice: return None
    n, a, b = max(twice, key=lambda t: abs(t[2] / t[1] - 1))
    return (f"- **Timing noise.** The same step timed by `bench_step` and again by the cost report differs by up to "
            f"{100 * abs(b / a - 1):.0f} % ({n}: {a:.2f} s vs {b:.2f} s) on {c.get('device_name', '?')} with "
            f"{c.get('threads', '?')} torch thread{'' if c.get('threads') == 1 else 's'}.")

def _waste_finding(ms, rs, timed):
    if not rs: return None
    own = {o: _time_per_flop(ms, o, b) for o, b in _pairs(ms) if timed}
    t = next(iter(rs.values()))['target']
    mixed = any((r['time_per_flop_ratio'] <= t) != (own[o] <= t) for o, r in rs.items() if o in own)
    return (f"- **Wasted work** (time ratio ÷ FLOP ratio, target ≤ {t:.2f}): from `bench_step` "
            + ', '.join(f"{o} {r['time_per_flop_ratio']:.2f} ({_ok(r['met'])})" for o, r in rs.items())
            + ('; from the cost report\'s own measured steps ' + ', '.join(f"{o} {v:.2f}" for o, v in own.items()) if own else '')
            + ('. The two readings fall on both sides of the target, so on this machine the target is neither confirmed '
               'nor refuted.' if mixed else '.'))

def _where_finding(ms, nu):
    parts = []
    for o, _ in _pairs(ms):
        cfg = Config(method=split_method(o)[0], synth=True, nu=nu)
        rows = [r for r in cost_table(cfg, ms[o]['flops'], ms[o]['times_s']) if r['count'] is not None and r['component'] not in ('base', 'step')]
        pert = next((r for r in rows if r['component'] == 'perturb'), None)
        parts.append(f"{o}: " + ', '.join(f"`{r['component']}`{'' if r['count'] == 1 else ' ×' + str(r['count'])} {100 * r['time_share']:.0f} %"
                                           for r in sorted(rows, key=lambda r: -r['time_share'])[:3])
                     + (f", the perturbation {100 * pert['time_share']:.1f} %" if pert else ''))
    return "- **Where the extra time goes** (cost model, share of the predicted step): " + '; '.join(parts) + '.'

def _lightly_finding(lt):
    if not lt: return "- **lightly** was not measured in this run (not installed, or `--no-lightly`): no side-by-side number."
    return f"- **lightly.** Our MoCo v2 step is {lt['ratio']:.2f}× lightly's MoCo v2 step at the same configuration ({_ok(lt['met'])})."

def _memory_finding(srow, c):
    mem = [(o, srow[o]['peak_mem_bytes'], srow[b]['peak_mem_bytes']) for o, b in _pairs(srow)
           if srow[o].get('peak_mem_bytes') and srow[b].get('peak_mem_bytes')]
    if not mem: return None
    return (f"- **Memory.** Peak training memory at batch {c.get('batch_size', '?')}, {c.get('img_size', '?')} px, ours against its base: "
            + ', '.join(f"{o} {a / 2**30:.2f} GiB vs {b / 2**30:.2f} GiB ({a / b:.1f}×)" for o, a, b in mem) + '.')

def _retrieval_finding(ret):
    big = [r for r in ret['rows'] if r['N'] == max(r['N'] for r in ret['rows'])]
    rng = lambda k, d=1, s=1: f"{min(r[k] for r in big) / s:.{d}f}–{max(r[k] for r in big) / s:.{d}f}"
    return (f"- **Retrieval** stays chunked: {big[0]['N']:,} queries in {rng('time_s', 0)} s and {rng('peak_delta_mb', 1, 1024)} GiB over "
            f"the chunk sizes, where the N×N similarity matrix alone would be {big[0]['nxn_mb'] / 1024:.1f} GiB.")

def _gpu_finding(gpu):
    if gpu is None: return "- **No GPU run yet**, so the MFU columns are empty: `python benchmarks/gpu_check.py` on a GPU machine fills them."
    t = gpu['targets']
    return (f"- **GPU** ({gpu['config']['device_name']}{', dry run' if gpu.get('dry_run') else ''}): MoCo v2 + ours at "
            f"{_pct(t.get('mfu_mocov2_ours'))} model FLOP utilisation (target ≥ {_pct(t.get('mfu_target', 0.35), 0)}); hard checks "
            f"{'ok' if t['hard_checks_ok'] else 'failed'}.")

def findings_md(step: dict, cost: dict, ret: dict, gpu=None) -> str:
    "What the report says, in bullets, every number read from the results (`step.json`, `cost.json`, `retrieval.json`, `gpu_check.json`)."
    ms, srow, c = cost['methods'], {r['method']: r for r in step['rows']}, step['config']
    timed = all(m.get('times_s') for m in ms.values())
    out = [_flops_finding(ms), _noise_finding(ms, srow, c), _waste_finding(ms, step.get('ratios', {}), timed),
           _where_finding(ms, cost['config']['nu']) if timed else None, _lightly_finding(step.get('lightly')),
           _memory_finding(srow, c), _retrieval_finding(ret), _gpu_finding(gpu)]
    return '\n'.join(b for b in out if b)
