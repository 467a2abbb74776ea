"""Builds the PyTorch side of tests/exporter/exporter.test.ts in ONE interpreter.

    python3 torch_fixtures.py OUT_DIR EXPORTER_PATH

Importing torch costs seconds, so this script seeds and saves every model,
computes torch's own forward pass on random inputs, and runs the exporter's
main() in-process for all cases except the ones the test must spawn (a whole
module pickled from a script's __main__, loaded by a fresh process). It
writes OUT_DIR/report.json; the test does every assertion.

The model classes live here on purpose: a model saved by this script is
pickled as `__main__.NamedMlp`, just like one saved by a training script, and
this file doubles as the --module-file that makes it loadable.
"""
import contextlib
import hashlib
import importlib.util
import io
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_DIM = 512
CLASS_COUNT = 12
SAMPLE_COUNT = 16


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(INPUT_DIM, 48)
        self.dropout = nn.Dropout(0.3)
        self.fc2 = nn.Linear(48, 24)

    def forward(self, x):
        return F.relu(self.fc2(self.dropout(F.relu(self.fc1(x)))))


class NamedMlp(nn.Module):
    """Named layers, a nested block, functional ReLU: read through its forward pass."""

    def __init__(self):
        super().__init__()
        self.encoder = Encoder()
        self.identity = nn.Identity()
        self.head = nn.Linear(24, CLASS_COUNT)

    def forward(self, x):
        return self.head(self.identity(self.encoder(x)))


class UntraceableMlp(nn.Module):
    """Data-dependent control flow defeats torch.fx: the exporter falls back to definition order."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(INPUT_DIM, 20)
        self.fc2 = nn.Linear(20, CLASS_COUNT)

    def forward(self, x):
        if x.dim() == 1:
            x = x.unsqueeze(0)
        return self.fc2(F.relu(self.fc1(x)))


def sequential_mlp():
    return nn.Sequential(
        nn.Linear(INPUT_DIM, 64), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(32, CLASS_COUNT),
    )


def refused_models():
    """Models the exporter must refuse, keyed by case name."""
    return {
        "conv": nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(1020, CLASS_COUNT)),
        "batchnorm": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, CLASS_COUNT)),
        "layernorm": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.LayerNorm(16), nn.Linear(16, CLASS_COUNT)),
        "gelu": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.GELU(), nn.Linear(16, CLASS_COUNT)),
        "no-bias": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.ReLU(), nn.Linear(16, CLASS_COUNT, bias=False)),
        "non-consecutive": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.ReLU(), nn.Linear(15, CLASS_COUNT)),
        "relu-last": nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.ReLU(), nn.Linear(16, CLASS_COUNT), nn.ReLU()),
    }


def output_activations(logits):
    sigmoid = torch.sigmoid(logits)
    return {
        "sigmoid-normalized": (sigmoid / sigmoid.sum(dim=1, keepdim=True)).tolist(),
        "softmax": torch.softmax(logits, dim=1).tolist(),
        "sigmoid": sigmoid.tolist(),
    }


def load_exporter(path):
    spec = importlib.util.spec_from_file_location("export_mlp_weights", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_exporter(exporter, argv):
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        exit_code = exporter.main(argv)
    return {"exitCode": exit_code, "stderr": stderr.getvalue()}


def main():
    out_dir, exporter_path = sys.argv[1], sys.argv[2]
    exporter = load_exporter(exporter_path)
    torch.manual_seed(20261128)
    inputs = torch.randn(SAMPLE_COUNT, INPUT_DIM) * 2.0
    report = {"inputs": inputs.tolist(), "models": {}, "tensorDigests": {}, "exports": {}, "refusals": {}}

    def path(name):
        return os.path.join(out_dir, name)

    parity_models = {"sequential": sequential_mlp(), "named": NamedMlp(), "untraceable": UntraceableMlp()}
    for name, model in parity_models.items():
        model.eval()
        with torch.no_grad():
            report["models"][name] = output_activations(model(inputs))
        # sha256 of every parameter's float32 bytes in state_dict order: the
        # test recomputes it from the exported JSON to prove the export is lossless.
        digest = hashlib.sha256()
        for tensor in model.state_dict().values():
            digest.update(tensor.detach().contiguous().numpy().astype("<f4").tobytes())
        report["tensorDigests"][name] = digest.hexdigest()
        torch.save(model.state_dict(), path(f"{name}.state_dict.pt"))
        torch.save(model, path(f"{name}.module.pt"))

    with open(path("classes.txt"), "w") as file:
        file.write("\n".join(f"scene {i}" for i in range(CLASS_COUNT)) + "\n")
    with open(path("classes-short.json"), "w") as file:
        json.dump([f"scene {i}" for i in range(CLASS_COUNT - 1)], file)

    in_process_exports = {
        "sequential.state_dict": ["--output-activation", "softmax", "--classes", path("classes.txt")],
        "sequential.module": ["--output-activation", "sigmoid", "--name", "sequential whole module"],
        "named.state_dict": [],
        "untraceable.module": ["--clip-model", "tiny-clip"],
    }
    for case, extra in in_process_exports.items():
        report["exports"][case] = run_exporter(
            exporter, ["--checkpoint", path(f"{case}.pt"), "--out", path(f"{case}.json"), *extra]
        )

    softmax_headed = nn.Sequential(nn.Linear(INPUT_DIM, 8), nn.ReLU(), nn.Linear(8, CLASS_COUNT), nn.Softmax(dim=1))
    torch.save(softmax_headed, path("softmax-headed.pt"))
    report["exports"]["softmax-headed"] = run_exporter(
        exporter, ["--checkpoint", path("softmax-headed.pt"), "--out", path("softmax-headed.json"), "--normalize", "l2"]
    )

    refusal_cases = {}
    for name, model in refused_models().items():
        torch.save(model, path(f"refused-{name}.pt"))
        refusal_cases[f"{name} module"] = ["--checkpoint", path(f"refused-{name}.pt")]
    for name in ("conv", "batchnorm", "no-bias"):
        torch.save(refused_models()[name].state_dict(), path(f"refused-{name}.state_dict.pt"))
        refusal_cases[f"{name} state_dict"] = ["--checkpoint", path(f"refused-{name}.state_dict.pt")]
    poisoned = nn.Sequential(nn.Linear(INPUT_DIM, 16), nn.ReLU(), nn.Linear(16, CLASS_COUNT))
    with torch.no_grad():
        poisoned[2].weight[3, 7] = float("nan")
    torch.save(poisoned.state_dict(), path("refused-nan.state_dict.pt"))
    refusal_cases["nan state_dict"] = ["--checkpoint", path("refused-nan.state_dict.pt")]
    refusal_cases["classes length mismatch"] = ["--checkpoint", path("named.state_dict.pt"), "--classes", path("classes-short.json")]
    refusal_cases["input dim mismatch"] = ["--checkpoint", path("named.state_dict.pt"), "--input-dim", "768"]
    refusal_cases["softmax head with sigmoid output"] = ["--checkpoint", path("softmax-headed.pt"), "--output-activation", "sigmoid"]
    for case, argv in refusal_cases.items():
        out = path(f"refused-{case.replace(' ', '-')}.json")
        result = run_exporter(exporter, [*argv, "--out", out])
        result["wroteOutput"] = os.path.exists(out)
        report["refusals"][case] = result

    with open(path("report.json"), "w") as file:
        json.dump(report, file)


if __name__ == "__main__":
    main()
