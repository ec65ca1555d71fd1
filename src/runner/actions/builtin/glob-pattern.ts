import { InputError } from "../../../common/errors.js";

/** One segment of a {@link GlobPattern}: a literal name, a one-segment wildcard, or `**`. */
export type GlobSegment =
  | { readonly kind: "literal"; readonly name: string }
  | { readonly kind: "wild"; readonly regex: RegExp }
  | { readonly kind: "globstar" };

/**
 * A path pattern as `@actions/glob` reads it (upload-artifact and cache use it): `*` any run
 * of characters within a segment (dot files included), `?` one character, `[...]` a set
 * (`[!...]` or `[^...]` negated), `**` as a whole segment any number of segments, `\` escapes.
 * A leading `!` negates; a trailing `/` matches directories only. No braces, no extglobs.
 * Pure.
 */
export interface GlobPattern {
  readonly source: string;
  readonly negate: boolean;
  readonly directoryOnly: boolean;
  /** The absolute path's segments after `/`. */
  readonly segments: readonly GlobSegment[];
  /** The longest leading literal path: where a search for the pattern starts. */
  readonly searchPath: string;
}

/**
 * Parses one pattern line, rooted at `base` when relative; `~` at its start is `home`. `base`
 * and `home` are taken literally (a workspace path with `[` in it is no wildcard). `.` and
 * `..` segments are resolved as a path would be. Throws an {@link InputError} for `~` without
 * a home or an invalid character set.
 */
export function parseGlobPattern(
  line: string,
  base: string,
  home: string | undefined,
): GlobPattern {
  let text = line.trim();
  const negate = text.startsWith("!");
  if (negate) text = text.slice(1).trim();
  let root: string;
  if (text === "~" || text.startsWith("~/")) {
    if (!home) throw new InputError(`cannot expand '~' in '${line.trim()}': HOME is not set`);
    root = home;
    text = text.slice(1);
  } else {
    root = text.startsWith("/") ? "/" : base;
  }
  const directoryOnly = text.endsWith("/") && text.replace(/\/+$/, "") !== "";
  const segments: GlobSegment[] = literalSegments(root);
  for (const part of text.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") segments.pop();
    else segments.push(compileSegment(part, line));
  }
  const literal: string[] = [];
  for (const segment of segments) {
    if (segment.kind !== "literal") break;
    literal.push(segment.name);
  }
  return {
    source: line.trim(),
    negate,
    directoryOnly,
    segments,
    searchPath: `/${literal.join("/")}`,
  };
}

/** The patterns of a multi-line input; lines starting with `#` are comments, as in `@actions/glob`. */
export function parseGlobPatterns(
  lines: readonly string[],
  base: string,
  home: string | undefined,
): GlobPattern[] {
  return lines
    .filter((line) => !line.trim().startsWith("#") && line.trim() !== "")
    .map((line) => parseGlobPattern(line, base, home));
}

/** The segments of an absolute path, after `/`. */
export function pathSegments(path: string): string[] {
  return path.split("/").filter((part) => part !== "");
}

/** Whether `pattern` matches the path with these segments (see {@link pathSegments}). */
export function matchesPath(
  pattern: GlobPattern,
  segments: readonly string[],
  isDirectory: boolean,
): boolean {
  if (pattern.directoryOnly && !isDirectory) return false;
  return matchFrom(pattern.segments, 0, segments, 0);
}

/** Whether `pattern` may match some path strictly below the directory with these segments. */
export function mayMatchBelow(pattern: GlobPattern, directory: readonly string[]): boolean {
  const pat = pattern.segments;
  let pi = 0;
  for (const name of directory) {
    const segment = pat[pi];
    if (segment === undefined) return false;
    // `**` can swallow the rest of the directory and go on below it.
    if (segment.kind === "globstar") return true;
    if (!matchSegment(segment, name)) return false;
    pi++;
  }
  return pi < pat.length;
}

/**
 * A matcher for names (artifact names) with one segment's syntax, as minimatch reads it:
 * wildcards do not match a leading `.` unless the pattern starts with one.
 */
export function compileNamePattern(pattern: string): (name: string) => boolean {
  const segment = compileSegment(pattern, pattern);
  return (name) =>
    (!name.startsWith(".") || pattern.startsWith(".") || segment.kind === "literal") &&
    matchSegment(segment, name);
}

function literalSegments(path: string): GlobSegment[] {
  return pathSegments(path).map((name) => ({ kind: "literal", name }));
}

function matchFrom(
  pat: readonly GlobSegment[],
  pi: number,
  path: readonly string[],
  si: number,
): boolean {
  while (pi < pat.length) {
    const segment = pat[pi] as GlobSegment;
    if (segment.kind === "globstar") {
      for (let k = si; k <= path.length; k++) if (matchFrom(pat, pi + 1, path, k)) return true;
      return false;
    }
    const name = path[si];
    if (name === undefined || !matchSegment(segment, name)) return false;
    pi++;
    si++;
  }
  return si === path.length;
}

function matchSegment(segment: GlobSegment, name: string): boolean {
  if (segment.kind === "globstar") return true;
  if (segment.kind === "literal") return segment.name === name;
  return segment.regex.test(name);
}

function compileSegment(part: string, line: string): GlobSegment {
  if (part === "**") return { kind: "globstar" };
  let re = "";
  let literal = "";
  let wild = false;
  for (let i = 0; i < part.length; i++) {
    const c = part[i] as string;
    if (c === "\\" && i + 1 < part.length) {
      const next = part[++i] as string;
      re += escapeRegex(next);
      literal += next;
    } else if (c === "*") {
      re += ".*";
      wild = true;
    } else if (c === "?") {
      re += ".";
      wild = true;
    } else if (c === "[" && classEnd(part, i) !== -1) {
      const end = classEnd(part, i);
      re += classRegex(part.slice(i + 1, end));
      wild = true;
      i = end;
    } else {
      re += escapeRegex(c);
      literal += c;
    }
  }
  if (!wild) return { kind: "literal", name: literal };
  try {
    return { kind: "wild", regex: new RegExp(`^${re}$`, "su") };
  } catch {
    throw new InputError(`invalid character set in pattern '${line.trim()}'`);
  }
}

/** The index of the `]` closing the set opened at `open`, or -1 when it is not a set. */
function classEnd(part: string, open: number): number {
  let i = open + 1;
  if (part[i] === "!" || part[i] === "^") i++;
  if (part[i] === "]") i++;
  while (i < part.length && part[i] !== "]") i++;
  return i < part.length ? i : -1;
}

function classRegex(body: string): string {
  const negated = body.startsWith("!") || body.startsWith("^");
  const members = (negated ? body.slice(1) : body).replace(/[\\\]^[]/g, "\\$&");
  return `[${negated ? "^" : ""}${members}]`;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
}
