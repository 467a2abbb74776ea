#!/usr/bin/env python3
"""Export a PyTorch MLP checkpoint to the canonical clip-mlp-weights JSON.

    python3 tools/export_mlp_weights.py --checkpoint model.pt --out weights.json \
        [--classes classes.json] [--normalize none|l2] \
        [--output-activation sigmoid-normalized|softmax|sigmoid] \
        [--name NAME] [--input-dim 512] [--clip-model ID] [--module-file FILE]

The checkpoint is either a state_dict (`torch.save(model.state_dict(), path)`,
optionally wrapped as {"state_dict": ...} or {"model_state_dict": ...}) or a
whole module (`torch.save(model, path)`).

A whole module is pickled by class name, so its class must be importable when
loading. Pass `--module-file train.py` (the file that defines the class; its
`if __name__ == "__main__":` block does not run) and classes pickled as
`__main__.X` or `train.X` resolve against it. Only export checkpoints you
trust: loading a pickle can run arbitrary code.

What can be expressed: Linear layers (with bias) whose shapes chain, ReLU or
nothing between them, Dropout/Identity/Flatten (no-ops at inference), and a
final Sigmoid or Softmax that agrees with --output-activation. Anything else
(Conv, BatchNorm, LayerNorm, other activations, bias-less Linear) is refused
with one line naming the module path, exit code 1.

A state_dict carries no activations: ReLU between its Linear layers is
assumed, the original design's convention. A module is read from its forward
pass (torch.fx trace), falling back to its submodules in definition order if
the forward cannot be traced.

Numbers are written as the shortest decimal that parses back (through a
float64, as JSON readers do) to the exact float32 value, so the file is
lossless for a float32 engine.

Requires PyTorch (Debian: apt-get install -y python3-torch, interpreter
/usr/bin/python3).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import types
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

WEIGHTS_FORMAT = "clip-mlp-weights"
WEIGHTS_FORMAT_VERSION = 1
DEFAULT_CLIP_MODEL = "Xenova/clip-vit-base-patch32"
DEFAULT_FEATURE_DIM = 512
NORMALIZATIONS = ("none", "l2")
OUTPUT_ACTIVATIONS = ("sigmoid-normalized", "softmax", "sigmoid")
MAX_NAME_LENGTH = 200
MAX_CLASS_NAME_LENGTH = 100
STATE_DICT_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")


class ExportError(Exception):
    """A problem the user can act on; printed as one line, exit code 1."""


@dataclass
class LinearLayer:
    path: str
    weight: "object"  # torch.Tensor [out][in]
    bias: "object"  # torch.Tensor [out]
    activation: str = "none"

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class Architecture:
    layers: List[LinearLayer]
    # Set when the model itself ends in Sigmoid/Softmax: the output activation it implies.
    trailing_activation: Optional[str] = None
    trailing_path: str = ""


def import_torch():
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ExportError(
            f"PyTorch is not importable by {sys.executable} ({error}); install Debian's python3-torch "
            "(apt-get install -y python3-torch) and run this script with /usr/bin/python3"
        )
    return sys.modules["torch"]


def shape_text(tensor) -> str:
    return "×".join(str(int(d)) for d in tensor.shape) or "scalar"


# ---------------------------------------------------------------- loading


def load_module_file(path: str) -> types.ModuleType:
    if not os.path.isfile(path):
        raise ExportError(f"--module-file {path} does not exist")
    module_name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ExportError(f"--module-file {path} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    # Registered before executing so the file's own pickled references
    # (`train.Net`) and dataclass-style self-lookups resolve to it.
    sys.modules[module_name] = module
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # the user's file: any failure is reported, not traced back
        raise ExportError(f"--module-file {path} failed to import: {type(error).__name__}: {error}")
    return module


def load_checkpoint(torch, path: str, module_file: Optional[str]):
    if not os.path.isfile(path):
        raise ExportError(f"checkpoint {path} does not exist")
    definitions = load_module_file(module_file) if module_file else None
    exporter_main = sys.modules["__main__"]
    if definitions is not None:
        # A model saved from a training script is pickled as `__main__.ClassName`;
        # while loading, `__main__` must be that script, not this exporter.
        sys.modules["__main__"] = definitions
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except (AttributeError, ModuleNotFoundError) as error:
        hint = (
            f"check that {module_file} defines it"
            if module_file
            else "pass --module-file FILE pointing at the Python file that defines the model class"
        )
        raise ExportError(f"checkpoint {path} holds a pickled module whose class cannot be found ({error}): {hint}")
    except Exception as error:
        raise ExportError(f"checkpoint {path} could not be loaded by torch.load: {type(error).__name__}: {error}")
    finally:
        sys.modules["__main__"] = exporter_main


# ---------------------------------------------------------------- state_dict


def unwrap_checkpoint(torch, checkpoint):
    """Returns a Module or a flat name→Tensor mapping."""
    if isinstance(checkpoint, torch.jit.ScriptModule):
        raise ExportError(
            "checkpoint is a TorchScript archive, which this exporter does not read; "
            "save model.state_dict() or the eager module with torch.save instead"
        )
    if isinstance(checkpoint, torch.nn.Module):
        return checkpoint
    if isinstance(checkpoint, dict):
        if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
            return checkpoint
        for key in STATE_DICT_WRAPPER_KEYS:
            inner = checkpoint.get(key)
            if isinstance(inner, torch.nn.Module) or (
                isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values())
            ):
                return inner
        non_tensor = [k for k, v in checkpoint.items() if not isinstance(v, torch.Tensor)]
        raise ExportError(
            "checkpoint is a dict but not a state_dict: "
            + (f"key {non_tensor[0]!r} holds a {type(checkpoint[non_tensor[0]]).__name__}, not a tensor" if non_tensor else "it is empty")
            + f"; expected only tensors, or the state_dict under one of {', '.join(STATE_DICT_WRAPPER_KEYS)}"
        )
    raise ExportError(
        f"checkpoint holds a {type(checkpoint).__name__}; expected a state_dict or an nn.Module saved with torch.save"
    )


def architecture_from_state_dict(state_dict) -> Architecture:
    groups: "OrderedDict[str, Dict[str, object]]" = OrderedDict()
    for key, tensor in state_dict.items():
        prefix, _, suffix = key.rpartition(".")
        groups.setdefault(prefix, {})[suffix] = tensor

    layers: List[LinearLayer] = []
    for prefix, params in groups.items():
        where = f"state_dict {prefix}" if prefix else "state_dict (top level)"
        if {"running_mean", "running_var", "num_batches_tracked"} & params.keys():
            raise ExportError(f"{where}: BatchNorm (running statistics in the state_dict) cannot be expressed; fold it into the neighbouring Linear before exporting")
        weight = params.get("weight")
        bias = params.get("bias")
        unexpected = sorted(params.keys() - {"weight", "bias"})
        if unexpected:
            raise ExportError(f"{where}: unexpected parameter {prefix + '.' if prefix else ''}{unexpected[0]}; only Linear weight and bias can be expressed")
        if weight is None:
            raise ExportError(f"{where}: has a bias but no weight; only Linear layers can be expressed")
        if weight.dim() > 2:
            raise ExportError(f"{where}: weight is {shape_text(weight)}, a convolution (Conv) kernel; only Linear layers (2-D weight) can be expressed")
        if weight.dim() < 2:
            raise ExportError(f"{where}: weight is 1-D ({shape_text(weight)}), a normalization layer (LayerNorm/BatchNorm); only Linear layers can be expressed")
        if bias is None:
            raise ExportError(f"{where}: Linear without bias (weight {shape_text(weight)}, no {prefix}.bias); only Linear layers with bias can be expressed")
        layers.append(LinearLayer(where, weight, bias))
    if not layers:
        raise ExportError("checkpoint state_dict is empty: no Linear layers to export")
    for layer in layers[:-1]:
        layer.activation = "relu"
    return Architecture(layers)


# ---------------------------------------------------------------- module


def noop_module(torch, module) -> bool:
    nn = torch.nn
    # Dropout1d is newer than some torch builds, so look the classes up by name.
    noops = tuple(getattr(nn, name) for name in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout", "Identity") if hasattr(nn, name))
    if isinstance(module, noops):
        return True
    # Flatten from dim 1 leaves a [batch, features] input unchanged.
    return isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1


def describe_module(module) -> str:
    return type(module).__name__


class ChainBuilder:
    """Accumulates Linear/ReLU/output-activation steps in execution order."""

    def __init__(self, torch):
        self.torch = torch
        self.layers: List[LinearLayer] = []
        self.trailing_activation: Optional[str] = None
        self.trailing_path = ""

    def refuse_after_output(self, path: str, what: str):
        if self.trailing_activation:
            raise ExportError(f"{path}: {what} after the output activation at {self.trailing_path} cannot be expressed")

    def add_linear(self, path: str, module):
        self.refuse_after_output(path, "Linear")
        if module.bias is None:
            raise ExportError(f"{path}: Linear without bias ({module.out_features}×{module.in_features} weight, bias=False); only Linear layers with bias can be expressed")
        self.layers.append(LinearLayer(path, module.weight.detach(), module.bias.detach()))

    def add_relu(self, path: str):
        self.refuse_after_output(path, "ReLU")
        if not self.layers:
            raise ExportError(f"{path}: ReLU before the first Linear cannot be expressed (features enter the first Linear directly)")
        self.layers[-1].activation = "relu"

    def add_output_activation(self, path: str, kind: str):
        self.refuse_after_output(path, kind)
        if not self.layers:
            raise ExportError(f"{path}: {kind} before the first Linear cannot be expressed")
        self.trailing_activation = "softmax" if kind == "Softmax" else "sigmoid"
        self.trailing_path = path

    def add_module(self, path: str, module):
        nn = self.torch.nn
        if isinstance(module, nn.Linear):
            self.add_linear(path, module)
        elif isinstance(module, nn.ReLU):
            self.add_relu(path)
        elif isinstance(module, nn.Sigmoid):
            self.add_output_activation(path, "Sigmoid")
        elif isinstance(module, nn.Softmax):
            if module.dim not in (None, -1, 1):
                raise ExportError(f"{path}: Softmax over dim {module.dim} cannot be expressed; only over the class dimension (dim=-1)")
            self.add_output_activation(path, "Softmax")
        elif noop_module(self.torch, module):
            return
        else:
            raise ExportError(f"{path}: {describe_module(module)} cannot be expressed; supported modules are Linear, ReLU, Dropout, Identity, Flatten and a final Sigmoid/Softmax")

    def finish(self, where: str) -> Architecture:
        if not self.layers:
            raise ExportError(f"{where}: no Linear layers found")
        last = self.layers[-1]
        if last.activation == "relu":
            raise ExportError(f"{last.path}: ReLU after the last Linear cannot be expressed; the output layer's activation must be none")
        return Architecture(self.layers, self.trailing_activation, self.trailing_path)


def architecture_from_trace(torch, model) -> Optional[Architecture]:
    """Reads the computation from the forward pass; None when it cannot be traced."""
    import torch.fx as fx
    import torch.nn.functional as F

    try:
        graph = fx.symbolic_trace(model).graph
    except Exception:
        return None

    relu_functions = {F.relu, torch.relu, torch.relu_}
    dropout_functions = {F.dropout, F.alpha_dropout, torch.dropout}
    chain = ChainBuilder(torch)
    modules = dict(model.named_modules())
    current = None
    for node in graph.nodes:
        if node.op == "placeholder":
            if current is not None:
                raise ExportError(f"{type(model).__name__}.forward takes more than one tensor input; only a features → classes chain can be expressed")
            current = node
            continue
        if node.op == "output":
            if node.args[0] is not current:
                raise ExportError(f"{type(model).__name__}.forward does not return the result of its last step; only a straight chain of layers can be expressed")
            break
        if node.op == "get_attr":
            raise ExportError(f"attribute {node.target}: forward uses a tensor attribute directly; only Linear layers can be expressed")
        tensor_args = [a for a in list(node.args) + list(node.kwargs.values()) if isinstance(a, fx.Node)]
        if tensor_args != [current]:
            location = f"module {node.target}" if node.op == "call_module" else f"{type(model).__name__}.forward ({getattr(node.target, '__name__', node.target)})"
            raise ExportError(f"{location}: forward is not a straight chain (a step combines or reuses earlier values); only Linear → ReLU chains can be expressed")
        if node.op == "call_module":
            chain.add_module(f"module {node.target}", modules[node.target])
        elif node.op == "call_function" and node.target in relu_functions:
            chain.add_relu(f"{type(model).__name__}.forward (relu)")
        elif node.op == "call_function" and node.target in dropout_functions:
            pass
        elif (node.op == "call_function" and node.target is torch.sigmoid) or (node.op == "call_method" and node.target == "sigmoid"):
            chain.add_output_activation(f"{type(model).__name__}.forward (sigmoid)", "Sigmoid")
        elif (node.op == "call_function" and node.target in (F.softmax, torch.softmax)) or (node.op == "call_method" and node.target == "softmax"):
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
            if dim not in (-1, 1):
                raise ExportError(f"{type(model).__name__}.forward: softmax over dim {dim} cannot be expressed; only over the class dimension (dim=-1)")
            chain.add_output_activation(f"{type(model).__name__}.forward (softmax)", "Softmax")
        elif node.op == "call_method" and node.target == "relu":
            chain.add_relu(f"{type(model).__name__}.forward (.relu())")
        else:
            name = getattr(node.target, "__name__", str(node.target))
            raise ExportError(f"{type(model).__name__}.forward: operation {name} cannot be expressed; supported steps are Linear, ReLU, Dropout and a final Sigmoid/Softmax")
        current = node
    return chain.finish(type(model).__name__)


def architecture_from_definition_order(torch, model) -> Architecture:
    chain = ChainBuilder(torch)
    saw_activation_module = False
    for path, module in model.named_modules():
        if any(True for _ in module.children()):
            continue  # a container: its leaves come next, in definition order
        chain.add_module(f"module {path}" if path else type(model).__name__, module)
        saw_activation_module = saw_activation_module or isinstance(module, torch.nn.ReLU)
    architecture = chain.finish(type(model).__name__)
    if not saw_activation_module and len(architecture.layers) > 1:
        # The forward applies its activations functionally and could not be
        # traced, so follow the state_dict convention and say so.
        for layer in architecture.layers[:-1]:
            layer.activation = "relu"
        print(
            f"export_mlp_weights: note: {type(model).__name__}.forward could not be traced and has no ReLU modules; assumed ReLU between Linear layers",
            file=sys.stderr,
        )
    return architecture


def architecture_from_module(torch, model) -> Architecture:
    model.eval()
    return architecture_from_trace(torch, model) or architecture_from_definition_order(torch, model)


# ---------------------------------------------------------------- checks


def check_architecture(architecture: Architecture, input_dim: int) -> None:
    layers = architecture.layers
    if layers[0].in_features != input_dim:
        raise ExportError(f"{layers[0].path}: first Linear takes {layers[0].in_features} inputs but --input-dim is {input_dim}")
    for previous, layer in zip(layers, layers[1:]):
        if layer.in_features != previous.out_features:
            raise ExportError(
                f"{layer.path}: weight is {layer.out_features}×{layer.in_features} but {previous.path} outputs {previous.out_features}; shapes are not consecutive"
            )
    for layer in layers:
        if layer.bias.dim() != 1 or int(layer.bias.shape[0]) != layer.out_features:
            raise ExportError(f"{layer.path}: bias is {shape_text(layer.bias)} but weight is {layer.out_features}×{layer.in_features}; expected bias of length {layer.out_features}")
        for label, tensor in (("weight", layer.weight), ("bias", layer.bias)):
            finite = tensor.isfinite()
            if not bool(finite.all()):
                index = [int(i) for i in (~finite).nonzero()[0].tolist()]
                raise ExportError(f"{layer.path}.{label}{''.join(f'[{i}]' for i in index)} is {float(tensor[tuple(index)])}; weights must be finite")


def resolve_output_activation(requested: Optional[str], architecture: Architecture) -> str:
    trailing = architecture.trailing_activation
    if trailing is None:
        return requested or "sigmoid-normalized"
    # A final Sigmoid is compatible with sigmoid-normalized: the engine applies the normalisation after it.
    compatible = ("softmax",) if trailing == "softmax" else ("sigmoid", "sigmoid-normalized")
    if requested is None:
        return compatible[-1] if trailing == "sigmoid" else "softmax"
    if requested not in compatible:
        raise ExportError(
            f"{architecture.trailing_path}: the model ends in {'Softmax' if trailing == 'softmax' else 'Sigmoid'} but --output-activation is {requested}; use {' or '.join(compatible)}"
        )
    return requested


def read_classes(path: Optional[str], count: int) -> List[str]:
    if path is None:
        return [f"class_{i}" for i in range(count)]
    if not os.path.isfile(path):
        raise ExportError(f"--classes file {path} does not exist")
    with open(path, encoding="utf-8") as file:
        text = file.read()
    if text.lstrip().startswith("["):
        try:
            classes = json.loads(text)
        except json.JSONDecodeError as error:
            raise ExportError(f"--classes file {path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
        if not all(isinstance(c, str) for c in classes):
            raise ExportError(f"--classes file {path} must be a JSON array of strings")
        classes = [c.strip() for c in classes]
    else:
        classes = [line.strip() for line in text.splitlines() if line.strip()]
    for index, name in enumerate(classes):
        if not name or len(name) > MAX_CLASS_NAME_LENGTH:
            raise ExportError(f"--classes file {path}: class {index} must be 1–{MAX_CLASS_NAME_LENGTH} characters, found {len(name)}")
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise ExportError(f"--classes file {path}: class {duplicates[0]!r} appears more than once")
    if len(classes) != count:
        raise ExportError(f"--classes file {path} lists {len(classes)} classes but the last Linear outputs {count}")
    return classes


# ---------------------------------------------------------------- writing


def float32_texts(torch, tensor) -> List[str]:
    """Shortest decimals that read back (via float64, like JSON.parse) to the same float32."""
    import numpy as np

    values = tensor.detach().to(torch.float32).contiguous().view(-1).numpy()
    # numpy prints a float32 scalar as its shortest round-trip decimal (Dragon4).
    texts = [str(v) for v in values]
    parsed = np.array(texts, dtype=np.float64).astype(np.float32)
    mismatched = np.nonzero(parsed.view(np.uint32) != values.view(np.uint32))[0]
    for index in mismatched:
        # Double rounding (decimal → float64 → float32) could miss by an ulp;
        # the float64 repr of the float32 is exact, so use that there.
        texts[index] = repr(float(values[index]))
    return texts


def json_array(texts: Sequence[str]) -> str:
    return "[" + ",".join(texts) + "]"


def render_canonical_json(torch, header: dict, architecture: Architecture) -> str:
    layer_blocks = []
    for layer in architecture.layers:
        weight_texts = float32_texts(torch, layer.weight)
        width = layer.in_features
        rows = ",\n        ".join(json_array(weight_texts[r * width:(r + 1) * width]) for r in range(layer.out_features))
        layer_blocks.append(
            "    {\n"
            f"      \"weight\": [\n        {rows}\n      ],\n"
            f"      \"bias\": {json_array(float32_texts(torch, layer.bias))},\n"
            f"      \"activation\": {json.dumps(layer.activation)}\n"
            "    }"
        )
    return (
        "{\n"
        f"  \"format\": {json.dumps(header['format'])},\n"
        f"  \"formatVersion\": {header['formatVersion']},\n"
        f"  \"name\": {json.dumps(header['name'], ensure_ascii=False)},\n"
        f"  \"classes\": {json.dumps(header['classes'], ensure_ascii=False)},\n"
        f"  \"input\": {json.dumps(header['input'])},\n"
        "  \"layers\": [\n" + ",\n".join(layer_blocks) + "\n  ],\n"
        f"  \"outputActivation\": {json.dumps(header['outputActivation'])}\n"
        "}\n"
    )


# ---------------------------------------------------------------- CLI


def parse_arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="export_mlp_weights.py",
        description="Export a PyTorch MLP (state_dict or whole module) to the canonical clip-mlp-weights JSON.",
        epilog="A whole module needs its class importable: pass --module-file with the file that defines it.",
    )
    parser.add_argument("--checkpoint", required=True, help="file written by torch.save(model.state_dict()) or torch.save(model)")
    parser.add_argument("--out", required=True, help="canonical JSON to write")
    parser.add_argument("--classes", help="class names: a JSON array or one name per line (default class_0..class_N-1)")
    parser.add_argument("--normalize", choices=NORMALIZATIONS, default="none", help="feature normalisation the model was trained with (default none: raw CLIP image_embeds)")
    parser.add_argument("--output-activation", choices=OUTPUT_ACTIVATIONS, help="default sigmoid-normalized, or what a final Softmax/Sigmoid module implies")
    parser.add_argument("--name", help="version name (default: the checkpoint's file name without extension)")
    parser.add_argument("--input-dim", type=int, default=DEFAULT_FEATURE_DIM, help=f"feature dimension (default {DEFAULT_FEATURE_DIM})")
    parser.add_argument("--clip-model", default=DEFAULT_CLIP_MODEL, help=f"CLIP model id the features come from (default {DEFAULT_CLIP_MODEL})")
    parser.add_argument("--module-file", help="Python file defining the model class, needed to load a whole pickled module")
    return parser.parse_args(argv)


def export(args: argparse.Namespace) -> str:
    torch = import_torch()
    name = args.name if args.name is not None else os.path.splitext(os.path.basename(args.checkpoint))[0]
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ExportError(f"--name must be 1–{MAX_NAME_LENGTH} characters, found {len(name)}")
    if args.input_dim <= 0:
        raise ExportError(f"--input-dim must be a positive integer, found {args.input_dim}")
    if not args.clip_model:
        raise ExportError("--clip-model must not be empty")

    loaded = unwrap_checkpoint(torch, load_checkpoint(torch, args.checkpoint, args.module_file))
    if isinstance(loaded, torch.nn.Module):
        architecture = architecture_from_module(torch, loaded)
    else:
        architecture = architecture_from_state_dict(loaded)
    check_architecture(architecture, args.input_dim)
    header = {
        "format": WEIGHTS_FORMAT,
        "formatVersion": WEIGHTS_FORMAT_VERSION,
        "name": name,
        "classes": read_classes(args.classes, architecture.layers[-1].out_features),
        "input": {"dim": args.input_dim, "clipModel": args.clip_model, "normalize": args.normalize},
        "outputActivation": resolve_output_activation(args.output_activation, architecture),
    }
    text = render_canonical_json(torch, header, architecture)
    directory = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(directory):
        raise ExportError(f"--out {args.out}: directory {directory} does not exist")
    temporary = args.out + ".tmp"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, args.out)
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_arguments(argv)
    try:
        export(args)
    except ExportError as error:
        print(f"export_mlp_weights: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
