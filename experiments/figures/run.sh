#!/usr/bin/env bash
# Run folders behind the committed figures of nbs/09_figures.ipynb (synthfg.figures).
# Usage (from the repo root, venv active):  bash experiments/figures/run.sh [RUNS=runs/figures]
# Every run is resumable:  synthfg_train --resume RUNS/<name>  (same flags as below).
#
# Budget: the committed runs were made on 2 shared, heavily loaded CPU cores (~1 h of wall time for all
# nine), so they are TINY: encoders start from random init (no ImageNet weights exist here), 2 epochs of
# joint training on an 860/860-image seeded stratified GTSRB-35 subset at 32 px (ResNet-18, 3x3 stem),
# 1 epoch of decoder pre-training, batch 32, MoCo queue K=1024, memory bank D=512 (the bank only
# perturbs low-variance dimensions once it holds D vectors, so D must be < the images seen).
# Scale up on a GPU with e.g. --epochs 100 --decoder-epochs 10 --batch-size 128 --queue-size 4096
# --mem-size 5632 and dataset_kw {gtsrb_subset: true} (the paper's 4,800 / 3,750 subset).
set -euo pipefail
RUNS=${1:-runs/figures}
DATA=${SYNTHFG_DATA:-$(cd "$(dirname "$0")/../../.." && pwd)/shared/data}   # default: shared/data beside the repository
mkdir -p "$RUNS/logs"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

cat > "$RUNS/gtsrb.yaml" <<YAML
dataset: gtsrb
data_root: $DATA/gtsrb35
dataset_kw: {gtsrb_subset: 860}
img_size: 32
arch: resnet18
small_stem: true
K: 1024
D: 512
batch_size: 32
lr: 0.24
epochs: 2
decoder_epochs: 1
eval_every: 2
workers: 0
seed: 0
log_every: 5
YAML
sed -e "s#dataset: gtsrb#dataset: folder#" -e "s#$DATA/gtsrb35#$DATA/flowers12#" -e "s#dataset_kw: {gtsrb_subset: 860}#dataset_kw: {}#" \
    -e "s#img_size: 32#img_size: 64#" -e "s#small_stem: true#small_stem: false#" "$RUNS/gtsrb.yaml" > "$RUNS/flowers.yaml"

run() {  # run NAME CONFIG FLAGS...: skip finished runs, resume interrupted ones
  local name=$1 cfg=$2; shift 2
  local out="$RUNS/$name"
  if [ -f "$out/final_metrics.json" ]; then echo "skip $name (done)"; return; fi
  local res=(); [ -f "$out/checkpoint.pt" ] && res=(--resume "$out")
  local t0=$(date +%s)
  synthfg_train --config "$cfg" --out "$out" --no-progress "${res[@]}" "$@" > "$RUNS/logs/$name.log" 2>&1
  echo "$name $(( $(date +%s) - t0 )) s" | tee -a "$RUNS/logs/walltimes.txt"
}

queue_a() {   # Fig. 2 (GTSRB panel), Fig. 3 (MoCo v2 rows), Fig. 4 (GTSRB), Fig. 5 (dashed lines)
  run gtsrb_mocov2      "$RUNS/gtsrb.yaml" --method mocov2 --no-synth
  run gtsrb_mocov2_ours "$RUNS/gtsrb.yaml" --method mocov2
}
queue_b() {   # Fig. 3 (SimSiam rows)
  run gtsrb_simsiam      "$RUNS/gtsrb.yaml" --method simsiam --no-synth
  run gtsrb_simsiam_ours "$RUNS/gtsrb.yaml" --method simsiam
}
alpha_run() { run gtsrb_mocov2_lr_alpha$1 "$RUNS/gtsrb.yaml" --method mocov2 --nu 0 --alpha $1; }
queue_c() { alpha_run 0.5; alpha_run 2.0; }          # Fig. 5: L_C + alpha L_R (nu = 0)
queue_d() {   # Fig. 2 + Fig. 4 (flowers12 panels), Fig. 5 (third alpha)
  run flowers_mocov2      "$RUNS/flowers.yaml" --method mocov2 --no-synth
  alpha_run 1.0
  run flowers_mocov2_ours "$RUNS/flowers.yaml" --method mocov2
}
if [ "${SERIAL:-0}" = 1 ]; then queue_a; queue_b; queue_c; queue_d
else queue_a & queue_b & queue_c & queue_d & wait; fi   # 4 single-threaded processes in parallel
