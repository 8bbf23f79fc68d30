"""A deep plain CNN (LAYERS x Conv 3x3 -> BatchNormalization -> Relu, 8 channels) for canonize at scale.

Usage: deep_convbn.py OUT.onnx LAYERS. Canonize folds every BatchNormalization; with thousands of
layers it runs long enough to be interrupted, and it caught canonize's quadratic value maps.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out, layers, channels = sys.argv[1], int(sys.argv[2]), 8
rng = np.random.default_rng(0)
nodes, initializers = [], []
x = "input"
for i in range(layers):
    initializers.append(numpy_helper.from_array(rng.standard_normal((channels, channels, 3, 3)).astype("f4") * 0.1, f"w{i}"))
    stats = {"scale": 1 + 0.1 * rng.random(channels), "bias": 0.1 * rng.random(channels), "mean": 0.1 * rng.random(channels), "var": 1 + rng.random(channels)}
    for name, value in stats.items():
        initializers.append(numpy_helper.from_array(value.astype("f4"), f"{name}{i}"))
    nodes.append(helper.make_node("Conv", [x, f"w{i}"], [f"conv{i}"], pads=[1, 1, 1, 1], name=f"conv{i}"))
    nodes.append(helper.make_node("BatchNormalization", [f"conv{i}"] + [f"{n}{i}" for n in stats], [f"bn{i}"], name=f"bn{i}"))
    nodes.append(helper.make_node("Relu", [f"bn{i}"], [f"relu{i}"], name=f"relu{i}"))
    x = f"relu{i}"
nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
nodes.append(helper.make_node("Flatten", ["pooled"], ["logits"]))
graph = helper.make_graph(
    nodes,
    "deep_convbn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, channels, 8, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, channels])],
    initializers,
)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), out)
