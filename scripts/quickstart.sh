#!/usr/bin/env bash
# The whole toolkit on the embedded default (anny, built-in motions, procedural backgrounds), on a
# CPU in minutes: render -> pretrain (tiny CroCo) -> fine-tune (3D joints) -> evaluate on held-out
# rendered takes. Re-running resumes every step (finished shards and checkpoints are kept); once
# everything is done, a re-run changes no file and takes seconds.
# Output: out/quick/ (datasets, with preview.png each) and runs/quick/ (checkpoints, grids, report).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
data=out/quick
runs=runs/quick

echo "== 1/4 render: pretraining takes (8 views x 4 frames), fine-tuning takes, held-out takes"
$bin/croco-render --output $data/pretrain --takes 48 --takes-per-shard 8 --views 8 --frames 4 --size 128 --seed 1 --workers 2
$bin/croco-render --output $data/train --takes 1200 --takes-per-shard 100 --views 2 --frames 1 --size 128 --seed 2 --workers 2
$bin/croco-render --output $data/test --takes 48 --takes-per-shard 8 --views 4 --frames 1 --size 128 --seed 3 --workers 2

echo "== 2/4 pretrain: cross-view + cross-pose completion, human-centric masking"
$bin/croco-train pretrain --config tiny-cpu --data rendered:$data/pretrain --out $runs/pretrain \
    optim.max_steps=300 optim.schedule_steps=300

echo "== 3/4 fine-tune: model-free 3D joints from the pretrained encoder (person crop + top of the box)"
$bin/croco-train finetune --config finetune-joints-cpu --task hmr-free --data synthetic:$data/train \
    --init croco:$runs/pretrain/checkpoint-last.pt --out $runs/finetune optim.max_steps=450 optim.schedule_steps=450

echo "== 4/4 evaluate on held-out takes"
$bin/croco-eval synthetic --checkpoint $runs/finetune/checkpoint-last.pt --data-root $data/test --out $runs/report
grid="$(ls $runs/pretrain/grids/*.png | tail -n 1)"
cmp -s "$grid" $runs/report/pretrain_reconstructions.png || cp "$grid" $runs/report/pretrain_reconstructions.png
echo "report: $runs/report/results.md, per_joint_error.png, pretrain_reconstructions.png"
