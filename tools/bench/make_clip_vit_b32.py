#!/usr/bin/env python3
"""Generate a compute-equivalent CLIP ViT-B/32 vision model with random weights.

Same architecture and sizes as openai/clip-vit-base-patch32's vision tower
(patch 32, width 768, 12 layers, 12 heads, MLP 3072 with quick_gelu,
projection 768->512), exported with torch.onnx.export as
`pixel_values [batch,3,224,224] -> image_embeds [batch,512]`, plus an 8-bit
dynamically quantized copy in onnxruntime's quantize_dynamic pattern
(DynamicQuantizeLinear + MatMulInteger). Used only by the browser benchmark:
it costs what the real model costs, but its features mean nothing.

usage: /usr/bin/python3 tools/bench/make_clip_vit_b32.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch
from torch import nn

WIDTH, LAYERS, HEADS, MLP, PATCH, IMAGE, PROJ = 768, 12, 12, 3072, 32, 224, 512


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class EncoderLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(WIDTH, eps=1e-5)
        self.q_proj = nn.Linear(WIDTH, WIDTH)
        self.k_proj = nn.Linear(WIDTH, WIDTH)
        self.v_proj = nn.Linear(WIDTH, WIDTH)
        self.out_proj = nn.Linear(WIDTH, WIDTH)
        self.layer_norm2 = nn.LayerNorm(WIDTH, eps=1e-5)
        self.fc1 = nn.Linear(WIDTH, MLP)
        self.act = QuickGELU()
        self.fc2 = nn.Linear(MLP, WIDTH)

    def forward(self, x):
        b, n, _ = x.shape
        head_dim = WIDTH // HEADS
        h = self.layer_norm1(x)
        q = self.q_proj(h).view(b, n, HEADS, head_dim).transpose(1, 2) * head_dim ** -0.5
        k = self.k_proj(h).view(b, n, HEADS, head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, n, HEADS, head_dim).transpose(1, 2)
        attn = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        h = (attn @ v).transpose(1, 2).reshape(b, n, WIDTH)
        x = x + self.out_proj(h)
        return x + self.fc2(self.act(self.fc1(self.layer_norm2(x))))


class ClipVisionWithProjection(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(WIDTH) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn((IMAGE // PATCH) ** 2 + 1, WIDTH) * 0.01)
        self.pre_layrnorm = nn.LayerNorm(WIDTH, eps=1e-5)
        self.layers = nn.ModuleList([EncoderLayer() for _ in range(LAYERS)])
        self.post_layernorm = nn.LayerNorm(WIDTH, eps=1e-5)
        self.visual_projection = nn.Linear(WIDTH, PROJ, bias=False)

    def forward(self, pixel_values):
        patches = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(pixel_values.shape[0], 1, WIDTH)
        x = torch.cat([cls, patches], dim=1) + self.position_embedding
        x = self.pre_layrnorm(x)
        for layer in self.layers:
            x = layer(x)
        return self.visual_projection(self.post_layernorm(x[:, 0, :]))


def quantize_dynamic(model: onnx.ModelProto) -> onnx.ModelProto:
    """MatMul(X, W const) -> DynamicQuantizeLinear(X) + MatMulInteger(Xq, Wq) * (sx * sw)."""
    graph = model.graph
    inits = {i.name: i for i in graph.initializer}
    new_nodes, new_inits, dropped = [], [], set()
    for node in graph.node:
        w_name = node.input[1] if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w_name is None or w_name not in inits or len(inits[w_name].dims) != 2:
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        lo, hi = min(float(w.min()), 0.0), max(float(w.max()), 0.0)
        scale = (hi - lo) / 255.0 or 1.0
        zero = int(np.clip(round(-lo / scale), 0, 255))
        wq = np.clip(np.round(w / scale) + zero, 0, 255).astype(np.uint8)
        base = node.name or w_name
        new_inits += [
            numpy_helper.from_array(wq, w_name + "_quantized"),
            numpy_helper.from_array(np.array(scale, dtype=np.float32), w_name + "_scale"),
            numpy_helper.from_array(np.array(zero, dtype=np.uint8), w_name + "_zero_point"),
        ]
        dropped.add(w_name)
        x, y = node.input[0], node.output[0]
        new_nodes += [
            helper.make_node("DynamicQuantizeLinear", [x], [x + f"_{base}_q", x + f"_{base}_s", x + f"_{base}_zp"]),
            helper.make_node(
                "MatMulInteger",
                [x + f"_{base}_q", w_name + "_quantized", x + f"_{base}_zp", w_name + "_zero_point"],
                [y + "_int32"],
            ),
            helper.make_node("Cast", [y + "_int32"], [y + "_float"], to=TensorProto.FLOAT),
            helper.make_node("Mul", [x + f"_{base}_s", w_name + "_scale"], [y + "_scale"]),
            helper.make_node("Mul", [y + "_float", y + "_scale"], [y]),
        ]
    kept = [i for i in graph.initializer if i.name not in dropped]
    del graph.node[:]
    graph.node.extend(new_nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + new_inits)
    return model


def main(out_dir: str) -> None:
    torch.manual_seed(0)
    model = ClipVisionWithProjection().eval()
    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    fp32_path = os.path.join(out_dir, "onnx", "vision_model.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model,
            torch.randn(1, 3, IMAGE, IMAGE),
            fp32_path,
            input_names=["pixel_values"],
            output_names=["image_embeds"],
            dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
            opset_version=14,
            do_constant_folding=True,
        )
    quantized = quantize_dynamic(onnx.load(fp32_path))
    onnx.save(quantized, os.path.join(out_dir, "onnx", "vision_model_quantized.onnx"))
    sizes = {
        name: os.path.getsize(os.path.join(out_dir, "onnx", name))
        for name in ("vision_model.onnx", "vision_model_quantized.onnx")
    }
    print(json.dumps({"outDir": out_dir, "bytes": sizes}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
