"""The run queue shared by the rounds' scripts (experiments/round1_cpu/run.py, experiments/thesis/run.py): a run's state
from its folder, train (or resume) + evaluate one run as two subprocesses, progress log, and `collect`, which copies a
finished run's small summary files into the round's committed summaries/ with portable paths (`tables.write_portable`).

Not part of the `synthfg` package; the scripts put experiments/ on sys.path and import it as `runqueue`.
"""
import json, os, subprocess, sys, threading, time
from pathlib import Path

from tables import write_portable

SUMMARY_FILES = ('config.yaml', 'metrics_fast.json', 'metrics_faithful.json', 'final_metrics.json', 'metrics.jsonl', 'timing.json')
RETRAINED = 'retrained.json'    # in a run folder that trained a committed run again (its weights were not on this machine)

def folder_state(d):
    "A run folder's state: 'done' (evaluated), 'trained', 'partial' (a checkpoint) or 'todo'."
    d = Path(d)
    if (d/'metrics_fast.json').exists(): return 'done'
    if (d/'final_metrics.json').exists(): return 'trained'
    if (d/'checkpoint.pt').exists(): return 'partial'
    return 'todo'

def state(run): return folder_state(run['cfg'].out)

_lock = threading.Lock()
def log(runs_dir, msg):
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    with _lock:
        print(line, flush=True)
        with open(runs_dir/'progress.log', 'a') as f: f.write(line + '\n')

def collect(run, results_dir):
    """Copy the run's small summary files to results_dir/NAME (the results page reads them), every path in them made
    portable (`tables.write_portable`: relative to the repository / data root). A run trained again (RETRAINED in its
    folder) goes to results_dir/NAME/retrained/ instead, so the committed summaries stay; a run that started from such
    a decoder (`decoder_init`) gets a copy of that note as stage1.json."""
    src, dst = Path(run['cfg'].out), Path(results_dir)/run['name']
    if (src/RETRAINED).is_file(): dst = dst/'retrained'
    dst.mkdir(parents=True, exist_ok=True)
    for f in SUMMARY_FILES + (RETRAINED,):
        if (src/f).exists(): write_portable(src/f, dst/f)
    init = getattr(run['cfg'], 'decoder_init', None)
    if init and (Path(init)/RETRAINED).is_file(): write_portable(Path(init)/RETRAINED, dst/'stage1.json')

def _env(threads):
    "Environment of a child run: `threads` torch/BLAS threads, unbuffered output."
    return {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads), 'PYTHONUNBUFFERED': '1'}

def execute(run, runs_dir, results_dir, threads):
    "Train (or resume) and evaluate `run`, then `collect` its summaries to `results_dir` (None: the caller collects) -> 'done' | 'failed'."
    d, name = Path(run['cfg'].out), run['name']
    st = state(run)
    if st == 'done':
        if results_dir is not None: collect(run, results_dir)
        return 'done'
    env = _env(threads)
    bindir = Path(sys.executable).parent
    logf = runs_dir/'logs'/f'{name}.log'
    timing = json.loads((d/'timing.json').read_text()) if (d/'timing.json').exists() else {'train_s': 0.0, 'eval_s': 0.0}
    with open(logf, 'a') as lf:
        if st in ('todo', 'partial'):
            d.mkdir(parents=True, exist_ok=True)
            cfg_path = runs_dir/'configs'/f'{name}.yaml'
            run['cfg'].to_yaml(cfg_path)
            cmd = [str(bindir/'synthfg_train'), '--config', str(cfg_path), '--out', str(d), '--no-progress']
            if st == 'partial': cmd += ['--resume', str(d)]
            elif any(d.iterdir()): cmd += ['--overwrite']     # the leftovers of a run that never checkpointed
            log(runs_dir, f"start {name} ({'resume' if st == 'partial' else 'fresh'})")
            t0 = time.time()
            r = subprocess.run(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env)
            timing['train_s'] += time.time() - t0
            (d/'timing.json').write_text(json.dumps({**timing, 'threads': threads}))
            if r.returncode: log(runs_dir, f"FAILED {name} (synthfg_train exit {r.returncode}; see {logf})"); return 'failed'
        t0 = time.time()
        r = subprocess.run([str(bindir/'synthfg_eval'), '--ckpt', str(d), '--protocol', 'fast'], stdout=lf,
                           stderr=subprocess.STDOUT, env=env)
        timing['eval_s'] = time.time() - t0
        (d/'timing.json').write_text(json.dumps({**timing, 'threads': threads}))
        if r.returncode: log(runs_dir, f"FAILED {name} (synthfg_eval exit {r.returncode}; see {logf})"); return 'failed'
    if results_dir is not None: collect(run, results_dir)
    log(runs_dir, f"done {name}: train {timing['train_s']:.0f} s, eval {timing['eval_s']:.0f} s")
    return 'done'
