/**
 * Finds a Python interpreter that can import PyTorch. The `python3` first on
 * PATH may be a separate interpreter (pyenv, venv) that does not see Debian's
 * python3-torch, which lives under /usr/bin/python3.
 */
import { execFile } from "node:child_process";

export const TORCH_PYTHON_CANDIDATES = ["python3", "/usr/bin/python3"] as const;

function canImportTorch(interpreter: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(interpreter, ["-c", "import torch"], { timeout: 60_000 }, (error) => resolve(!error));
  });
}

let found: Promise<string> | undefined;

/** The first of `python3`, `/usr/bin/python3` that can `import torch`; the lookup runs once per process. */
export function findTorchPython(candidates: readonly string[] = TORCH_PYTHON_CANDIDATES): Promise<string> {
  const search = async () => {
    for (const candidate of candidates) {
      if (await canImportTorch(candidate)) return candidate;
    }
    throw new Error(
      `PyTorch not found: install Debian's python3-torch (apt-get install -y python3-torch); ` +
        `tried ${candidates.join(", ")} and none could \`import torch\``,
    );
  };
  if (candidates !== TORCH_PYTHON_CANDIDATES) return search();
  found ??= search().catch((error: unknown) => {
    found = undefined;
    throw error;
  });
  return found;
}
