#!/usr/bin/env bash
# The Clever-Hans demo: find a planted shortcut with the whole xai-tools chain.
#
# fixtures/clever-hans/ holds 3 600 real MNIST digits (zero … five) where half of the "three"s carry a
# small "©" tag in the bottom-right corner, and a small CNN trained on them that learned to use the
# tag (fixtures/README.md). This script explains every sample with LRP, runs SpRAy on the
# explanations, renders the "three" heatmaps, writes a ViRelAy project and serves it. In the
# browser, pick "three": the stamped samples form their own cluster, their heatmaps light up the tag.
#
#   npm run demo                        # or: bash examples/clever-hans/demo.sh
#   bash examples/clever-hans/demo.sh --no-serve   # stop after writing the project
#   OUT=/tmp/hans PORT=9000 bash examples/clever-hans/demo.sh
#
# Every step is an ordinary xai-tools command; the lines starting with "$ xai-tools" are what you
# would type (with `npm install -g .` or `npx xai-tools`). make -C examples/clever-hans does the same
# with incremental rebuilds.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixture="$root/fixtures/clever-hans"
out="${OUT:-$here/out}"
port="${PORT:-8080}"
serve=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) serve=0 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# Runs the CLI from this checkout, echoing the command as a user would type it.
xai() {
  local arg shown='$ xai-tools'
  for arg in "$@"; do
    arg="${arg//"$root/"/}"
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then shown+=" $arg"; else shown+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '%s\n' "$shown"
  node "$root/bin/xai-tools.js" "$@"
}
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
step() { printf '\n%s[%s] %s%s\n' "$bold" "$1" "$2" "$plain"; }

if [ ! -f "$root/dist/cli.js" ]; then
  step 0/6 "build: dist/ is missing, compiling once (npm run build)"
  (cd "$root" && npm run build)
fi
started=$(date +%s)
# A second run recomputes everything and replaces the first run's files (never half-written ones).
if [ -e "$out/attribution.h5" ] || [ -e "$out/project.yaml" ]; then
  printf 'replacing the outputs of a previous run in %s\n' "${out#"$root/"}"
fi
mkdir -p "$out"

step 1/6 "canonize: fold the BatchNorm into its convolution, so LRP sees plain layers"
xai canonize "$fixture/model.onnx" --overwrite -o "$out/model.canonical.onnx"

step 2/6 "attribute: LRP (EpsilonGammaBox, inputs in [0, 1]) for every sample, explaining its true label"
xai attribute --model "$out/model.canonical.onnx" --dataset "$fixture/dataset.h5" \
  --composite epsilon-gamma-box --low 0 --high 1 --target label --no-canonize --overwrite \
  -o "$out/attribution.h5"

step 3/6 "spray: spectral clustering of each class's heatmaps; the suspicion ranking is printed last"
# Few groups are expected, so k = 2…8 on the 8 leading eigenvectors (spectral clustering's usual
# "about as many eigenvectors as clusters"; the default 32 also let k-means split each group by
# handwriting style). t-SNE only, no DBSCAN/UMAP: keeps the demo near a minute.
xai spray "$out/attribution.h5" --label-map "$fixture/label-map.json" \
  --n-eigval 8 --clusters 2:8 --algorithms kmeans,agglomerative,hdbscan --embeddings tsne \
  --overwrite -o "$out/analysis.h5"

step 4/6 "heatmap: one grid sheet of every \"three\" (class 3); the tagged ones glow in the corner"
xai heatmap "$out/attribution.h5" --labels 3 --grid auto --symmetric --overwrite -o "$out/heatmaps"

# Which explanation is most faithful? Region perturbation (docs/evaluate.md) of gradient,
# epsilon-plus and the epsilon-gamma-box attributions above, on the first 600 samples.
step 4b/6 "evaluate: region perturbation ranks gradient, epsilon-plus and epsilon-gamma-box (600 samples)"
for method in gradient epsilon-plus; do
  composite="$method"; [ "$method" = gradient ] && composite=none
  xai attribute --model "$out/model.canonical.onnx" --dataset "$fixture/dataset.h5" --composite "$composite" \
    --no-canonize --indices 0:600 --overwrite -q -o "$out/$method.h5"
done
xai evaluate --model "$out/model.canonical.onnx" --dataset "$fixture/dataset.h5" \
  "$out/gradient.h5" "$out/epsilon-plus.h5" "epsilon-gamma-box=$out/attribution.h5" \
  --indices 0:600 --patch 4 --overwrite -q --plot "$out/evaluation.png" -o "$out/evaluation.h5"

step 5/6 "project init: link dataset, label map, attributions and analysis into a ViRelAy project"
xai project init --name "Clever Hans (MNIST)" --model "SmallCNN (fixtures/clever-hans/model.onnx)" \
  --dataset "$fixture/dataset.h5" --dataset-name "MNIST 0-5, half of the threes tagged" \
  --label-map "$fixture/label-map.json" \
  --attributions "$out/attribution.h5" --attribution-method "LRP EpsilonGammaBox" --attribution-strategy true_label \
  --analysis "spectral_analysis=$out/analysis.h5" \
  --overwrite -o "$out/project.yaml"

printf '\nDone in %ss. Outputs in %s:\n' "$(( $(date +%s) - started ))" "${out#"$root/"}"
(cd "$out" && ls -1 model.canonical.onnx attribution.h5 analysis.h5 evaluation.h5 evaluation.png heatmaps/*.png project.yaml | sed 's/^/  /')

if [ "$serve" = 0 ]; then
  printf '\nTo browse it: node bin/xai-tools.js serve %s\n' "${out#"$root/"}/project.yaml"
  exit 0
fi
step 6/6 "serve: open http://127.0.0.1:$port/ , pick class \"three\" and a k-means clustering; Ctrl-C stops"
xai serve "$out/project.yaml" --port "$port"
