import semver from "semver";
import { InputError } from "../common/errors.js";

/** A Node.js release as setup-node judges it: its version (`20.11.1`) and LTS codename ("" if none). */
export interface NodeRelease {
  readonly version: string;
  readonly lts: string;
}

/**
 * What `node-version` asks for: a semver range (`20`, `20.x`, `>=18 <21`, `^18.2 || 20`,
 * `18 - 20`, read by the `semver` package as npm reads them), the newest release (`node`,
 * `latest`, `current`), or an LTS line (`lts/*`, `lts/iron`, `lts/-1`: the line before the
 * newest).
 */
export type NodeVersionSpec =
  | { readonly kind: "range"; readonly source: string; readonly range: string }
  | { readonly kind: "latest"; readonly source: string }
  | {
      readonly kind: "lts";
      readonly source: string;
      readonly codename?: string;
      /** `lts/-n`: n lines before the newest. */
      readonly back?: number;
    };

/** Parses `v20.1.0` or `20.1.0` to `20.1.0`; undefined for anything else (pre-releases included). */
export function parseNodeVersion(text: string): string | undefined {
  const m = /^v?(\d+\.\d+\.\d+)$/.exec(text.trim());
  return m?.[1];
}

/** `v20.1.0`. */
export function formatNodeVersion(version: string): string {
  return `v${version}`;
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
    if (line === "*") return { kind: "lts", source };
    if (/^-\d+$/.test(line)) return { kind: "lts", source, back: Number(line.slice(1)) };
    if (/^[a-z]+$/.test(line)) return { kind: "lts", source, codename: line };
    throw unsupported(source);
  }
  // Pre-releases and nightlies are not offered: a version with `-<letters>` is refused.
  const range = /\d-[a-z]/i.test(source) ? null : semver.validRange(source);
  if (range === null) throw unsupported(source);
  return { kind: "range", source, range };
}

/**
 * Whether a release satisfies the spec on its own. `latest` and `lts/-n` depend on which
 * other releases exist: on its own, any release (any LTS release) satisfies them; see
 * {@link newestSatisfying} for the one they mean.
 */
export function satisfies(spec: NodeVersionSpec, release: NodeRelease): boolean {
  switch (spec.kind) {
    case "latest":
      return true;
    case "lts":
      if (release.lts === "") return false;
      return spec.codename === undefined || spec.codename === release.lts.toLowerCase();
    case "range":
      return semver.satisfies(release.version, spec.range);
  }
}

/**
 * The release of `releases` (a source's whole list) that the spec asks for: the newest that
 * satisfies it; for `lts/-n`, the newest of the LTS line n lines before the newest line.
 */
export function newestSatisfying(
  spec: NodeVersionSpec,
  releases: readonly NodeRelease[],
): NodeRelease | undefined {
  const sorted = [...releases].sort((a, b) => semver.rcompare(a.version, b.version));
  if (spec.kind === "lts" && spec.back !== undefined) {
    const lines = [...new Set(sorted.filter((r) => r.lts !== "").map((r) => r.lts.toLowerCase()))];
    const line = lines[spec.back];
    return line ? sorted.find((r) => r.lts.toLowerCase() === line) : undefined;
  }
  return sorted.find((r) => satisfies(spec, r));
}

/** Node's LTS codenames by major. */
const LTS_LINES: Readonly<Record<number, string>> = {
  4: "Argon",
  6: "Boron",
  8: "Carbon",
  10: "Dubnium",
  12: "Erbium",
  14: "Fermium",
  16: "Gallium",
  18: "Hydrogen",
  20: "Iron",
  22: "Jod",
  24: "Krypton",
};

/**
 * The LTS codename of a version's line ("" for an odd major, or a line newer than this
 * table), for a binary or a source that does not say: every release of an LTS line is taken
 * for an LTS release.
 */
export function ltsLine(version: string): string {
  return LTS_LINES[semver.major(version)] ?? "";
}

function unsupported(source: string): InputError {
  return new InputError(
    `with.node-version: '${source}' is not a Node.js version (use 20, 20.x, >=18 <21, lts/*, lts/iron or latest)`,
  );
}
