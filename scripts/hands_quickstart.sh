#!/usr/bin/env bash
# CroCo-Hand on the embedded default, on a CPU in minutes: render close-up hand takes
# (croco-render --focus hands) -> pretrain croco-hand-cpu on them -> fine-tune the model-free
# hand-joints task (21 keypoints) -> score it on held-out rendered hands with FreiHAND's protocol,
# next to the mean hand. Re-running resumes every step; once everything is done it changes no file.
# Output: out/hands/ (datasets, with preview.png each) and runs/hands/ (checkpoints, report).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
data=out/hands
runs=runs/hands

echo "== 1/4 render: pretraining hand takes (8 views x 4 frames), fine-tuning takes, held-out takes"
$bin/croco-render --output $data/pretrain --focus hands --takes 48 --takes-per-shard 8 --views 8 --frames 4 --size 128 --seed 11 --workers 2
$bin/croco-render --output $data/train --focus hands --takes 400 --takes-per-shard 50 --views 4 --frames 1 --size 128 --seed 12 --workers 2
$bin/croco-render --output $data/test --focus hands --takes 48 --takes-per-shard 8 --views 4 --frames 1 --size 128 --seed 13 --workers 2

echo "== 2/4 pretrain CroCo-Hand: cross-view + cross-pose completion of hands"
$bin/croco-train pretrain --config croco-hand-cpu --data rendered:$data/pretrain --out $runs/pretrain

echo "== 3/4 fine-tune: model-free 21 hand keypoints from the pretrained encoder (right-hand crops)"
$bin/croco-train finetune --config finetune-hand-joints-cpu --task hand-joints --data synthetic:$data/train \
    --init croco:$runs/pretrain/checkpoint-last.pt --out $runs/finetune

echo "== 4/4 evaluate on held-out hand takes (PA-MPJPE, AUC 0-50 mm; mean hand alongside)"
$bin/croco-eval synthetic --checkpoint $runs/finetune/checkpoint-last.pt --data-root $data/test --option focus=hands \
    --out $runs/report
echo "report: $runs/report/results.md; previews: $data/*/preview.png"
