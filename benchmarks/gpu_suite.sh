#!/usr/bin/env bash
# GPU benchmark suite for a machine with a CUDA GPU and PyTorch but no internet.
#
#   benchmarks/gpu_suite.sh WHEELS [OUT.json]
#
# WHEELS is a folder of wheels holding the project's pure-Python dependencies that the
# machine lacks (plus setuptools and wheel, to build the editable install offline). Installs
# the project from it without touching an index, then runs the reward-path and training
# benchmarks for ViT-B-32, ViT-L-14 and ViT-bigG-14 (random weights) and writes one JSON.
# Budget: under 5 minutes on a current data-centre GPU; shrink with GPU_SUITE_ARGS, e.g.
#   GPU_SUITE_ARGS="--frames 512 --train-steps 1024" benchmarks/gpu_suite.sh wheels
set -euo pipefail
WHEELS=${1:?usage: benchmarks/gpu_suite.sh WHEELS [OUT.json]}
OUT=${2:-benchmarks/results/gpu_suite.json}
PYTHON=${PYTHON:-python}
cd "$(dirname "$0")/.."
export SDL_VIDEODRIVER=${SDL_VIDEODRIVER:-dummy} HF_HUB_OFFLINE=1
"$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'" 
"$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELS" -e .
# shellcheck disable=SC2086  # GPU_SUITE_ARGS is a list of options
timeout 600 "$PYTHON" -m benchmarks.gpu_suite --out "$OUT" ${GPU_SUITE_ARGS:-}
echo "gpu_suite: JSON written to $OUT"
