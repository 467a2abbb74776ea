"""The PyTorch side of tests/bench/mlpOnnxGraph.test.ts, in one interpreter.

    python3 torch_mlp_export.py SPEC.json BENCH_GRAPH.onnx OUT_DIR

SPEC.json holds the model (per layer: outDim, inDim, the row-major weight,
the bias, "relu" or "none") and the input rows. This script builds the same
nn.Sequential(Linear, ReLU, ..., Linear), exports it with torch.onnx.export
(torch's defaults: opset 14 on torch 1.13), runs torch's forward pass on the
inputs, and describes both ONNX files (its export and the bench's graph) node
by node with the onnx package. It writes OUT_DIR/report.json; the test does
every assertion.
"""
import json
import os
import sys

import onnx
import onnx.helper
import torch
import torch.nn as nn


def build_model(layers):
    modules = []
    for layer in layers:
        linear = nn.Linear(layer["inDim"], layer["outDim"])
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(layer["weight"], dtype=torch.float32).reshape(layer["outDim"], layer["inDim"]))
            linear.bias.copy_(torch.tensor(layer["bias"], dtype=torch.float32))
        modules.append(linear)
        if layer["activation"] == "relu":
            modules.append(nn.ReLU())
    return nn.Sequential(*modules).eval()


def attribute_value(attribute):
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def describe(path):
    model = onnx.load(path)
    onnx.checker.check_model(model)
    graph = model.graph

    def value_info(info):
        dims = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in info.type.tensor_type.shape.dim]
        return {"name": info.name, "elemType": info.type.tensor_type.elem_type, "shape": dims}

    return {
        "irVersion": model.ir_version,
        "opsets": [{"domain": o.domain, "version": o.version} for o in model.opset_import],
        "nodes": [
            {
                "opType": node.op_type,
                "name": node.name,
                "domain": node.domain,
                "inputs": list(node.input),
                "outputs": list(node.output),
                "attributes": {a.name: {"type": a.type, "value": attribute_value(a)} for a in node.attribute},
            }
            for node in graph.node
        ],
        "initializers": [{"name": t.name, "dims": list(t.dims), "dataType": t.data_type} for t in graph.initializer],
        "inputs": [value_info(i) for i in graph.input],
        "outputs": [value_info(o) for o in graph.output],
    }


def main():
    spec_path, bench_graph_path, out_dir = sys.argv[1:4]
    with open(spec_path) as f:
        spec = json.load(f)
    torch.manual_seed(0)
    model = build_model(spec["layers"])
    inputs = torch.tensor(spec["inputs"], dtype=torch.float32)
    torch_graph_path = os.path.join(out_dir, "torch-export.onnx")
    torch.onnx.export(
        model,
        inputs[:1],
        torch_graph_path,
        input_names=["features"],
        output_names=["logits"],
        dynamic_axes={"features": {0: "batch"}, "logits": {0: "batch"}},
    )
    with torch.no_grad():
        logits = model(inputs)
    report = {
        "torchVersion": torch.__version__,
        "torchExport": describe(torch_graph_path),
        "benchGraph": describe(bench_graph_path),
        "logits": logits.tolist(),
    }
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main()
