#!/usr/bin/env bash
# Install croco-human into .venv/ at the repository root, with the system libraries for
# offscreen OpenGL (EGL + Mesa). Idempotent: re-running only installs what is missing.
# TORCH_SPEC overrides the torch requirement (e.g. a CUDA build); the default is the CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."

gl_packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1)
missing=()
for package in "${gl_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "install.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Python side is redone only when what it installs from changes (a re-run takes a second).
torch_spec=${TORCH_SPEC:-torch==2.13.0}
install_args=(-e ".[test,lint]")  # the package with the test runner and the linters (ruff, import-linter)
stamp=.venv/.install-stamp
wanted="$(cat pyproject.toml; echo "$torch_spec"; echo "${install_args[*]}")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" == "$wanted" ] && .venv/bin/python -c "import crocohuman.render" 2>/dev/null; then
    echo "install.sh: .venv is up to date"
    exit 0
fi
python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# shellcheck disable=SC2086
.venv/bin/python -m pip install -q $torch_spec
.venv/bin/python -m pip install -q "${install_args[@]}"
printf '%s' "$wanted" > "$stamp"
echo "install.sh: ready (.venv/bin/croco-render)"
