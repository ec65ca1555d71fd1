/** One host directory (or file) and where a container sees it. */
export interface PathMapping {
  readonly host: string;
  readonly container: string;
}

/**
 * Translates host paths into the paths a container sees them at, as GitHub's runner does
 * for a job container: every argument, the working directory and every environment value
 * that is a mapped host path (or lies under one) is rewritten; anything else is left alone.
 * The most specific mapping wins. This is why `${{ github.workspace }}` is the host path
 * while `$GITHUB_WORKSPACE` inside the container is `/__w/<repo>/<repo>`, as on GitHub.
 */
export class PathMap {
  private readonly mappings: readonly PathMapping[];

  constructor(mappings: readonly PathMapping[]) {
    // Longest host path first, so a file mapped on its own beats its directory.
    this.mappings = [...mappings]
      .map((m) => ({ host: trimSlash(m.host), container: trimSlash(m.container) }))
      .sort((a, b) => b.host.length - a.host.length);
  }

  /** The container path of `value` when it is, or lies under, a mapped host path; else `value`. */
  toContainer(value: string): string {
    for (const m of this.mappings) {
      if (value === m.host) return m.container;
      if (value.startsWith(`${m.host}/`)) return m.container + value.slice(m.host.length);
    }
    return value;
  }

  /** Every value of `env` translated with {@link toContainer}; `PATH` entry by entry. */
  envToContainer(env: Readonly<Record<string, string>>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env))
      out[k] =
        k === "PATH"
          ? v
              .split(":")
              .map((p) => this.toContainer(p))
              .join(":")
          : this.toContainer(v);
    return out;
  }
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}
