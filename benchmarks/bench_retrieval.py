"""Benchmark `synthfg.evaluation.retrieval_metrics` (leave-one-out cosine retrieval: rank-1, rank-5, mAP).

Not a test: prints a table of wall time and peak memory at N = 10k and 50k random features (n = 512 dims,
100 classes) for a few query-chunk sizes.

Memory measure: each configuration runs in a fresh child process (so high-water marks do not leak between rows).
Torch CPU tensors are not seen by `tracemalloc`, so we use the process resident set size: the reported
"peak delta" is `ru_maxrss` (getrusage, the process's peak RSS) after the call minus the current RSS
(/proc/self/statm) just before it, i.e. the extra memory the call needed on top of the inputs already held.
The inputs themselves (N x 512 float32) are listed separately. For comparison the N x N float32 similarity
matrix that the chunked implementation avoids is printed too.

Usage:  python benchmarks/bench_retrieval.py [--sizes 10000 50000] [--chunks 256 1024] [--threads 2] [--json out.json]
(--json also writes the config, the machine and the rows, for the performance report `python benchmarks/report.py`.)
"""
import argparse, datetime, json, os, platform, resource, subprocess, sys, time


def _rss_bytes():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def _cpu_name():
    from synthfg.perf import device_name
    return device_name('cpu')


def child(N, n, C, chunk, threads):
    import torch
    torch.set_num_threads(threads)
    from synthfg.evaluation import retrieval_metrics
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, C, (N,), generator=g)
    feats = torch.randn(N, n, generator=g)
    feats += 0.15 * torch.randn(C, n, generator=g)[labels]      # some class structure, so metrics are not trivial
    retrieval_metrics(feats[:256], labels[:256], chunk_size=64)   # warm-up (allocator, kernels)
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    m = retrieval_metrics(feats, labels, ks=(1, 5), chunk_size=chunk)
    dt = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # KiB on Linux
    print(json.dumps(dict(N=N, chunk=chunk, time_s=dt, peak_delta_mb=max(peak - rss0, 0) / 2**20,
                          inputs_mb=feats.numel() * 4 / 2**20, **{k: m[k] for k in ('rank1', 'rank5', 'map')})))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--sizes', type=int, nargs='+', default=[10_000, 50_000])
    p.add_argument('--chunks', type=int, nargs='+', default=[256, 1024])
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--classes', type=int, default=100)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--json', default=None, help='also write the results to this JSON file')
    p.add_argument('--_child', nargs=3, type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._child:
        return child(a._child[0], a.dim, a.classes, a._child[1], a._child[2])
    import torch
    print(f"retrieval_metrics benchmark: n={a.dim}, {a.classes} classes, torch {torch.__version__}, "
          f"{a.threads} threads, CPU; memory = peak RSS delta of the call (ru_maxrss - RSS before), fresh process per row")
    print(f"load average at start (1/5/15 min): {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs "
          "(timings on a shared machine scale with it)")
    hdr = f"{'N':>7} {'chunk':>6} {'time (s)':>9} {'peak delta (MiB)':>17} {'inputs (MiB)':>13} {'NxN fp32 (MiB)':>15} {'rank1':>7} {'rank5':>7} {'mAP':>7}"
    print(hdr); print('-' * len(hdr))
    load0, rows = os.getloadavg(), []
    for N in a.sizes:
        for c in a.chunks:
            out = subprocess.run([sys.executable, __file__, '--dim', str(a.dim), '--classes', str(a.classes),
                                  '--_child', str(N), str(c), str(a.threads)], capture_output=True, text=True)
            if out.returncode: sys.exit(f"child N={N} chunk={c} failed:\n{out.stderr}")
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r['nxn_mb'] = N * N * 4 / 2**20; rows.append(r)
            print(f"{N:>7} {c:>6} {r['time_s']:>9.2f} {r['peak_delta_mb']:>17.0f} {r['inputs_mb']:>13.0f} "
                  f"{N * N * 4 / 2**20:>15.0f} {r['rank1']:>7.2f} {r['rank5']:>7.2f} {r['map']:>7.2f}", flush=True)
    print(f"load average at end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if a.json:
        cfg = dict(sizes=a.sizes, chunks=a.chunks, dim=a.dim, classes=a.classes, threads=a.threads, torch=torch.__version__,
                   python=platform.python_version(), device='cpu', device_name=_cpu_name(), cpu_count=os.cpu_count(), loadavg_start=load0,
                   loadavg_end=os.getloadavg(), mem_measure='rss-delta', date=datetime.datetime.now().isoformat(timespec='seconds'))
        with open(a.json, 'w') as f: json.dump(dict(config=cfg, rows=rows), f, indent=1)
        print(f"wrote {a.json}")


if __name__ == '__main__':
    main()
