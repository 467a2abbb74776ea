/**
 * How the scale suite reports what each call read: one line per call (or per
 * paged walk), printed in the run's output so CI logs carry the figures.
 */
import { readsOf, type CallReads } from "../../tools/convexTest/transactionReads";

function kilobytes(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export function describeReads(reads: CallReads): string {
  const count = reads.transactions.length;
  if (count === 1) return `${reads.total.documentsRead} documents, ${kilobytes(reads.total.bytesRead)} read`;
  return (
    `${reads.total.documentsRead} documents, ${kilobytes(reads.total.bytesRead)} read over ${count} transactions ` +
    `(largest ${reads.largest.documentsRead} documents, ${kilobytes(reads.largest.bytesRead)})`
  );
}

export function printReads(what: string, reads: CallReads): void {
  console.log(`[reads] ${what}: ${describeReads(reads)}`);
}

/** Runs and measures one call, printing its line. */
export async function measured<T>(what: string, call: () => Promise<T>): Promise<{ result: T; reads: CallReads }> {
  const measurement = await readsOf(call);
  printReads(what, measurement.reads);
  return measurement;
}

/** The largest and mean figures over many calls of one kind (pages of a walk, chunks of a replay). */
export function summarizeCalls(calls: readonly CallReads[]) {
  const largest = (pick: (reads: CallReads) => number) => calls.reduce((max, reads) => Math.max(max, pick(reads)), 0);
  const mean = (pick: (reads: CallReads) => number) => calls.reduce((sum, reads) => sum + pick(reads), 0) / Math.max(1, calls.length);
  return {
    calls: calls.length,
    largestDocuments: largest((reads) => reads.largest.documentsRead),
    largestBytes: largest((reads) => reads.largest.bytesRead),
    meanDocuments: mean((reads) => reads.total.documentsRead),
    meanBytes: mean((reads) => reads.total.bytesRead),
  };
}

export function printCalls(what: string, calls: readonly CallReads[], extra = ""): void {
  const summary = summarizeCalls(calls);
  console.log(
    `[reads] ${what}: ${summary.calls} calls; per call at most ${summary.largestDocuments} documents and ${kilobytes(summary.largestBytes)} ` +
      `(mean ${summary.meanDocuments.toFixed(1)} documents, ${kilobytes(summary.meanBytes)})${extra ? `; ${extra}` : ""}`,
  );
}
