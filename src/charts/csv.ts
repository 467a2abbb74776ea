/** A CSV cell; null and undefined become empty cells. */
export type CsvCell = string | number | boolean | null | undefined;

// Spreadsheet apps execute text cells starting with these as formulas; class
// names and version names are user input, so such text is prefixed with '.
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: CsvCell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "";
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * RFC 4180 CSV: rows joined by CRLF, cells quoted only when needed (comma,
 * quote, line break, or surrounding spaces), quotes doubled. The first row is
 * usually the header; rows may differ in length.
 */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  return rows.map((row) => row.map(csvCell).join(",")).join("\r\n") + (rows.length > 0 ? "\r\n" : "");
}
