"""The stand-in for ImageNet weights of the round "pretrained": a supervised ResNet-18 trained on the 28 GTSRB classes
that are NOT warning triangles (class-disjoint from the round's target, the 15 triangle classes), at 64 px, with no
horizontal flip. Seeded and resumable (one checkpoint per epoch); the weights are not committed, the summary is.

    python experiments/pretrained/init.py                      # 4 epochs, seed 0 -> runs/pretrained/init2_s0/
    python experiments/pretrained/init.py --epochs 4 --seed 0  # the same, explicitly; run again to resume
    python experiments/pretrained/init.py --stop-after 1       # only the first epoch of the same 4-epoch schedule

Writes RUN/weights_e{N}.pth after every epoch N (a torchvision-format ResNet-18 state dict without `fc`, what
`synthfg_train --weights PATH` loads), RUN/checkpoint.pt (to resume) and the summary
experiments/pretrained/init2/init_s{seed}.json (per epoch: train loss / accuracy, accuracy on the source classes of
GTSRB's test split, seconds, the weights' sha256). `init2` is run.py's INIT, the round's current init. Which epoch becomes the round's init is decided by the gate G1 (run.py --init-gate).
"""
import argparse, json, os, sys, time
from pathlib import Path

# The init must be the same weights in every session, on whatever CPU the session gets: one epoch of this schedule
# gave train losses 1.667 / 1.642 / 1.773 on two x86 machines and under the AVX2 cap (torch 2.14.1 and 2.15.0 alike),
# and its linear top-1 on the target 77.1 / 70.8 %. So the init is trained single-threaded with oneDNN, ATen and MKL
# held to their AVX2 code paths, which every x86-64 machine of this project has (set before torch is imported).
PORTABLE = dict(ONEDNN_MAX_CPU_ISA='AVX2', ATEN_CPU_CAPABILITY='avx2', MKL_CBWR='AVX2')
os.environ.update(PORTABLE)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'experiments' / 'pretrained'))
from common import SOURCE, TARGET, data_root, portable, source_split, weights_sha256

import torch, torch.nn as nn, torch.nn.functional as F
import torchvision, torchvision.transforms.v2 as T


def transforms(img_size, train):
    "Supervised views without a flip (mirror images are different GTSRB classes): crop + mild colour, or a resize."
    norm = [T.ToImage(), T.ToDtype(torch.float32, scale=True), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    if not train: return T.Compose([T.Resize((img_size, img_size)), *norm])
    return T.Compose([T.RandomResizedCrop(img_size, scale=(0.5, 1.0), ratio=(0.8, 1.25)),
                      T.ColorJitter(0.3, 0.3, 0.3, 0.0), *norm])


class Images(torch.utils.data.Dataset):
    "Decoded images held in memory (35 px PPMs: ~70 MB for the source split) with a transform per item."
    def __init__(self, samples, tf):
        from PIL import Image
        self.ims = [Image.open(p).convert('RGB') for p, _ in samples]
        for im in self.ims: im.load()
        self.ys, self.tf = [y for _, y in samples], tf
    def __len__(self): return len(self.ims)
    def __getitem__(self, i): return self.tf(self.ims[i]), self.ys[i]


def atomic_save(obj, path):
    tmp = Path(str(path) + '.tmp'); torch.save(obj, tmp); os.replace(tmp, path)


@torch.no_grad()
def accuracy(model, dl):
    model.eval(); hit = n = 0
    for x, y in dl: hit += (model(x).argmax(1) == y).sum().item(); n += len(y)
    return 100.0 * hit / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data-root', default=None, help='GTSRB root (torchvision layout) [default: ../shared/data/gtsrb35]')
    ap.add_argument('--out', default=None, help='run folder [default: runs/pretrained/init2_s{seed}]')
    ap.add_argument('--epochs', type=int, default=4); ap.add_argument('--img-size', type=int, default=64)
    ap.add_argument('--batch-size', type=int, default=128); ap.add_argument('--lr', type=float, default=0.1)
    ap.add_argument('--seed', type=int, default=0); ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--summary-dir', default=None, help='where init_s{seed}.json goes [default: experiments/pretrained/init2]')
    ap.add_argument('--stop-after', type=int, default=None, help='stop after this epoch (the schedule stays that of '
                    '--epochs; run again without it to go on). On a machine that lacks the weights, this trains the chosen '
                    'epoch again and compares it with the committed summary (written to init_s{seed}_rerun.json)')
    a = ap.parse_args(argv)
    stop = min(a.stop_after or a.epochs, a.epochs)
    torch.set_num_threads(a.threads)
    root = data_root(a.data_root, 'gtsrb35')
    out = Path(a.out or ROOT / f'runs/pretrained/init2_s{a.seed}'); out.mkdir(parents=True, exist_ok=True)
    summ_path = Path(a.summary_dir or ROOT / 'experiments/pretrained/init2').resolve() / f'init_s{a.seed}.json'
    summ_path.parent.mkdir(parents=True, exist_ok=True)
    committed = json.loads(summ_path.read_text())['epochs'] if summ_path.exists() else []
    if len(committed) > stop or (committed and stop < a.epochs):   # a rerun of a committed init: keep its summary
        summ_path = summ_path.with_name(f'init_s{a.seed}_rerun.json')
    tr, te = source_split(root, 'train'), source_split(root, 'test')
    print(f'source classes {len(SOURCE)} (target {sorted(TARGET)} left out): {len(tr)} train / {len(te)} test images', flush=True)
    g = torch.Generator().manual_seed(a.seed)
    train_dl = torch.utils.data.DataLoader(Images(tr, transforms(a.img_size, True)), a.batch_size, shuffle=True,
                                           drop_last=True, generator=g)
    test_dl = torch.utils.data.DataLoader(Images(te, transforms(a.img_size, False)), 256)
    torch.manual_seed(a.seed)
    model = torchvision.models.resnet18(num_classes=len(SOURCE))
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.epochs * len(train_dl), pct_start=0.15)
    log, start = [], 0
    if (out / 'checkpoint.pt').exists():
        ck = torch.load(out / 'checkpoint.pt', weights_only=False)
        if ck['args'] != {k: v for k, v in vars(a).items() if k not in ('out', 'data_root', 'threads', 'stop_after')}:
            sys.exit(f'init: {out}/checkpoint.pt was made with other settings {ck["args"]}; use another --out')
        model.load_state_dict(ck['model']); opt.load_state_dict(ck['opt']); sched.load_state_dict(ck['sched'])
        g.set_state(ck['gen']); torch.set_rng_state(ck['rng']); log, start = ck['log'], ck['epoch']
        print(f'resumed after epoch {start}', flush=True)
    for ep in range(start, stop):
        model.train(); t0, tot, hit, n = time.time(), 0.0, 0, 0
        for x, y in train_dl:
            loss = F.cross_entropy(out_ := model(x), y)
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); sched.step()
            tot += loss.item() * len(y); hit += (out_.argmax(1) == y).sum().item(); n += len(y)
        row = dict(epoch=ep + 1, train_loss=tot / n, train_top1=100.0 * hit / n, source_test_top1=accuracy(model, test_dl),
                   seconds=time.time() - t0)
        enc = {k: v for k, v in model.state_dict().items() if not k.startswith('fc.')}
        row['weights_sha256'] = weights_sha256(enc)
        log.append(row); print(json.dumps(row), flush=True)
        atomic_save(enc, out / f'weights_e{ep + 1}.pth')
        atomic_save(dict(model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), gen=g.get_state(),
                         rng=torch.get_rng_state(), log=log, epoch=ep + 1,
                         args={k: v for k, v in vars(a).items() if k not in ('out', 'data_root', 'threads', 'stop_after')}),
                    out / 'checkpoint.pt')
        summ = dict(what='supervised ResNet-18 on the 28 non-triangle GTSRB classes (class-disjoint init)',
                    command=f'python experiments/pretrained/init.py --epochs {a.epochs} --seed {a.seed}',
                    settings=dict(arch='resnet18', img_size=a.img_size, batch_size=a.batch_size, lr=a.lr,
                                  schedule='one-cycle SGD, nesterov, wd 5e-4', threads=a.threads, torch=torch.__version__, isa_cap=PORTABLE, augmentation='random resized crop '
                                  '(0.5-1) + colour jitter 0.3, NO horizontal flip', epochs=a.epochs, seed=a.seed),
                    data_root=root.name, out=portable(out), source_classes=SOURCE, n_train=len(tr),
                    n_test=len(te), epochs=log, cpu_seconds=sum(r['seconds'] for r in log) * a.threads)
        if summ_path.name.endswith('_rerun.json'):     # the same numbers as the committed run? (bit-identical weights)
            summ['same_as_committed'] = {r['epoch']: {k: r.get(k) == c.get(k) for k in ('weights_sha256', 'train_loss', 'train_top1', 'source_test_top1')}
                                         for r, c in zip(log, committed)}
        summ_path.write_text(json.dumps(summ, indent=1) + '\n')
    print(f'done: {summ_path.relative_to(ROOT)}', flush=True)


if __name__ == '__main__': main()
