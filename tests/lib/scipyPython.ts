/**
 * Runs a reference script under Debian's /usr/bin/python3, which has SciPy
 * and NumPy (the `python3` first on PATH may be another interpreter without
 * them). A missing SciPy fails the calling test with what to install; it is
 * never a reason to skip.
 */
import { execFile } from "node:child_process";

export const SCIPY_PYTHON = "/usr/bin/python3";

let checked: Promise<void> | undefined;

function run(args: string[], input: string | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(SCIPY_PYTHON, args, { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${SCIPY_PYTHON} ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
    if (input !== null) child.stdin?.end(input);
  });
}

function requireScipy(): Promise<void> {
  checked ??= run(["-c", "import scipy, numpy"], null).then(
    () => undefined,
    (error: unknown) => {
      checked = undefined;
      throw new Error(`these reference values need SciPy and NumPy for ${SCIPY_PYTHON}: apt-get install -y python3-scipy python3-numpy (${error instanceof Error ? error.message : String(error)})`);
    },
  );
  return checked;
}

/** Sends `request` as JSON on stdin to `script` and parses the JSON it prints. */
export async function runPythonReference<Answer>(script: string, request: unknown): Promise<Answer> {
  await requireScipy();
  return JSON.parse(await run([script], JSON.stringify(request))) as Answer;
}
