"""Writes a small project exactly as ViRelAy's own scripts would (h5py, ViRelAy's keys only).

Used by test/serve-virelay.test.ts: the viewer must open projects made for ViRelAy, not only ours.
Deliberate ViRelAy-isms: channels-last uint8 images, an attribution file without `index`,
int64 clusterings plus CoRelAy's extra `train_split` dataset, WordNet-ID categories, and one
analysis method split over two files (two project entries with the same name).
Usage: python3 make_virelay_project.py OUT_DIR
"""
import json
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(7)
classes = [("n01440764", "tench"), ("n02102040", "English springer"), ("n02979186", "cassette player")]
per_class, size = 8, 12
n = per_class * len(classes)

with open(os.path.join(out, "label-map.json"), "w") as f:
    json.dump([{"index": i, "word_net_id": w, "name": name} for i, (w, name) in enumerate(classes)], f)

labels = np.repeat(np.arange(len(classes)), per_class).astype(np.uint16)
images = (rng.random((n, size, size, 3)) * 255).astype(np.uint8)  # channels last
with h5py.File(os.path.join(out, "input.h5"), "w") as f:
    f.create_dataset("data", data=images)
    f.create_dataset("label", data=labels)

attribution = rng.standard_normal((n, size, size, 3)).astype(np.float32)
prediction = rng.standard_normal((n, len(classes))).astype(np.float32)
with h5py.File(os.path.join(out, "attribution.h5"), "w") as f:
    f.create_dataset("attribution", data=attribution)
    f.create_dataset("label", data=labels)
    f.create_dataset("prediction", data=prediction)

def write_analysis(path, category_ids):
    with h5py.File(path, "w") as f:
        for k in category_ids:
            wnid = classes[k][0]
            g = f.create_group(wnid)
            idx = np.arange(k * per_class, (k + 1) * per_class, dtype=np.uint32)
            g.create_dataset("index", data=idx)
            e = g.create_group("embedding")
            spectral = rng.standard_normal((per_class, 3)).astype(np.float32)
            d = e.create_dataset("spectral", data=spectral)
            d.attrs["eigenvalue"] = np.array([0.8, 0.3, 0.0], dtype=np.float32)
            t = e.create_dataset("tsne", data=rng.standard_normal((per_class, 2)).astype(np.float32))
            t.attrs["embedding"] = "spectral"
            t.attrs["index"] = np.array([0, 1])
            c = g.create_group("cluster")
            km = c.create_dataset("kmeans-02", data=(np.arange(per_class) % 2).astype(np.int64))
            km.attrs["k"] = 2
            c.create_dataset("train_split", data=np.zeros(per_class, dtype=np.int64))

write_analysis(os.path.join(out, "analysis-a.h5"), [0, 1])
write_analysis(os.path.join(out, "analysis-b.h5"), [2])

with open(os.path.join(out, "project.yaml"), "w") as f:
    f.write("""project:
  name: ViRelAy Example
  model: VGG16
  label_map: label-map.json
  dataset:
    name: ImageNet subset
    type: hdf5
    path: input.h5
  attributions:
    attribution_method: lrp
    attribution_strategy: true_label
    sources:
      - attribution.h5
  analyses:
    - analysis_method: spectral_analysis
      sources:
        - analysis-a.h5
    - analysis_method: spectral_analysis
      sources:
        - analysis-b.h5
""")
