#!/usr/bin/env python3
"""Trains the demo MLP (512 → 256 → 128 → 12) on CLIP features of synthetic scenes.

    python3 weights/demo/train_demo_mlp.py --train train.jsonl --classes classes.json \
        --out checkpoint.pt [--normalize l2|none] [--epochs 60] [--only-classes a,b,...] \
        [--evaluate labelled-set.jsonl] [--seed 7]

Input lines are {"features": [512 numbers], "label": "sunset"}. The model is
the product's design: ReLU hidden layers, Dropout while training, and
sigmoid outputs (normalised to sum 1 at inference), so it is trained with
binary cross-entropy on one-hot targets. It saves `model.state_dict()`;
tools/export_mlp_weights.py turns that into the canonical JSON.
`npm run demo:data` (tools/buildDemoData.ts) runs the whole pipeline.

`--only-classes` trains on a subset of the classes' examples (the output
layer keeps every class), which is how the deliberately weaker v2 is made.
"""
import argparse
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class DemoMlp(nn.Module):
    def __init__(self, input_dim: int, class_count: int):
        super().__init__()
        self.fc1 = nn.Linear(input_dim, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, class_count)
        self.dropout = nn.Dropout(0.2)

    def forward(self, features):
        hidden = self.dropout(F.relu(self.fc1(features)))
        hidden = self.dropout(F.relu(self.fc2(hidden)))
        return self.fc3(hidden)


def read_examples(path, classes, normalize):
    features, labels = [], []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if record["label"] not in classes:
                sys.exit(f"train_demo_mlp: {path}:{number}: label {record['label']!r} is not one of the classes")
            features.append(record["features"])
            labels.append(classes.index(record["label"]))
    x = torch.tensor(features, dtype=torch.float32)
    if normalize == "l2":
        x = F.normalize(x, dim=1)
    return x, torch.tensor(labels)


def sigmoid_normalized(logits):
    probabilities = torch.sigmoid(logits)
    return probabilities / probabilities.sum(dim=1, keepdim=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--classes", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--normalize", choices=("none", "l2"), default="l2")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--only-classes", help="comma-separated: train only on these classes' examples")
    parser.add_argument("--evaluate", help="a {features, label} JSONL to report accuracy on")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    with open(args.classes, encoding="utf-8") as file:
        classes = json.load(file)
    x, y = read_examples(args.train, classes, args.normalize)
    if args.only_classes:
        kept = [classes.index(name) for name in args.only_classes.split(",")]
        mask = torch.isin(y, torch.tensor(kept))
        x, y = x[mask], y[mask]

    model = DemoMlp(x.shape[1], len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    targets = F.one_hot(y, len(classes)).float()
    batch_size = 32
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x[batch]), targets[batch])
            loss.backward()
            optimizer.step()

    model.eval()
    summary = {"examples": len(x), "epochs": args.epochs}
    with torch.no_grad():
        summary["trainAccuracy"] = float((sigmoid_normalized(model(x)).argmax(1) == y).float().mean())
        if args.evaluate:
            ex, ey = read_examples(args.evaluate, classes, args.normalize)
            summary["evaluateAccuracy"] = float((sigmoid_normalized(model(ex)).argmax(1) == ey).float().mean())
    torch.save(model.state_dict(), args.out)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
