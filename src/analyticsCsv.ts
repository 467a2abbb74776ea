import type { FunctionReturnType } from "convex/server";
import type { api } from "../convex/_generated/api";
import { versionLabel } from "../convex/lib/versionLabel";
import type { CsvCell } from "./charts/csv";

export interface AnalyticsSnapshot {
  range: { from: string; to: string };
  versionScope: string;
  distribution?: FunctionReturnType<typeof api.analytics.classDistribution>;
  timeSeries?: FunctionReturnType<typeof api.analytics.timeSeries>;
  confidence?: FunctionReturnType<typeof api.analytics.confidenceHistogram>;
  predictedVsConfirmed?: FunctionReturnType<typeof api.analytics.predictedVsConfirmed>;
  drift?: {
    a: { from: string; to: string };
    b: { from: string; to: string };
    report: FunctionReturnType<typeof api.analytics.drift>;
  };
}

export const analyticsCsvHeader = ["chart", "series", "category", "value"] as const;

/**
 * What the analytics page shows, as long-format rows (chart, series, category,
 * value), so one file holds every chart and a spreadsheet pivot rebuilds any of them.
 */
export function analyticsCsvRows(snapshot: AnalyticsSnapshot): CsvCell[][] {
  const rows: CsvCell[][] = [[...analyticsCsvHeader]];
  const scope = `${snapshot.range.from}..${snapshot.range.to} ${snapshot.versionScope}`;
  rows.push(["filter", "range and version", scope, ""]);
  for (const entry of snapshot.distribution?.counts ?? []) rows.push(["class distribution", "all shown versions", entry.label, entry.count]);
  for (const version of snapshot.distribution?.byVersion ?? []) {
    for (const entry of version.counts) rows.push(["class distribution", versionLabel(version.version), entry.label, entry.count]);
  }
  const series = snapshot.timeSeries;
  if (series) {
    for (const entry of series.series) entry.counts.forEach((count, index) => rows.push(["time series", entry.label, series.days[index], count]));
    for (const marker of series.markers) {
      const version = marker.version ? versionLabel(marker.version) : "";
      rows.push(["activation", marker.action, marker.day, version]);
    }
  }
  for (const bin of snapshot.confidence?.bins ?? []) rows.push(["confidence histogram", "classifications", `${bin.lower.toFixed(1)}-${bin.upper.toFixed(1)}`, bin.count]);
  for (const cell of snapshot.predictedVsConfirmed?.cells ?? []) rows.push(["predicted vs confirmed", `predicted ${cell.predicted}`, `confirmed ${cell.confirmed}`, cell.count]);
  const drift = snapshot.drift;
  if (drift) {
    const windows = `A ${drift.a.from}..${drift.a.to} vs B ${drift.b.from}..${drift.b.to}`;
    rows.push(["drift", windows, "Jensen-Shannon divergence", drift.report.jensenShannon]);
    rows.push(["drift", windows, "PSI", drift.report.psi]);
    for (const entry of drift.report.perClass) {
      rows.push(["drift", "window A count", entry.label, entry.countA]);
      rows.push(["drift", "window B count", entry.label, entry.countB]);
      rows.push(["drift", "Jensen-Shannon term", entry.label, entry.jensenShannon]);
      rows.push(["drift", "PSI term", entry.label, entry.psi]);
    }
  }
  return rows;
}

/** Starts a browser download of `text` as a file. */
export function downloadText(fileName: string, text: string, type = "text/csv;charset=utf-8"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  // Revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
