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
// stdin for each ref it updated (rejected and failed updates are not listed). What the hook
// prints reaches the pusher as `remote:` lines: it waits (15 s at most) for the server's
// answer about the runs the push started.
const postReceive = `#!/bin/sh
# Installed by Trunkline: hands the refs a push updated to the server process that served it,
# and shows the pusher the server's answer.
[ -n "$${REPORT_VARIABLE}" ] || exit 0
report="$${REPORT_VARIABLE}"
cat > "$report.tmp" && mv "$report.tmp" "$report" || exit 0
i=0
while [ ! -e "$report.reply" ] && [ $i -lt 300 ]; do
  sleep 0.05 2>/dev/null || sleep 1
  i=$((i + 1))
done
[ -e "$report.reply" ] && cat "$report.reply"
exit 0
`;

/** Set (to anything) for a push made with a job's `GITHUB_TOKEN`. */
export const JOB_PUSH_VARIABLE = "TRUNKLINE_JOB_PUSH";

// git runs pre-receive before it updates any ref; a non-zero exit refuses the whole push. A
// job's GITHUB_TOKEN may not change workflow files: on GitHub that needs the `workflows`
// permission, which GITHUB_TOKEN never has; otherwise a step could plant a workflow that
// later runs with the repository's secrets. Only commits the repository does not have yet
// are looked at.
const preReceive = `#!/bin/sh
# Installed by Trunkline: a push with a job's GITHUB_TOKEN may not change .github/workflows.
[ -n "$${JOB_PUSH_VARIABLE}" ] || exit 0
zero=0000000000000000000000000000000000000000
while read -r old new ref; do
  [ "$new" = "$zero" ] && continue
  for commit in $(git rev-list "$new" --not --all); do
    if [ -n "$(git diff-tree --no-commit-id --name-only -r --root "$commit" -- .github/workflows)" ]; then
      echo "Trunkline: $ref: a job's GITHUB_TOKEN cannot change .github/workflows (GitHub requires the workflows permission, which a job's token never has)" >&2
      exit 1
    fi
  done
done
exit 0
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
   * Prepares one push: resolves to the environment git needs to report to this request alone;
   * `read`, which resolves to exactly the refs this push updated as soon as the hook reports
   * them (or to undefined once `done` settles without a report: git ran no hook); `answer`,
   * which hands the hook the lines to show the pusher; and `finish`, which removes the
   * push's files once git is done.
   */
  async prepare(): Promise<{
    env: Record<string, string>;
    read: (done: Promise<unknown>) => Promise<RefUpdate[] | undefined>;
    answer: (lines: readonly string[]) => Promise<void>;
    finish: () => Promise<void>;
  }> {
    this.installed ??= this.install().catch((err: unknown) => {
      this.installed = undefined; // the next push tries again
      throw err;
    });
    await this.installed;
    const file = join(this.reportsPath, randomUUID());
    return {
      env: { [REPORT_VARIABLE]: file },
      read: async (done) => {
        let over = false;
        void done.then(
          () => {
            over = true;
          },
          () => {
            over = true;
          },
        );
        for (;;) {
          // Checked once more after git is done: the report may have come just before.
          const last = over;
          const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
            if (err.code === "ENOENT") return undefined;
            throw err;
          });
          if (text !== undefined) return parseReport(text);
          if (last) return undefined;
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      answer: async (lines) => {
        // Written even when empty: the hook waits for it.
        const temporary = `${file}.reply-${randomUUID()}`;
        await writeFile(temporary, lines.length > 0 ? `${lines.join("\n")}\n` : "");
        await rename(temporary, `${file}.reply`);
      },
      finish: async () => {
        await Promise.all(
          [file, `${file}.tmp`, `${file}.reply`].map((f) => rm(f, { force: true })),
        );
      },
    };
  }

  /** Writes the hook by a rename, so a push another process serves never runs half a file. */
  private async install(): Promise<void> {
    await mkdir(this.hooksPath, { recursive: true });
    await mkdir(this.reportsPath, { recursive: true, mode: 0o700 });
    for (const [name, script] of [
      ["pre-receive", preReceive],
      ["post-receive", postReceive],
    ] as const) {
      const temporary = join(this.hooksPath, `.${name}-${randomUUID()}`);
      await writeFile(temporary, script, { mode: 0o755 });
      await chmod(temporary, 0o755);
      await rename(temporary, join(this.hooksPath, name));
    }
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
