/**
 * Convex limits that convex-test does not enforce, checked on every public
 * call a test makes: a real deployment refuses arguments and return values
 * beyond these before (or after) the function runs, so a test must not pass
 * by sending or receiving what production never would.
 * Values: docs.convex.dev/production/state/limits.
 */
import { getFunctionName, type FunctionReference } from "convex/server";
import { getConvexSize, type Value } from "convex/values";

export const VALUE_LIMITS = {
  arrayLength: 8192,
  objectFields: 1024,
  nestingDepth: 64,
  argumentBytes: 16 * 1024 * 1024,
  returnBytes: 16 * 1024 * 1024,
} as const;

/** The first limit `value` breaks, as a sentence, or null. */
export function valueLimitProblem(value: unknown, what: "arguments" | "return value"): string | null {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: what }];
  while (stack.length > 0) {
    const { value: current, depth, path } = stack.pop()!;
    if (depth > VALUE_LIMITS.nestingDepth) return `${path} is nested more than ${VALUE_LIMITS.nestingDepth} levels deep`;
    if (Array.isArray(current)) {
      if (current.length > VALUE_LIMITS.arrayLength) return `${path} has ${current.length} elements; Convex arrays hold at most ${VALUE_LIMITS.arrayLength}`;
      current.forEach((item, index) => stack.push({ value: item, depth: depth + 1, path: `${path}[${index}]` }));
    } else if (current !== null && typeof current === "object" && !(current instanceof ArrayBuffer)) {
      const entries = Object.entries(current);
      if (entries.length > VALUE_LIMITS.objectFields) return `${path} has ${entries.length} fields; Convex objects hold at most ${VALUE_LIMITS.objectFields}`;
      for (const [key, item] of entries) stack.push({ value: item, depth: depth + 1, path: `${path}.${key}` });
    }
  }
  const bytes = value === undefined ? 0 : getConvexSize(value as Value);
  const limit = what === "arguments" ? VALUE_LIMITS.argumentBytes : VALUE_LIMITS.returnBytes;
  return bytes > limit ? `${what} ${what === "arguments" ? "are" : "is"} ${bytes} bytes; Convex allows at most ${limit}` : null;
}

function check(value: unknown, what: "arguments" | "return value", functionName: string): void {
  const problem = valueLimitProblem(value, what);
  if (problem !== null) throw new Error(`Convex would refuse ${functionName}: ${problem}.`);
}

type Callable = (reference: unknown, args?: unknown) => Promise<unknown>;

/** `client` with query/mutation/action checked against VALUE_LIMITS (and withIdentity returning a checked client). */
export function withValueLimits<Client extends object>(client: Client): Client {
  return new Proxy(client, {
    get(target, property, receiver) {
      const original = Reflect.get(target, property, receiver) as unknown;
      if (property === "withIdentity" && typeof original === "function") {
        return (...args: unknown[]) => withValueLimits((original as (...a: unknown[]) => object).apply(target, args));
      }
      if ((property === "query" || property === "mutation" || property === "action") && typeof original === "function") {
        return async (reference: unknown, args?: unknown) => {
          const name = functionNameOf(reference);
          check(args ?? {}, "arguments", name);
          const result = await (original as Callable).call(target, reference, args);
          check(result, "return value", name);
          return result;
        };
      }
      return typeof original === "function" ? (original as (...a: unknown[]) => unknown).bind(target) : original;
    },
  });
}

function functionNameOf(reference: unknown): string {
  try {
    return getFunctionName(reference as FunctionReference<"query" | "mutation" | "action">);
  } catch {
    return "a function";
  }
}
