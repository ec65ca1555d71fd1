import semver from "semver";

/** A release in `actions/python-versions`' `versions-manifest.json`. */
export interface PythonRelease {
  readonly version: string;
  readonly stable?: boolean;
  readonly files: readonly {
    readonly filename: string;
    readonly arch: string;
    readonly platform: string;
    readonly platform_version?: string;
    readonly download_url: string;
  }[];
}

/**
 * What `python-version` asks for, as a semver range setup-python would read it: `3.11` is
 * any 3.11 release, `3` or `3.x` any 3, `3.11.7` exactly that, and ranges (`>=3.9 <3.12`)
 * as given. PyPy, GraalPy and free-threaded (`3.13t`) builds are not served here. A text
 * that is none of these is refused with the reason. Pure.
 */
export function pythonRange(spec: string): string | { error: string } {
  const text = spec.trim();
  if (/^(pypy|graalpy)/i.test(text))
    return { error: `'${text}': PyPy and GraalPy are not served here` };
  if (/^\d+\.\d+t$/.test(text))
    return { error: `'${text}': free-threaded builds are not served here` };
  const minor = /^(\d+)\.(\d+)$/.exec(text);
  if (minor) return `~${minor[1]}.${minor[2]}.0-0`;
  if (/^\d+$/.test(text)) return `^${text}.0.0-0`;
  const range = semver.validRange(text);
  if (range === null) return { error: `'${text}' is not a Python version or range` };
  return text;
}

/** The newest of `versions` in `range`; prereleases only when allowed. Pure. */
export function newestPython(
  versions: readonly string[],
  range: string,
  allowPrereleases: boolean,
): string | undefined {
  const fitting = versions.filter(
    (v) =>
      semver.valid(v) !== null &&
      (allowPrereleases || semver.prerelease(v) === null) &&
      semver.satisfies(v, range, { includePrerelease: true }),
  );
  return semver.rsort([...fitting])[0];
}

/**
 * The download of `release` for this machine: linux and `arch`, the file built for this
 * `osVersion` (an Ubuntu release's number, as GitHub builds them) when there is one, else
 * the first linux one. Pure.
 */
export function pythonFile(
  release: PythonRelease,
  arch: string,
  osVersion: string | undefined,
): PythonRelease["files"][number] | undefined {
  const linux = release.files.filter((f) => f.platform === "linux" && f.arch === arch);
  return linux.find((f) => f.platform_version === osVersion) ?? linux[0];
}
