"""How long must the decoder pre-train (stage 1) before its x_hat is an image? Measured on a validation split carved
from the training split (never the test split), for issue 11, section 2.

    OMP_NUM_THREADS=1 python experiments/decoder_study/run.py --dataset synthetic      # the embedded set, 32 px
    OMP_NUM_THREADS=1 python experiments/decoder_study/run.py --dataset gtsrb          # GTSRB-35 (paper subset), 32 px
    OMP_NUM_THREADS=1 python experiments/decoder_study/run.py --img-size 64 --encoders init --widths 32 \
        --lengths 1 2 4 8 16 32 --plain-bn eval                                      # the thesis round's 64 px setting
                                                                                      # (--plain-bn batch: the other BN mode)

Protocol (the settings of experiments/round1_cpu/run.py: ResNet-18, standard stem, random init, 32 px, batch 64, MoCo's lr 0.03
per batch, Adam 1e-3 for the decoder):
1. a short MoCo v2 + ours run (`synthfg.trainer.train`, `val_frac` > 0: it trains on the training split minus the
   validation split and logs its own `val_psnr` after stage 1 and at the end) gives a "trained" encoder; the "init"
   encoder is the seeded random init the same run starts from (what stage 1 sees in every run of the results);
2. for each encoder (frozen, eval mode) and decoder width, a fresh decoder is trained with Eq. 2's MSE on the plain
   views of the training images, exactly as stage 1 does, and measured after each length in --lengths epochs on the
   validation images: PSNR (synthfg.losses.psnr over all of them at once, as the trainer's `val_psnr`), and how often
   x_hat is closer (MSE) to its own image than to any other validation image (`ident_top1`, chance = 1/n_val);
3. baselines: the PSNR of the mean training image for every validation image (a decoder that draws nothing).

Writes experiments/decoder_study/summaries/<name>.json (config with portable paths, per-length numbers, CPU seconds);
run folders go to runs/decoder_study/ (git-ignored).
"""
import argparse, dataclasses, json, sys, time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent              # experiments/decoder_study
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))                # experiments/: tables.py
from tables import portable_config

from synthfg.checkpoint import load_checkpoint, stored_config
from synthfg.data import data_root, make_dataset, plain_transform
from synthfg.decoder import Decoder, frozen_features
from synthfg.losses import psnr, recon_loss
from synthfg.trainer import Config, build_model, train


def settings(dataset, n_per_class, enc_epochs, val_frac, seed, small_stem=False, img_size=32, plain_bn='eval'):
    "The encoder run's Config (round1_cpu's 32 px settings, batch 64; at 64 px the thesis round's batch 32; `small_stem`: 3x3 stride-1 stem)."
    b = 64 if img_size == 32 else 32
    common = dict(arch='resnet18', small_stem=small_stem, weights=None, workers=0, eval_every=0, log_every=5, progress=False,
                  img_size=img_size, batch_size=b, lr=0.03 * 256 / b, epochs=enc_epochs, decoder_epochs=1, method='mocov2',
                  synth=True, val_frac=val_frac, seed=seed, plain_bn=plain_bn)
    if dataset == 'synthetic':
        return Config(**common, dataset='synthetic', dataset_kw={'n_per_class': n_per_class, 'img_size': img_size, 'seed': 0},
                      D=1024 if img_size == 32 else 512)
    return Config(**common, dataset='gtsrb', data_root=str(data_root()/'gtsrb35'), dataset_kw={'gtsrb_subset': True, 'seed': 0},
                  K=4096, D=1024)

def plain_images(cfg, split):
    "All images of `split` ('train' = train minus val, 'val') in the plain view, as one tensor."
    ds = make_dataset(cfg.dataset, cfg.data_root, split, **{'seed': cfg.seed, **cfg.dataset_kw, 'val_frac': cfg.val_frac,
                                                             'transform': plain_transform(cfg.img_size)})
    return torch.stack([ds[i][0] for i in range(len(ds))])

def features(encoder, x, plain_bn='eval', bs=256):
    "v = f(x) of the frozen encoder as stage 1 computes it (`Config.plain_bn`: eval mode, or batch statistics in batches of `bs`)."
    return torch.cat([frozen_features(encoder, x[i:i + bs], plain_bn) for i in range(0, len(x), bs)])

@torch.no_grad()
def measure(dec, v, x, bs=256):
    "(PSNR over all images at once, ident_top1 %) of x_hat = dec(v) against x; decoder in eval mode."
    dec.eval()
    xh = torch.cat([dec(v[i:i + bs]) for i in range(0, len(v), bs)])
    dec.train()
    d = torch.cdist(xh.flatten(1), x.flatten(1))                     # x_hat_i against every x_j
    return psnr(xh, x).item(), 100.0 * (d.argmin(1) == torch.arange(len(x))).double().mean().item()

def decoder_curve(v_tr, x_tr, v_va, x_va, width, lengths, cfg):
    "A fresh decoder trained like stage 1 (Adam, Eq. 2, shuffled batches, drop_last), measured after each length."
    torch.manual_seed(cfg.seed)
    dec = Decoder(v_tr.shape[1], cfg.img_size, width=width)
    opt = torch.optim.Adam(dec.parameters(), lr=cfg.decoder_lr)
    g, rows, t0, b = torch.Generator().manual_seed(cfg.seed), [], time.process_time(), cfg.batch_size
    for ep in range(1, max(lengths) + 1):
        perm = torch.randperm(len(v_tr), generator=g)
        for i in range(0, len(perm) - b + 1, b):
            idx = perm[i:i + b]
            loss = recon_loss(dec(v_tr[idx]), x_tr[idx])
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if ep in lengths:
            (vp, vi), (tp, _) = measure(dec, v_va, x_va), measure(dec, v_tr[:len(v_va)], x_tr[:len(v_va)])
            rows.append(dict(epochs=ep, val_psnr=vp, ident_top1=vi, train_psnr=tp, cpu_s=time.process_time() - t0))
            print(f"  width {width:3d}  {ep:2d} epoch(s): val PSNR {vp:6.2f} dB  ident {vi:5.1f}%  train PSNR {tp:6.2f} dB"
                  f"  ({rows[-1]['cpu_s']:.0f} CPU s)", flush=True)
    return rows

def init_encoder(cfg):
    "The seeded random-init encoder every run of `cfg` starts from (what stage 1 sees)."
    torch.manual_seed(cfg.seed)
    return build_model(cfg).encoder

def encoder_run(cfg, out):
    "Train (or reuse) the short MoCo v2 + ours run in `out`; -> (its trained encoder, its summary)."
    cfg = dataclasses.replace(cfg, out=str(out))
    summ = json.loads((out/'final_metrics.json').read_text()) if (out/'final_metrics.json').exists() else train(cfg)
    ck = load_checkpoint(out); m = build_model(stored_config(ck, out)); m.load_state_dict(ck['model'])
    return m.encoder, summ

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--dataset', choices=('synthetic', 'gtsrb'), default='synthetic')
    ap.add_argument('--n-per-class', type=int, default=100, help='synthetic: training images per class (before the split)')
    ap.add_argument('--enc-epochs', type=int, default=3, help='joint epochs of the encoder run')
    ap.add_argument('--lengths', type=int, nargs='+', default=[1, 2, 4, 8], help='decoder pre-training lengths (epochs)')
    ap.add_argument('--widths', type=int, nargs='+', default=[32, 64], help='decoder widths')
    ap.add_argument('--encoders', nargs='+', choices=('init', 'trained'), default=['init', 'trained'],
                    help="encoders to study ('trained' needs the short encoder run)")
    ap.add_argument('--val-frac', type=float, default=0.1)
    ap.add_argument('--small-stem', action='store_true', help="the encoder's 3x3 stride-1 stem (round1_cpu uses the standard one)")
    ap.add_argument('--img-size', type=int, choices=(32, 64), default=32, help='image size (64: batch 32, as the thesis round)')
    ap.add_argument('--plain-bn', choices=('eval', 'batch'), default='eval', help="BatchNorm of the frozen encoder's features (Config.plain_bn)")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--name', default=None)
    ap.add_argument('--runs', default=str(REPO/'runs'/'decoder_study'))
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    name = a.name or f"{a.dataset}_{a.img_size}px" + ('' if a.plain_bn == 'eval' else '_batch_bn')
    cfg = settings(a.dataset, a.n_per_class, a.enc_epochs, a.val_frac, a.seed, a.small_stem, a.img_size, a.plain_bn).validate()
    t0, w0 = time.process_time(), time.time()
    encoders, summ = {'init': init_encoder(cfg)}, {}
    if 'trained' in a.encoders: encoders['trained'], summ = encoder_run(cfg, Path(a.runs)/name)
    enc_cpu = time.process_time() - t0
    x_tr, x_va = plain_images(cfg, 'train'), plain_images(cfg, 'val')
    mean_psnr = psnr(x_tr.mean(0, keepdim=True).expand_as(x_va), x_va).item()
    print(f"{name}: {len(x_tr)} training / {len(x_va)} validation images; mean-image baseline {mean_psnr:.2f} dB; "
          f"encoder run {summ.get('time_s', 0):.0f} s; its val_psnr {summ.get('val_psnr', {}).get('after_stage1')} (after stage 1), "
          f"{summ.get('val_psnr', {}).get('last')} (end)", flush=True)
    curves = []
    for enc_name in a.encoders:
        bs = cfg.batch_size if a.plain_bn == 'batch' else 256
        v_tr, v_va = (features(encoders[enc_name], x, a.plain_bn, bs) for x in (x_tr, x_va))
        print(f"encoder {enc_name}:", flush=True)
        for w in a.widths:
            curves.append(dict(encoder=enc_name + ('' if a.plain_bn == 'eval' else ' (batch-stat BN)'), width=w, rows=decoder_curve(v_tr, x_tr, v_va, x_va, w, a.lengths, cfg)))
    res = dict(name=name, command='OMP_NUM_THREADS=1 python experiments/decoder_study/run.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
               config=portable_config(dataclasses.asdict(cfg)), n_train=len(x_tr), n_val=len(x_va), mean_image_psnr=mean_psnr,
               ident_chance=100.0 / len(x_va), trainer_val_psnr={k: v for k, v in summ.get('val_psnr', {}).items() if k != 'history'},
               encoder_run_s=summ.get('time_s'), encoder_cpu_s=enc_cpu, curves=curves,
               cpu_s_total=time.process_time() - t0, wall_s_total=time.time() - w0, torch_threads=torch.get_num_threads())
    out = HERE/'summaries'/f'{name}.json'
    out.parent.mkdir(parents=True, exist_ok=True); out.write_text(json.dumps(res, indent=1))
    print(f"wrote {out} ({res['cpu_s_total']:.0f} CPU s)")

if __name__ == '__main__': main()
