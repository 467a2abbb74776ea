import { CliError } from "./cliKit.ts";
import { parseJson } from "../convex/lib/jsonText.ts";

/** More bad lines than this are counted, not listed. */
const LISTED_BAD_LINES = 10;

export interface JsonLineItems<Item> {
  items: Item[];
  /** 1-based line number of each item in the file. */
  lineNumbers: number[];
}

/**
 * Parses a JSON-lines file, one item per non-blank line. `readItem` turns a
 * line's JSON value into an item, or reports what is wrong (as often as
 * needed) and returns null. Every bad line is collected before failing, so
 * one run shows them all; `noItems` completes "<file> has no …" for a file
 * without any.
 */
export function parseJsonLines<Item>(
  text: string,
  fileLabel: string,
  readItem: (value: unknown, report: (problem: string) => void) => Item | null,
  noItems: string,
): JsonLineItems<Item> {
  const problems: string[] = [];
  const result: JsonLineItems<Item> = { items: [], lineNumbers: [] };
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "") return;
    const lineNumber = index + 1;
    const report = (problem: string) => problems.push(`line ${lineNumber}: ${problem}`);
    const parsed = parseJson(line);
    if (!parsed.ok) {
      report(`not valid JSON (column ${parsed.error.column}: ${parsed.error.message.replace(/^line \d+, column \d+: /, "")})`);
      return;
    }
    const item = readItem(parsed.value, report);
    if (item === null) return;
    result.items.push(item);
    result.lineNumbers.push(lineNumber);
  });
  if (problems.length === 1) throw new CliError(`${fileLabel} ${problems[0]}`);
  if (problems.length > 0) {
    const listed = problems.slice(0, LISTED_BAD_LINES);
    const more = problems.length - listed.length;
    throw new CliError(`${fileLabel}: ${problems.length} bad lines:\n  ${listed.join("\n  ")}${more > 0 ? `\n  … and ${more} more` : ""}`);
  }
  if (result.items.length === 0) throw new CliError(`${fileLabel} has no ${noItems}`);
  return result;
}

/** Feature rows packed row-major (count × dim), as mlpForwardBatch takes them. */
export function packFeatureRows(rows: readonly (readonly number[])[], dim: number): Float32Array {
  const packed = new Float32Array(rows.length * dim);
  rows.forEach((row, r) => packed.set(row, r * dim));
  return packed;
}
