"""Diagnostic of the round "pretrained" (not a gate, not part of the reading): is MoCo v2's loss of linear top-1 against
the init a BatchNorm-statistics effect? For a trained run's encoder, the running mean/var of every BatchNorm layer are
re-estimated on the target's training images seen plainly (resize, no augmentation: what the linear probe sees), the
weights untouched; then the same fast protocol as the round (linear top-1 100 % / 20 %, kNN, mAP).

    python experiments/pretrained/diagnostics/bn_recal.py runs/pretrained/init_s0/weights_e1.pth runs/pretrained/e5_lr015/mocov2_s2
    (a .pth is the init itself: the same treatment, so that the comparison stays fair)

Writes diagnostics/bn_recal_<schedule>_<run>.json beside this script (portable paths)."""
import json, sys, torch
from pathlib import Path
HERE = Path(__file__).resolve().parent; REPO = HERE.parents[2]
sys.path[:0] = [str(HERE.parent), str(HERE.parents[1])]
from common import portable

def recalibrate(enc, ds, batch=256):
    "Running BN statistics of `enc` re-estimated on `ds` (cumulative average over one pass, train mode, no grad)."
    for m in enc.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm): m.reset_running_stats(); m.momentum = None
    enc.train()
    with torch.no_grad():
        for x, _ in torch.utils.data.DataLoader(ds, batch_size=batch): enc(x)
    return enc.eval()

def main(runs):
    from synthfg.checkpoint import load_encoder
    from synthfg.data import make_dataset
    from synthfg.evaluation import evaluate_encoder, plain_dataset
    torch.set_num_threads(1)
    for r in map(Path, runs):
        if r.suffix == '.pth':             # the init: a torchvision state dict
            from synthfg.models import make_backbone
            from types import SimpleNamespace
            enc, _ = make_backbone('resnet18', str(r), small_stem=False); enc.eval()
            cfg = SimpleNamespace(data_root='runs/pretrained/triangles', img_size=64)
        else: enc, cfg = load_encoder(r)
        row = lambda m: {k: m[k] for k in ('linear_top1', 'knn_top1', 'retrieval_map')}
        before = row(evaluate_encoder(enc, 'folder', cfg.data_root, cfg.img_size, fracs=(1.0, 0.2)))
        recalibrate(enc, plain_dataset(make_dataset('folder', cfg.data_root, 'train'), cfg.img_size))
        after = row(evaluate_encoder(enc, 'folder', cfg.data_root, cfg.img_size, fracs=(1.0, 0.2)))
        out = dict(run=portable(r), what='BN running stats re-estimated on plain target training images', before=before, after=after)
        print(json.dumps(out), flush=True)
        (HERE / f'bn_recal_{r.parent.name}_{r.stem}.json').write_text(json.dumps(out, indent=1) + '\n')

if __name__ == '__main__': main(sys.argv[1:])
