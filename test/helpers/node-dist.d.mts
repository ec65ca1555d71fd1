/** A package fetched from the npm registry: its `.tgz` and version. */
export interface Downloaded {
  readonly file: string;
  readonly version: string;
}

/** Where downloads for the tests are kept between runs. */
export const DOWNLOADS: string;

/** `name@major` from the npm registry, as its `.tgz` (fetched once); undefined when it cannot be had. */
export function downloaded(name: string, major: number): Promise<Downloaded | undefined>;

/** A real Node 24 for Linux x64 and an npm 11 for it. */
export function node24Package(): Promise<{ nodes: Downloaded[]; npm: Downloaded } | undefined>;

/** Real Nodes 18 and 22 for Linux x64 and an npm 10, which runs on both: the seed's matrix. */
export function libraryMatrixPackages(): Promise<
  { nodes: Downloaded[]; npm: Downloaded } | undefined
>;

/** A stand-in for nodejs.org's `dist` and for the npm registry (see node-dist.mjs). */
export interface NodeDist {
  /** `nodejs:<url>/dist`. */
  readonly dist: string;
  /** `npm:<url>`. */
  readonly npm: string;
  /** Paths asked for, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves the Node releases and the npm in both layouts; with `corrupt`, wrong checksums. */
export function startNodeDist(
  pkg: { nodes: readonly Downloaded[]; npm: Downloaded },
  options?: { corrupt?: boolean },
): Promise<NodeDist>;
