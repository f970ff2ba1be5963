#!/usr/bin/env bash
# One prepared GPU check (scripts/gpu_check.py): EGL rendering, ViT-B pretraining (pairs/s, MFU),
# croco-eval throughput and peak GPU memory, printed as one table in under 8 minutes.
#   scripts/gpu_check.sh            on a GPU machine
#   scripts/gpu_check.sh --tiny     the same code on the CPU (Mesa, tiny sizes), as the tests run it
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PYTHON="${PYTHON:-.venv/bin/python}"
tiny=0
for arg in "$@"; do [ "$arg" = "--tiny" ] && tiny=1; done
[ "${CROCO_GPU_CHECK_TINY:-0}" = "1" ] && tiny=1
if [ "$tiny" = "0" ] && command -v nvidia-smi >/dev/null 2>&1; then
    # EGL through the NVIDIA driver, not Mesa: glvnd picks the vendor file named here
    for vendor in /usr/share/glvnd/egl_vendor.d/10_nvidia.json /etc/glvnd/egl_vendor.d/10_nvidia.json; do
        if [ -f "$vendor" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$vendor"; break; fi
    done
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
fi
exec timeout "${CROCO_GPU_CHECK_TIMEOUT:-480}" "$PYTHON" scripts/gpu_check.py "$@"
