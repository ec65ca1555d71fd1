import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { git, gitFailure } from "../actions/action-git.js";
import { gitHostSources, lsRemote } from "../actions/action-sources.js";
import { InputError } from "../common/errors.js";
import { parseActionReference } from "../workflow/action-reference.js";
import type { ActionFlags } from "./action-flags.js";
import type { Output } from "./terminal.js";

/**
 * `trunkline actions mirror DIR ACTION...`: copies actions from their git host into a mirror
 * directory, in the layout `--action-mirror DIR` reads: `DIR/<owner>/<repo>` a bare git
 * repository. `owner/repo` copies every branch and tag; `owner/repo@ref` adds that ref only
 * (its commit, shallow). Run again to bring the mirror up to date. Returns the exit code.
 */
export async function actionsMirrorCommand(
  dir: string,
  actions: readonly string[],
  flags: ActionFlags,
  io: Output,
): Promise<number> {
  const hosts = gitHostSources(flags.urls, flags.token);
  let failed = 0;
  for (const action of actions) {
    const ref = parseActionReference(action.includes("@") ? action : `${action}@HEAD`);
    if (ref?.kind !== "remote" || ref.path)
      throw new InputError(`'${action}': expected owner/repo or owner/repo@ref`);
    const host = hosts.find((h) => h.place(ref.owner, ref.repo) !== undefined);
    const url = host?.place(ref.owner, ref.repo);
    if (!host || !url) throw new InputError(`--actions-url: no git host serves ${ref.owner}`);
    const bare = join(resolve(dir), ref.owner, ref.repo);
    const env = host.credentials();
    try {
      if (!existsSync(join(bare, "HEAD"))) {
        await mkdir(bare, { recursive: true });
        await git(["init", "-q", "--bare", bare]);
      }
      if (!action.includes("@")) {
        await git(
          [
            "-C",
            bare,
            "fetch",
            "-q",
            "--prune",
            "--",
            url,
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
          ],
          env,
        );
        io.out(`${ref.owner}/${ref.repo}: every branch and tag, in ${bare}`);
        continue;
      }
      const found = await lsRemote(url, ref.ref, env);
      if ("missed" in found || !("commit" in found)) {
        io.err(`trunkline: ${action}: ${"missed" in found ? found.missed : "not found"}`);
        failed++;
        continue;
      }
      const wanted = found.ref ?? found.commit;
      const into = found.ref ?? `refs/trunkline/${found.commit}`;
      await git(
        ["-C", bare, "fetch", "-q", "--depth", "1", "--no-tags", "--", url, `+${wanted}:${into}`],
        env,
      );
      io.out(`${action}: ${found.commit}, in ${bare}`);
    } catch (err) {
      io.err(`trunkline: ${action}: ${gitFailure(err)}`);
      failed++;
    }
  }
  return failed > 0 ? 1 : 0;
}
