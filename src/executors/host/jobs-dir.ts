import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative, resolve } from "node:path";
import { InputError } from "../../common/errors.js";

/**
 * Where a server's or an agent's job directories go unless told: under the system's temp
 * directory, one per user of the runner (`trunkline-jobs-<uid>`), never under a data
 * directory, which jobs must not be able to reach.
 */
export function defaultJobsDir(): string {
  return join(tmpdir(), `trunkline-jobs-${process.getuid?.() ?? "user"}`);
}

/**
 * Makes `dir` (and its parents) if missing, and gives it `mode`. An existing `dir` must be
 * a directory of this process's user, not a link: in a shared temp directory another user
 * may have made it first, to own the jobs put in it. `what` names it in the error.
 */
export function ensureOwnDir(dir: string, mode: number, what: string): void {
  mkdirSync(dir, { recursive: true, mode });
  const info = lstatSync(dir);
  const uid = process.getuid?.();
  if (!info.isDirectory() || (uid !== undefined && info.uid !== uid))
    throw new InputError(
      `${what} ${dir} is not a directory of this user's (another user may have made it): choose another`,
    );
  chmodSync(dir, mode);
}

/**
 * Refuses a jobs directory inside (or holding) a directory jobs must not reach, such as the
 * data directory: `what` names the two in the error.
 */
export function checkApart(jobsDir: string, privateDir: string, what: string): void {
  const inside = (child: string, parent: string) => {
    const rel = relative(resolve(parent), resolve(child));
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  };
  if (inside(jobsDir, privateDir) || inside(privateDir, jobsDir))
    throw new InputError(
      `${what}: jobs must not be able to reach ${privateDir}: put the jobs directory elsewhere`,
    );
}
