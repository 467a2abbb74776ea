import { z } from "zod";

/** One line of a labelled feature set (JSONL), as `mlp extract` writes it; extra fields such as `file` are ignored. */
export const labelledLineSchema = z.object({
  features: z.array(z.number().finite()),
  label: z.string().trim().min(1).max(100),
});
export type LabelledLine = z.infer<typeof labelledLineSchema>;

export interface LineProblem {
  /** 1-based line number in the file. */
  line: number;
  message: string;
}

export interface ParsedLabelledSet {
  items: LabelledLine[];
  problems: LineProblem[];
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("").replace(/^\./, "") : "the line";
  return `${path}: ${issue.message}`;
}

/**
 * Parses JSONL of `{features, label}` and checks every line, collecting every
 * problem with its line number instead of stopping at the first.
 */
export function parseLabelledSetJsonl(text: string, featureDim: number): ParsedLabelledSet {
  const items: LabelledLine[] = [];
  const problems: LineProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push({ line, message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` });
      return;
    }
    const parsed = labelledLineSchema.safeParse(value);
    if (!parsed.success) {
      problems.push({ line, message: `expected {"features": number[], "label": string}; ${parsed.error.issues.map(describeIssue).join("; ")}` });
      return;
    }
    if (parsed.data.features.length !== featureDim) {
      problems.push({ line, message: `features has ${parsed.data.features.length} values; expected ${featureDim}` });
      return;
    }
    items.push(parsed.data);
  });
  if (items.length === 0 && problems.length === 0) problems.push({ line: 1, message: "the file holds no items; expected one JSON object per line" });
  return { items, problems };
}

export function chunk<T>(values: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < values.length; start += size) chunks.push(values.slice(start, start + size));
  return chunks;
}
