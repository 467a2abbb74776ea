/**
 * JSON parsing with engine-independent error positions. JSON.parse's error
 * messages differ between V8 versions, Convex's runtime and browsers (and some
 * give no position), so on failure the text is re-scanned by a small syntax
 * checker that reports the first offending line and column itself.
 */

export interface JsonSyntaxError {
  line: number;
  column: number;
  offset: number;
  /** "line L, column C: what was expected, what was found". */
  message: string;
}

export type JsonParseResult =
  | { ok: true; value: unknown; nonFiniteTokens: number }
  | { ok: false; error: JsonSyntaxError };

export interface JsonParseOptions {
  /**
   * Replace bare NaN / Infinity / -Infinity (invalid JSON that Python's
   * json.dump writes by default) with `replacementPrefix + token` strings
   * instead of failing, so later validation can report each at its path.
   */
  nonFiniteReplacementPrefix?: string;
}

export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

function showChar(text: string, offset: number): string {
  if (offset >= text.length) return "the end of the input";
  const c = text[offset];
  if (c === "\n") return "a line break";
  if (c === "\t") return "a tab";
  const code = c.charCodeAt(0);
  if (code < 32) return `control character U+${code.toString(16).padStart(4, "0")}`;
  return `'${c}'`;
}

const NON_FINITE_TOKENS = ["-Infinity", "Infinity", "NaN"] as const;

function nonFiniteTokenAt(text: string, offset: number): string | undefined {
  return NON_FINITE_TOKENS.find((token) => text.startsWith(token, offset));
}

type Expectation = "value" | "valueOrClose" | "key" | "keyOrClose" | "colon" | "commaOrClose" | "end";

/** Returns the first syntax error in `text`, or null if it is valid JSON. Iterative: deep nesting cannot overflow the stack. */
export function findJsonSyntaxError(text: string, allowNonFinite = false): JsonSyntaxError | null {
  const stack: Array<"array" | "object"> = [];
  let expect: Expectation = "value";
  let afterComma = false;
  let i = 0;
  const n = text.length;
  const fail = (offset: number, what: string): JsonSyntaxError => {
    const { line, column } = lineAndColumn(text, offset);
    return { line, column, offset, message: `line ${line}, column ${column}: ${what}` };
  };
  const afterValue = (): Expectation => {
    afterComma = false;
    return stack.length > 0 ? "commaOrClose" : "end";
  };

  while (true) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
    if (i >= n) {
      if (expect === "end") return null;
      const wanted: Record<Expectation, string> = {
        value: "a value",
        valueOrClose: "a value or ']'",
        key: "a property name",
        keyOrClose: "a property name or '}'",
        colon: "':'",
        commaOrClose: stack[stack.length - 1] === "object" ? "',' or '}'" : "',' or ']'",
        end: "",
      };
      return fail(n, `unexpected end of input; expected ${wanted[expect]}${stack.length ? ` (${stack.length} unclosed bracket${stack.length === 1 ? "" : "s"})` : ""}`);
    }
    const c = text[i];
    switch (expect) {
      case "valueOrClose":
      case "value": {
        if (c === "]" && (expect === "valueOrClose" || (afterComma && stack[stack.length - 1] === "array"))) {
          if (afterComma) return fail(i, "unexpected ']' after ','; trailing commas are not allowed in JSON");
          stack.pop();
          i++;
          expect = afterValue();
          break;
        }
        if (c === "{" || c === "[") {
          stack.push(c === "{" ? "object" : "array");
          expect = c === "{" ? "keyOrClose" : "valueOrClose";
          afterComma = false;
          i++;
          break;
        }
        if (c === '"') {
          const end = scanString(text, i);
          if (typeof end !== "number") return fail(end.offset, end.what);
          i = end;
          expect = afterValue();
          break;
        }
        // -Infinity starts like a number; Infinity and NaN like nothing else.
        const token = nonFiniteTokenAt(text, i);
        if (token) {
          if (!allowNonFinite) return fail(i, `${token} is not valid JSON; non-finite numbers cannot be stored in a weights file`);
          i += token.length;
          expect = afterValue();
          break;
        }
        if (c === "-" || (c >= "0" && c <= "9")) {
          const end = scanNumber(text, i);
          if (typeof end !== "number") return fail(end.offset, end.what);
          i = end;
          expect = afterValue();
          break;
        }
        const literal = ["true", "false", "null"].find((word) => text.startsWith(word, i));
        if (literal) {
          i += literal.length;
          expect = afterValue();
          break;
        }
        if (c === "'") return fail(i, "unexpected \"'\"; JSON strings use double quotes");
        if (c === "}" && afterComma) return fail(i, "unexpected '}' after ','; trailing commas are not allowed in JSON");
        return fail(i, `unexpected ${showChar(text, i)}; expected a value`);
      }
      case "keyOrClose":
      case "key": {
        if (c === "}") {
          if (expect === "key") return fail(i, "unexpected '}' after ','; trailing commas are not allowed in JSON");
          stack.pop();
          i++;
          expect = afterValue();
          break;
        }
        if (c !== '"') return fail(i, `unexpected ${showChar(text, i)}; expected a property name in double quotes`);
        const end = scanString(text, i);
        if (typeof end !== "number") return fail(end.offset, end.what);
        i = end;
        expect = "colon";
        break;
      }
      case "colon":
        if (c !== ":") return fail(i, `unexpected ${showChar(text, i)}; expected ':' after a property name`);
        i++;
        expect = "value";
        afterComma = false;
        break;
      case "commaOrClose": {
        const top = stack[stack.length - 1];
        const close = top === "object" ? "}" : "]";
        if (c === ",") {
          i++;
          expect = top === "object" ? "key" : "value";
          afterComma = true;
          break;
        }
        if (c === close) {
          stack.pop();
          i++;
          expect = afterValue();
          break;
        }
        return fail(i, `unexpected ${showChar(text, i)}; expected ',' or '${close}' after ${top === "object" ? "a property value" : "an array item"}`);
      }
      case "end":
        return fail(i, `unexpected ${showChar(text, i)} after the end of the JSON value`);
    }
  }
}

type ScanFailure = { offset: number; what: string };

function scanString(text: string, start: number): number | ScanFailure {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 34) return i + 1;
    if (code === 92) {
      const next = text[i + 1];
      if (next === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { offset: i, what: "invalid \\u escape; expected 4 hex digits" };
        i += 6;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) {
        i += 2;
      } else {
        return { offset: i, what: `invalid escape '\\${next ?? ""}' in a string` };
      }
      continue;
    }
    if (code < 32) return { offset: i, what: `unescaped ${showChar(text, i)} inside a string` };
    i++;
  }
  return { offset: start, what: "unterminated string (no closing '\"')" };
}

function scanNumber(text: string, start: number): number | ScanFailure {
  const match = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  match.lastIndex = start;
  const found = match.exec(text);
  if (!found) return { offset: start, what: `invalid number starting with ${showChar(text, start)}` };
  const end = start + found[0].length;
  const next = text[end];
  if (next !== undefined && /[0-9.eE+\-]/.test(next)) return { offset: end, what: `invalid number ${JSON.stringify(text.slice(start, end + 1))}` };
  return end;
}

/** Rewrites bare NaN / Infinity / -Infinity tokens outside strings as `"prefix+token"` strings. */
function quoteNonFiniteTokens(text: string, prefix: string): { text: string; count: number } {
  let out = "";
  let last = 0;
  let count = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = scanString(text, i);
      i = typeof end === "number" ? end : text.length;
      continue;
    }
    const token = c === "N" || c === "I" || c === "-" ? nonFiniteTokenAt(text, i) : undefined;
    if (token) {
      out += text.slice(last, i) + JSON.stringify(prefix + token);
      i += token.length;
      last = i;
      count++;
      continue;
    }
    i++;
  }
  return { text: out + text.slice(last), count };
}

export function parseJson(text: string, options: JsonParseOptions = {}): JsonParseResult {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return { ok: true, value: JSON.parse(source), nonFiniteTokens: 0 };
  } catch (parseError) {
    const prefix = options.nonFiniteReplacementPrefix;
    const error = findJsonSyntaxError(source, prefix !== undefined);
    if (error) return { ok: false, error };
    if (prefix !== undefined) {
      const quoted = quoteNonFiniteTokens(source, prefix);
      try {
        return { ok: true, value: JSON.parse(quoted.text), nonFiniteTokens: quoted.count };
      } catch {
        // Reported below with the engine's own reason.
      }
    }
    // Syntactically valid yet refused by the engine, e.g. nesting deeper than its limit.
    const reason = parseError instanceof Error ? parseError.message : String(parseError);
    return { ok: false, error: { line: 1, column: 1, offset: 0, message: `line 1, column 1: the JSON could not be parsed (${reason})` } };
  }
}
