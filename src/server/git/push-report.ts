import { randomUUID } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One ref a push changed; a zero sha means created (old) or deleted (new). */
export interface RefUpdate {
  readonly ref: string;
  readonly before: string;
  readonly after: string;
}

/** The environment variable naming the file the post-receive hook writes a push's refs to. */
const REPORT_VARIABLE = "TRUNKLINE_PUSH_REPORT";

// git runs post-receive after receive-pack applied the push, with one `old new ref` line on
// stdin for each ref it updated (rejected and failed updates are not listed).
const postReceive = `#!/bin/sh
# Installed by Trunkline: hands the refs a push updated to the server process that served it.
[ -n "$${REPORT_VARIABLE}" ] || exit 0
exec cat > "$${REPORT_VARIABLE}"
`;

/**
 * Trunkline's git hooks, shared by every server process on a data directory: git is pointed
 * at them per request (`core.hooksPath`), whatever a repository's own config says.
 */
export class PushReports {
  private installed: Promise<void> | undefined;

  constructor(private readonly dataDir: string) {}

  /** The folder `core.hooksPath` names. */
  get hooksPath(): string {
    return join(this.dataDir, "git-hooks");
  }

  private get reportsPath(): string {
    return join(this.dataDir, "git-push-reports");
  }

  /**
   * Prepares one push: resolves to the environment git needs to report to this request alone,
   * and `read`, which (once git is done) resolves to exactly the refs this push updated.
   */
  async prepare(): Promise<{
    env: Record<string, string>;
    read: () => Promise<RefUpdate[]>;
  }> {
    this.installed ??= this.install().catch((err: unknown) => {
      this.installed = undefined; // the next push tries again
      throw err;
    });
    await this.installed;
    const file = join(this.reportsPath, randomUUID());
    return {
      env: { [REPORT_VARIABLE]: file },
      read: async () => {
        const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") return ""; // nothing was updated: git ran no hook
          throw err;
        });
        await rm(file, { force: true });
        return parseReport(text);
      },
    };
  }

  /** Writes the hook by a rename, so a push another process serves never runs half a file. */
  private async install(): Promise<void> {
    await mkdir(this.hooksPath, { recursive: true });
    await mkdir(this.reportsPath, { recursive: true, mode: 0o700 });
    const temporary = join(this.hooksPath, `.post-receive-${randomUUID()}`);
    await writeFile(temporary, postReceive, { mode: 0o755 });
    await chmod(temporary, 0o755);
    await rename(temporary, join(this.hooksPath, "post-receive"));
  }
}

/** Reads post-receive's input: `old new ref` per line. */
export function parseReport(text: string): RefUpdate[] {
  const updates: RefUpdate[] = [];
  for (const line of text.split("\n")) {
    const [before, after, ref] = line.trim().split(" ");
    if (before && after && ref) updates.push({ ref, before, after });
  }
  return updates;
}
