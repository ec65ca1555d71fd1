import { InputError } from "../../../common/errors.js";

/** A released Node.js version. */
export interface NodeVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** A Node.js binary as setup-node judges it: its version and LTS codename (empty if none). */
export interface NodeRelease {
  readonly version: NodeVersion;
  readonly lts: string;
}

/**
 * What `node-version` asks for: a semver range (`20`, `20.x`, `>=18 <21`, `^18.2 || 20`,
 * `18 - 20`), the newest release (`node`, `latest`, `current`), or an LTS line (`lts/*`,
 * `lts/iron`, `lts/-1`). Offline only the host's Node can be judged, so "newest" cannot be
 * checked: `latest` accepts any release, `lts/*` and `lts/-n` any LTS release.
 */
export type NodeVersionSpec =
  | { readonly kind: "range"; readonly source: string; readonly alternatives: Comparator[][] }
  | { readonly kind: "latest"; readonly source: string }
  | { readonly kind: "lts"; readonly source: string; readonly codename?: string };

/** One comparison of a range, on a full version. */
export interface Comparator {
  readonly op: "<" | "<=" | ">" | ">=" | "=";
  readonly version: NodeVersion;
}

/** Parses `v20.1.0` or `20.1.0`; undefined for anything else (pre-releases included). */
export function parseNodeVersion(text: string): NodeVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

/** `v20.1.0`. */
export function formatNodeVersion(v: NodeVersion): string {
  return `v${v.major}.${v.minor}.${v.patch}`;
}

/** Parses a `node-version` value; throws an {@link InputError} for one it cannot judge. */
export function parseNodeVersionSpec(text: string): NodeVersionSpec {
  const source = text.trim();
  const lower = source.toLowerCase();
  if (lower === "node" || lower === "latest" || lower === "current") {
    return { kind: "latest", source };
  }
  if (lower.startsWith("lts/")) {
    const line = lower.slice(4);
    if (line === "*" || /^-\d+$/.test(line)) return { kind: "lts", source };
    if (/^[a-z]+$/.test(line)) return { kind: "lts", source, codename: line };
    throw unsupported(source);
  }
  const alternatives = source
    .split("||")
    .map((alternative) => parseAlternative(alternative, source));
  return { kind: "range", source, alternatives };
}

/** Whether a release satisfies the spec, as far as can be told offline. */
export function satisfies(spec: NodeVersionSpec, release: NodeRelease): boolean {
  switch (spec.kind) {
    case "latest":
      return true;
    case "lts":
      if (release.lts === "") return false;
      return spec.codename === undefined || spec.codename === release.lts.toLowerCase();
    case "range":
      return spec.alternatives.some((all) => all.every((c) => holds(c, release.version)));
  }
}

function holds(c: Comparator, v: NodeVersion): boolean {
  const order = compare(v, c.version);
  switch (c.op) {
    case "<":
      return order < 0;
    case "<=":
      return order <= 0;
    case ">":
      return order > 0;
    case ">=":
      return order >= 0;
    case "=":
      return order === 0;
  }
}

function compare(a: NodeVersion, b: NodeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** A version with missing or wildcard parts: `20`, `20.x`, `20.1`, `*`. */
interface Partial {
  readonly major?: number;
  readonly minor?: number;
  readonly patch?: number;
}

const ANY: Comparator[] = [];

function parseAlternative(text: string, source: string): Comparator[] {
  // `>= 18` is `>=18`: an operator binds to the version after it.
  const tokens = text
    .trim()
    .replace(/(>=|<=|>|<|=|\^|~)\s+/g, "$1")
    .split(/\s+/)
    .filter((t) => t !== "");
  if (tokens.length === 0) return ANY;
  if (tokens.length === 3 && tokens[1] === "-") {
    const from = parsePartial(tokens[0] as string, source);
    const to = parsePartial(tokens[2] as string, source);
    return [...comparators(">=", from), ...comparators("<=", to)];
  }
  return tokens.flatMap((token) => {
    const m = /^(>=|<=|>|<|=|\^|~)?(.*)$/.exec(token) as RegExpExecArray;
    const op = m[1] ?? "=";
    return comparators(op, parsePartial(m[2] as string, source));
  });
}

function parsePartial(text: string, source: string): Partial {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(text);
  if (!m) throw unsupported(source);
  const parts: (number | undefined)[] = [];
  for (const part of [m[1], m[2], m[3]]) {
    // After a wildcard every part is one: `20.x.5` means `20.x`.
    const wild = part === undefined || /^[xX*]$/.test(part) || parts.includes(undefined);
    parts.push(wild ? undefined : Number(part));
  }
  const [major, minor, patch] = parts;
  return {
    ...(major === undefined ? {} : { major }),
    ...(minor === undefined ? {} : { minor }),
    ...(patch === undefined ? {} : { patch }),
  };
}

/** The comparators on full versions that an operator on a partial version means (node-semver). */
function comparators(op: string, p: Partial): Comparator[] {
  const v = (major: number, minor = 0, patch = 0): NodeVersion => ({ major, minor, patch });
  const { major, minor, patch } = p;
  if (major === undefined) return op === "<" || op === ">" ? [{ op: "<", version: v(0) }] : ANY;
  const low = v(major, minor ?? 0, patch ?? 0);
  // The first version past the partial one: `20` -> 21.0.0, `20.1` -> 20.2.0.
  const next =
    minor === undefined ? v(major + 1) : patch === undefined ? v(major, minor + 1) : undefined;
  switch (op) {
    case ">=":
      return [{ op: ">=", version: low }];
    case ">":
      return [next ? { op: ">=", version: next } : { op: ">", version: low }];
    case "<":
      return [{ op: "<", version: low }];
    case "<=":
      return [next ? { op: "<", version: next } : { op: "<=", version: low }];
    case "^": {
      const upper =
        major > 0 || minor === undefined
          ? v(major + 1)
          : minor > 0 || patch === undefined
            ? v(0, minor + 1)
            : v(0, 0, patch + 1);
      return [
        { op: ">=", version: low },
        { op: "<", version: upper },
      ];
    }
    case "~":
      return [
        { op: ">=", version: low },
        { op: "<", version: minor === undefined ? v(major + 1) : v(major, minor + 1) },
      ];
    default:
      return next
        ? [
            { op: ">=", version: low },
            { op: "<", version: next },
          ]
        : [{ op: "=", version: low }];
  }
}

function unsupported(source: string): InputError {
  return new InputError(
    `'${source}' is not a Node.js version Trunkline's setup-node understands (use e.g. 20, 20.x, >=18, ^20.1.0, lts/*, lts/iron or node)`,
  );
}
