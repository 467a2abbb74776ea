/**
 * docs/reliability.md stays honest: every row of its table names a test file
 * that exists and a test in it by its title, and the table keeps at least 40
 * distinct bad inputs or faults.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const doc = readFileSync(join(root, "docs/reliability.md"), "utf8");

interface Row {
  line: number;
  fault: string;
  expected: string;
  file: string;
  title: string;
}

/** Rows look like `| n | fault | expected | \`tests/x.test.ts\` › test title |`. */
function tableRows(markdown: string): Row[] {
  const rows: Row[] = [];
  markdown.split("\n").forEach((text, index) => {
    const cells = text.split("|").map((cell) => cell.trim());
    if (cells.length < 6 || !/^\d+$/.test(cells[1])) return;
    const reference = /^`([^`]+)` › (.+)$/.exec(cells[4]);
    rows.push({ line: index + 1, fault: cells[2], expected: cells[3], file: reference?.[1] ?? "", title: reference?.[2] ?? "" });
  });
  return rows;
}

function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\\(["'`\\])/g, "$1");
}

/**
 * The titles of the test()/it() calls in a file, as patterns: a template
 * literal's ${...} parts match anything, so generated titles count too.
 */
function testTitlePatterns(source: string): RegExp[] {
  const patterns: RegExp[] = [];
  for (const match of source.matchAll(/\b(?:test|it)(?:\.each\([^)]*\))?\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)/g)) {
    const literal = match[1];
    const title = unquote(literal);
    const escaped = title
      .split(/\$\{[^}]*\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join(".+");
    patterns.push(new RegExp(`^${literal.startsWith("`") ? escaped : title.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`));
  }
  return patterns;
}

const rows = tableRows(doc);

describe("docs/reliability.md", () => {
  test("lists at least 40 distinct bad inputs or faults, numbered in order", () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
    const faults = rows.map((row) => row.fault.toLowerCase());
    expect(new Set(faults).size, "two rows describe the same input or fault").toBe(faults.length);
    rows.forEach((row, i) => expect(doc.split("\n")[row.line - 1].startsWith(`| ${i + 1} |`), `row at line ${row.line} should be number ${i + 1}`).toBe(true));
  });

  test("every row states the expected behaviour and references a test as `file` › title", () => {
    for (const row of rows) {
      expect(row.expected.length, `line ${row.line}: no expected behaviour`).toBeGreaterThan(10);
      expect(row.file, `line ${row.line}: the test column must read \`tests/….test.ts\` › title`).toMatch(/^tests\/.+\.test\.ts$/);
      expect(row.title.length, `line ${row.line}: no test title`).toBeGreaterThan(0);
    }
  });

  test("every referenced test file exists and holds a test with that title", () => {
    const titlesByFile = new Map<string, RegExp[]>();
    for (const row of rows) {
      const path = join(root, row.file);
      expect(existsSync(path), `line ${row.line}: ${row.file} does not exist`).toBe(true);
      if (!titlesByFile.has(row.file)) titlesByFile.set(row.file, testTitlePatterns(readFileSync(path, "utf8")));
      const found = titlesByFile.get(row.file)!.some((pattern) => pattern.test(row.title));
      expect(found, `line ${row.line}: ${row.file} has no test titled "${row.title}"`).toBe(true);
    }
  });

  test("the checker itself: titles are read from string and template literals, and a made-up title is not found", () => {
    const source = 'test("plain title", () => {});\nit(`${n} features: refused`, () => {});\ntest(\'single "quoted"\', () => {});';
    const patterns = testTitlePatterns(source);
    expect(patterns.some((p) => p.test("plain title"))).toBe(true);
    expect(patterns.some((p) => p.test("511 features: refused"))).toBe(true);
    expect(patterns.some((p) => p.test('single "quoted"'))).toBe(true);
    expect(patterns.some((p) => p.test("a title nobody wrote"))).toBe(false);
    expect(tableRows("| 1 | a fault | what happens instead | `tests/a.test.ts` › plain title |")).toEqual([
      { line: 1, fault: "a fault", expected: "what happens instead", file: "tests/a.test.ts", title: "plain title" },
    ]);
  });
});
