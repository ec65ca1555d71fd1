import { type Diagnostic, diagnostic } from "../common/diagnostic.js";
import type { LocatedString } from "./model.js";

/**
 * GitHub's filter patterns for branches, tags and paths (the "filter pattern cheat sheet"):
 * `*` any run of characters but `/`; `**` any run of characters; `?` zero or one and `+` one
 * or more of the preceding character; `[...]` one character of a set whose ranges are within
 * a-z, A-Z or 0-9; `\` escapes; a leading `!` negates. Pure.
 */
export interface FilterPattern {
  readonly source: string;
  readonly negative: boolean;
  readonly regex: RegExp;
}

/** Why a pattern is not valid, with the 0-based offset of the offending character. */
export interface PatternError {
  readonly message: string;
  readonly offset: number;
}

/** Compiles one pattern, or says what is wrong with it. */
export function compileFilterPattern(source: string): FilterPattern | PatternError {
  const negative = source.startsWith("!");
  const body = negative ? source.slice(1) : source;
  const shift = negative ? 1 : 0;
  if (body.length === 0) return { message: "empty pattern", offset: 0 };
  const atoms: { re: string; repeatable: boolean }[] = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i] as string;
    if (c === "*") {
      if (body[i + 1] === "*") {
        if (body[i + 2] === "/") {
          atoms.push({ re: "(?:.*/)?", repeatable: false });
          i += 3;
        } else {
          atoms.push({ re: ".*", repeatable: false });
          i += 2;
        }
      } else {
        atoms.push({ re: "[^/]*", repeatable: false });
        i++;
      }
    } else if (c === "?" || c === "+") {
      const last = atoms[atoms.length - 1];
      if (!last) {
        atoms.push({ re: escapeRegex(c), repeatable: true });
      } else if (!last.repeatable) {
        return { message: `'${c}' must follow a character or a [set]`, offset: i + shift };
      } else {
        last.re += c;
        last.repeatable = false;
      }
      i++;
    } else if (c === "[") {
      const cls = readClass(body, i);
      if ("message" in cls) return { message: cls.message, offset: cls.offset + shift };
      atoms.push({ re: cls.re, repeatable: true });
      i = cls.end;
    } else if (c === "\\") {
      const next = body[i + 1];
      if (next === undefined)
        return { message: "'\\' at the end escapes nothing", offset: i + shift };
      atoms.push({ re: escapeRegex(next), repeatable: true });
      i += 2;
    } else {
      atoms.push({ re: escapeRegex(c), repeatable: true });
      i++;
    }
  }
  return { source, negative, regex: new RegExp(`^${atoms.map((a) => a.re).join("")}$`, "s") };
}

function readClass(body: string, open: number): { re: string; end: number } | PatternError {
  let i = open + 1;
  if (body[i] === "]") return { message: "empty brackets '[]'", offset: open };
  let re = "[";
  while (i < body.length && body[i] !== "]") {
    const c = body[i] as string;
    if (body[i + 1] === "-" && body[i + 2] !== undefined && body[i + 2] !== "]") {
      const to = body[i + 2] as string;
      if (!sameRangeClass(c, to) || c > to) {
        return { message: `range '${c}-${to}' must stay within a-z, A-Z or 0-9`, offset: i };
      }
      re += `${c}-${to}`;
      i += 3;
    } else {
      re += escapeRegex(c).replace("]", "\\]");
      i++;
    }
  }
  if (body[i] !== "]") return { message: "'[' has no closing ']'", offset: open };
  return { re: `${re}]`, end: i + 1 };
}

function sameRangeClass(a: string, b: string): boolean {
  const kind = (c: string) =>
    c >= "a" && c <= "z" ? 1 : c >= "A" && c <= "Z" ? 2 : c >= "0" && c <= "9" ? 3 : 0;
  return kind(a) !== 0 && kind(a) === kind(b);
}

function escapeRegex(c: string): string {
  return c.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

/** True if `value` is not a {@link PatternError}. */
export function isPattern(value: FilterPattern | PatternError): value is FilterPattern {
  return "regex" in value;
}

/**
 * Applies an ordered pattern list with `!` negations: the last pattern that matches decides.
 * True when `name` is matched (included by `branches:`, ignored by `branches-ignore:`).
 */
export function matchesIncludeList(patterns: readonly FilterPattern[], name: string): boolean {
  let included = false;
  for (const p of patterns) {
    if (p.regex.test(name)) included = !p.negative;
  }
  return included;
}

/** A diagnostic for each invalid pattern of a list, at the pattern, naming the field. */
export function patternDiagnostics(
  file: string,
  field: string,
  list: readonly LocatedString[] | undefined,
  code: string,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const pattern of list ?? []) {
    const compiled = compileFilterPattern(pattern.value);
    if (!isPattern(compiled)) {
      out.push(
        diagnostic(
          file,
          pattern.at,
          code,
          `invalid ${field} pattern '${pattern.value}': ${compiled.message}`,
        ),
      );
    }
  }
  return out;
}
