import { describe, expect, it } from "vitest";
import { toCsv } from "../../src/charts/csv.ts";

describe("toCsv", () => {
  it("joins plain cells with commas and rows with CRLF", () => {
    expect(toCsv([["label", "count"], ["cat", 3], ["dog", 0.25]])).toBe("label,count\r\ncat,3\r\ndog,0.25\r\n");
  });

  it("quotes commas, quotes, line breaks and surrounding spaces", () => {
    expect(toCsv([['a,b', 'say "hi"', "two\nlines", " padded", "plain"]])).toBe('"a,b","say ""hi""","two\nlines"," padded",plain\r\n');
  });

  it("writes empty cells for null, undefined and non-finite numbers", () => {
    expect(toCsv([[null, undefined, Number.NaN, true, false, -1]])).toBe(",,,true,false,-1\r\n");
  });

  it("defuses text that a spreadsheet would run as a formula, but not numbers", () => {
    expect(toCsv([["=HYPERLINK(1)", "+1", "@x", -3]])).toBe("'=HYPERLINK(1),'+1,'@x,-3\r\n");
  });

  it("gives an empty string for no rows", () => {
    expect(toCsv([])).toBe("");
  });
});
