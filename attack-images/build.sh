#!/usr/bin/env bash
# Build the range images: the CUDA attack base, one thin image per attack family, and the range
# image (orchestrator + target + helm + exercise chart). Used by `make images`.
#
# Environment: REGISTRY (default: leakrange), TAG (default: the charts' appVersion),
# CUDA_VERSION / TORCH_CUDA (default: 12.8.1 / cu128), PUSH=1 to push after building.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v docker >/dev/null 2>&1; then
  echo "make images: the docker command is not installed; nothing was built." >&2
  echo "Build the images on a machine with a Docker engine (see docs/kubernetes.md)." >&2
  exit 2
fi
if ! docker info >/dev/null 2>&1; then
  echo "make images: 'docker info' failed (no running Docker engine or no permission);" >&2
  echo "nothing was built. Start Docker or build on a machine that has it." >&2
  exit 2
fi

REGISTRY="${REGISTRY:-leakrange}"
TAG="${TAG:-$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' helm/leakrange/Chart.yaml)}"
CUDA_VERSION="${CUDA_VERSION:-12.8.1}"
TORCH_CUDA="${TORCH_CUDA:-cu128}"
FAMILIES=(mia inversion federated synthetic)
BASE="${REGISTRY}/attack-base:${TAG}"

BUILT=()

build() {  # build IMAGE DOCKERFILE [extra docker build args...]
  local image="$1" dockerfile="$2"
  shift 2
  echo "==> ${image}"
  docker build --file "$dockerfile" --tag "$image" "$@" "$ROOT"
  BUILT+=("$image")
}

build "$BASE" attack-images/base/Dockerfile \
  --build-arg "CUDA_VERSION=${CUDA_VERSION}" --build-arg "TORCH_CUDA=${TORCH_CUDA}"
for family in "${FAMILIES[@]}"; do
  build "${REGISTRY}/attack-${family}:${TAG}" "attack-images/${family}/Dockerfile" \
    --build-arg "REGISTRY=${REGISTRY}" --build-arg "TAG=${TAG}"
done
build "${REGISTRY}/range:${TAG}" attack-images/range/Dockerfile
build "${REGISTRY}/federation:${TAG}" attack-images/federation/Dockerfile

if [[ "${PUSH:-0}" == "1" ]]; then
  for image in "${BUILT[@]}"; do
    docker push "$image"
  done
fi
printf 'built: %s\n' "${BUILT[@]}"
