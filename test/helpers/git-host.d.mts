/** A stand-in for github.com's git service (see git-host.mjs). */
export interface GitHost {
  readonly url: string;
  readonly root: string;
  /** Paths asked for, in order (`/owner/repo/info/refs`, ...). */
  readonly requests: string[];
  /** Creates `owner/repo` with `files` committed on `main` and tagged with each of `tags`; the commit. */
  publish(name: string, files: Readonly<Record<string, string>>, tags?: readonly string[]): string;
  close(): Promise<void>;
}

/** Starts a git host on a free loopback port; with a token, every request must carry it. */
export function startGitHost(options?: { token?: string }): Promise<GitHost>;
