import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { extract } from "tar";
import { InputError } from "../common/errors.js";
import { newestPython, type PythonRelease, pythonFile } from "./python-versions.js";

const run = promisify(execFile);

/** GitHub's manifest of the Python builds `actions/setup-python` installs. */
export const GITHUB_PYTHON_MANIFEST =
  "https://raw.githubusercontent.com/actions/python-versions/main/versions-manifest.json";

/**
 * Python in the tool cache, in GitHub's layout (`<toolCache>/Python/<version>/x64`, complete
 * once `x64.complete` exists), as `actions/setup-python` finds and fills it: a release not
 * here comes from the first manifest (`actions/python-versions`' `versions-manifest.json`
 * format) that has it, its archive unpacked and its own `setup.sh` run with
 * `RUNNER_TOOL_CACHE` set, as setup-python does.
 */
export class PythonInstalls {
  private installing: Promise<void> = Promise.resolve();

  constructor(
    /** The tool cache (`RUNNER_TOOL_CACHE`). */
    readonly toolCache: string,
    /** Manifest URLs, tried in order. */
    readonly manifests: readonly string[] = [GITHUB_PYTHON_MANIFEST],
    private readonly arch = process.arch === "arm64" ? "arm64" : "x64",
  ) {}

  /** Where a version lives in the tool cache. */
  dir(version: string): string {
    return join(this.toolCache, "Python", version, this.arch);
  }

  /** The complete versions in the tool cache. */
  async cached(): Promise<string[]> {
    const root = join(this.toolCache, "Python");
    const names = await readdir(root).catch(() => [] as string[]);
    return names.filter((v) => existsSync(join(root, v, `${this.arch}.complete`)));
  }

  /** Every release the manifests list, from the first that answers; or why none did. */
  async releases(): Promise<{ releases: PythonRelease[]; source: string } | { error: string }> {
    if (this.manifests.length === 0)
      return { error: "no Python source is configured (--python-source)" };
    const failures: string[] = [];
    for (const url of this.manifests) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(30_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const body = (await res.json()) as unknown;
        if (!Array.isArray(body)) throw new Error("not a versions manifest (a JSON array)");
        return { releases: body as PythonRelease[], source: url };
      } catch (err) {
        failures.push(`${url}: ${(err as Error).message}`);
      }
    }
    return { error: failures.join("; ") };
  }

  /**
   * Installs the newest release in `range` from the manifests; resolves to its version, or
   * why not (naming what was tried). `say` hears of the download.
   */
  async install(
    range: string,
    allowPrereleases: boolean,
    say: (line: string) => void,
  ): Promise<string | { error: string }> {
    // One install at a time in this process: a second job waits, then finds it installed.
    const previous = this.installing;
    let done: () => void = () => undefined;
    this.installing = new Promise((resolve) => {
      done = resolve;
    });
    await previous;
    try {
      return await this.installNow(range, allowPrereleases, say);
    } finally {
      done();
    }
  }

  private async installNow(
    range: string,
    allowPrereleases: boolean,
    say: (line: string) => void,
  ): Promise<string | { error: string }> {
    const listed = await this.releases();
    if ("error" in listed) return listed;
    const byVersion = new Map(listed.releases.map((r) => [r.version, r]));
    const version = newestPython([...byVersion.keys()], range, allowPrereleases);
    const release = version ? byVersion.get(version) : undefined;
    const file = release ? pythonFile(release, this.arch, osVersion()) : undefined;
    if (!version || !file) {
      return { error: `no release for linux-${this.arch} satisfies it at ${listed.source}` };
    }
    // Already here (another job put it there meanwhile, or check-latest found nothing newer):
    // installing again would remove it under the jobs using it.
    if ((await this.cached()).includes(version)) return version;
    say(`Download from "${file.download_url}"`);
    const scratch = join(this.toolCache, "Python", `.install-${randomUUID()}`);
    try {
      await mkdir(scratch, { recursive: true });
      const archive = join(scratch, file.filename.replace(/[^\w.-]/g, "_"));
      const res = await fetch(file.download_url, { signal: AbortSignal.timeout(600_000) });
      if (!res.ok) return { error: `${file.download_url}: HTTP ${res.status}` };
      await writeFile(archive, Buffer.from(await res.arrayBuffer()));
      const unpacked = join(scratch, "python");
      await mkdir(unpacked);
      await extract({ file: archive, cwd: unpacked, strict: true });
      say("Execute installation script");
      // Only what an install script needs: the runner's own environment (on a server, the
      // server's) is none of its business.
      await run("bash", ["./setup.sh"], {
        cwd: unpacked,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? unpacked,
          LANG: "C.UTF-8",
          RUNNER_TOOL_CACHE: this.toolCache,
        },
        timeout: 600_000,
      });
      if (!existsSync(join(this.toolCache, "Python", version, `${this.arch}.complete`))) {
        throw new InputError(
          `${file.filename}: its setup.sh did not install Python ${version} into the tool cache`,
        );
      }
      return version;
    } catch (err) {
      return { error: `${file.download_url}: ${(err as Error).message}` };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}

/** This machine's OS release number (`22.04`), which GitHub's builds are named by. */
function osVersion(): string | undefined {
  try {
    return /^VERSION_ID="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}
