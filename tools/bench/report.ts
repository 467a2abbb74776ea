/** The readable table `npm run bench` prints (the --json output is the report object itself). */
import { formatBytes, formatMs, formatRatioWithSpeedup, formatReads, type StageReport } from "./figures.ts";

export interface BenchReport {
  /** ISO time the run started. */
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    v8: string;
    /** "built in", the V8 flag that enabled it for the run, or "unavailable". */
    relaxedSimd: string;
    platform: string;
    loadAverage: number[];
  };
  command: string;
  /** True for --quick runs, whose figures only show that every stage runs. */
  quick: boolean;
  stages: StageReport[];
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

export function formatReport(report: BenchReport): string {
  const header = ["figure", "project", "reference", "ratio", "reads", "target", "status"];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const stage of report.stages) {
    if (stage.skipped) {
      rows.push([`${stage.stage}: skipped`, "", "", "", "", "", ""]);
      notes.push(`${stage.stage} skipped: ${stage.skipped}`);
      continue;
    }
    for (const figure of stage.figures) {
      rows.push([
        figure.label,
        `${formatMs(figure.subject.ms)} ${figure.subject.name}`,
        `${formatMs(figure.reference.ms)} ${figure.reference.name}`,
        formatRatioWithSpeedup(figure.ratio),
        figure.reads ? formatReads(figure.reads) : "",
        figure.target?.text ?? "",
        figure.target ? (figure.target.met ? "met" : "NOT MET") : "",
      ]);
      if (figure.target && !figure.target.met) notes.push(`${figure.id}: ${figure.target.verdict}`);
      if (figure.values.maxAbsDifference !== undefined) notes.push(`${figure.id}: max abs difference ${figure.values.maxAbsDifference.toExponential(2)}`);
      if (figure.reads) {
        const { largestTransaction, transactions, items, item, writtenPerItem } = figure.reads;
        notes.push(
          `${figure.id}: ${items.toLocaleString("en-US")} × ${item} in ${transactions.toLocaleString("en-US")} transactions; the largest read ${largestTransaction.documents.toLocaleString("en-US")} docs, ${formatBytes(largestTransaction.bytes)}; written per ${item}: ${writtenPerItem.documents.toFixed(2)} docs, ${formatBytes(writtenPerItem.bytes)}`,
        );
      }
      for (const note of figure.notes) notes.push(`${figure.id}: ${note}`);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, column) => pad(cell, widths[column])).join("  ").trimEnd();
  const { machine } = report;
  return [
    `npm run bench — ${report.startedAt} — ${machine.cpus}× ${machine.cpuModel}, node ${machine.node} (V8 ${machine.v8}, relaxed SIMD: ${machine.relaxedSimd}), load average ${machine.loadAverage.map((l) => l.toFixed(2)).join(" ")}`,
    "ratio = project / reference (median of interleaved trials); below 1 means the project is faster",
    ...(report.quick ? ["--quick: almost no warm-up or repetition, so these figures (and met/NOT MET) mean nothing"] : []),
    "",
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    ...notes.map((note) => `- ${note}`),
  ].join("\n");
}
