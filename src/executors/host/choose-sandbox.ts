import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { InputError } from "../../common/errors.js";
import type { JobSandbox } from "./job-sandbox.js";
import { namespacesWork } from "./namespace-holder.js";

/** The user a root runner's jobs run as when none is named, if it exists. */
export const DEDICATED_JOB_USER = "trunkline-job";

/** A runner's choice of sandbox, and what the operator must be told about it. */
export interface SandboxChoice {
  readonly sandbox: JobSandbox;
  /** Said once at start when jobs are not (or not fully) isolated from the runner. */
  readonly warning?: string;
}

/**
 * The sandbox of a server's or an agent's jobs. As root: `jobUser` (`NAME`, `UID` or
 * `UID:GID`, flag `flag`), else the user {@link DEDICATED_JOB_USER} if it exists, else
 * `nobody`; a job user that is root is refused. Not root: each job in namespaces of its own
 * with `hide` covered, when this machine allows unprivileged user namespaces; otherwise jobs
 * run as the runner's own user, which can read everything that user can (its data directory
 * too), and a warning says so.
 */
export function chooseJobSandbox(options: {
  readonly jobUser?: string;
  readonly flag: string;
  /** What jobs must not see of a runner that is not root (the data directory). */
  readonly hide: readonly string[];
  /** @default process.getuid() */
  readonly uid?: number;
}): SandboxChoice {
  const self = options.uid ?? process.getuid?.() ?? -1;
  if (self !== 0) {
    if (options.jobUser !== undefined)
      throw new InputError(
        `${options.flag}: only a runner started as root can run jobs as another user`,
      );
    if (namespacesWork(options.hide))
      return { sandbox: { kind: "namespaces", hide: options.hide, name: userInfo().username } };
    return {
      sandbox: { kind: "none" },
      warning: `jobs run as this process's own user, unisolated (this machine does not let it make user namespaces): they can read every file it can (${options.hide.join(", ")}, with the master key and admin token) and its environment; start it as root to run jobs as an unprivileged user (--job-user), or allow unprivileged user namespaces`,
    };
  }
  const user =
    options.jobUser !== undefined
      ? resolveJobUser(options.jobUser, options.flag)
      : (lookUpUser(DEDICATED_JOB_USER) ?? lookUpUser("nobody"));
  if (!user)
    throw new InputError(
      `${options.flag}: there is no user '${DEDICATED_JOB_USER}' nor 'nobody' to run jobs as: create one, or name one with ${options.flag}`,
    );
  // Files a job's user links into its directory are handed back to it after the runner
  // writes there; the kernel's protection keeps it from linking files it does not own.
  const links = readSetting("/proc/sys/fs/protected_hardlinks");
  return {
    sandbox: { kind: "user", ...user },
    ...(links === "0"
      ? {
          warning:
            "fs.protected_hardlinks is 0 on this machine: a job could hard-link a file it does not own into its directory and be given it; set it to 1 (sysctl fs.protected_hardlinks=1)",
        }
      : {}),
  };
}

/** One line for the operator: where jobs run and how they are kept apart. */
export function describeSandbox(sandbox: JobSandbox, jobsDir: string): string {
  switch (sandbox.kind) {
    case "user":
      return `jobs run as ${sandbox.name} (uid ${sandbox.uid}) in ${jobsDir}`;
    case "namespaces":
      return `jobs run in namespaces of their own (${sandbox.hide.join(", ")} hidden) in ${jobsDir}`;
    default:
      return `jobs run in ${jobsDir}, as this process's user, unisolated`;
  }
}

/** A user as `--job-user` names it: `NAME`, `UID` or `UID:GID`. Root is refused. */
export function resolveJobUser(
  text: string,
  flag: string,
): { uid: number; gid: number; name: string } {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(text);
  let user: { uid: number; gid: number; name: string } | undefined;
  if (numeric) {
    const uid = Number(numeric[1]);
    const known = lookUpUser(String(uid));
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : known?.gid;
    if (gid === undefined)
      throw new InputError(`${flag}: uid ${uid} has no user here: give its group too (UID:GID)`);
    user = { uid, gid, name: known?.name ?? String(uid) };
  } else {
    user = lookUpUser(text);
    if (!user) throw new InputError(`${flag}: there is no user '${text}' on this machine`);
  }
  if (user.uid === 0 || user.gid === 0)
    throw new InputError(
      `${flag}: '${text}' is root (or in root's group): jobs must run as an unprivileged user`,
    );
  return user;
}

/** A kernel setting's value, or undefined where it cannot be read. */
function readSetting(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** A user by name or uid, from the system's user database (`getent`, else /etc/passwd). */
function lookUpUser(key: string): { uid: number; gid: number; name: string } | undefined {
  let line: string | undefined;
  try {
    line = execFileSync("getent", ["passwd", key], { encoding: "utf8", stdio: "pipe" });
  } catch (err) {
    // getent exits 2 for a user it does not know; anything else: read the file instead.
    if ((err as { status?: number }).status === 2) return undefined;
    line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => {
        const [name, , uid] = l.split(":");
        return name === key || uid === key;
      });
  }
  const [name, , uid, gid] = (line ?? "").trim().split(":");
  if (!name || uid === undefined || gid === undefined) return undefined;
  return { uid: Number(uid), gid: Number(gid), name };
}
