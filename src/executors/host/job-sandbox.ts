import { execFileSync } from "node:child_process";

/**
 * How the host executor keeps a job's processes from the runner's own files, processes and
 * environment. A server's runner (embedded, or an agent) holds what must never reach a job:
 * the data directory (master key, admin token, database), its own environment (webhook
 * secret, master key) and, for an agent, its runner token.
 *
 * - `none`: processes run as the runner's own user with the environment the runner gives
 *   (`trunkline run`: a developer's own jobs on their own machine; no cost per step).
 * - `user`: the runner is root; processes run as another, unprivileged user (uid and gid
 *   set, supplementary groups cleared), who owns the job's directory and nothing of the
 *   runner's: the data directory is 0700 and the runner's `/proc/<pid>/environ` is closed to
 *   other users. Each job has its own PID namespace (see `NamespaceHolder`), so jobs, all of
 *   that one user, cannot read each other's environments either. Their environment is
 *   {@link sandboxEnv}'s: nothing of the runner's own.
 * - `namespaces`: the runner is not root, so its jobs run as its own user, but each job in
 *   namespaces of its own (see `NamespaceHolder`): the `hide` directories (the data
 *   directory, an agent's registration) covered by an empty tmpfs it cannot remove, its own
 *   PID namespace (no process of the runner's to read or signal), and {@link sandboxEnv}'s
 *   environment. Files elsewhere that the runner's user can read (its home), it can read too.
 */
export type JobSandbox =
  | { readonly kind: "none" }
  | {
      readonly kind: "user";
      readonly uid: number;
      readonly gid: number;
      /** The user's name, for `USER` and messages (the uid when it has none). */
      readonly name: string;
    }
  | {
      readonly kind: "namespaces";
      /** Directories the job sees empty. */
      readonly hide: readonly string[];
      /** The runner's user's name, for `USER`. */
      readonly name: string;
    };

/** Variables of the runner's environment a sandboxed job's processes get; and every `LC_*`. */
const PASSED = new Set([
  "PATH",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TERM",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
]);

/**
 * The environment a sandboxed job's processes start from: an allowlist of the runner's
 * (locale, time zone, terminal, PATH, proxies and CA certificates), `HOME` the job's own home
 * and `USER`/`LOGNAME` the job's user. Nothing else of the runner's passes: no
 * `TRUNKLINE_*`, no master key, no webhook secret, no cloud credentials. The job's own
 * variables (GitHub's, `env:`, secrets it asks for) are added by the runner.
 */
export function sandboxEnv(
  sandbox: Exclude<JobSandbox, { kind: "none" }>,
  host: Readonly<Record<string, string | undefined>>,
  home: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(host)) {
    if (value !== undefined && (PASSED.has(key) || key.startsWith("LC_"))) env[key] = value;
  }
  env.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  env.HOME = home;
  env.USER = sandbox.name;
  env.LOGNAME = sandbox.name;
  return env;
}

/**
 * Gives the sandbox's user everything under `path`, which the runner wrote as itself (a
 * workspace it filled, files a built-in action wrote). Links are changed themselves, never
 * followed, and the walk is GNU chown's, which does not follow a directory swapped for a link
 * while it walks (a job's processes may be running). Nothing to do without a `user` sandbox.
 */
export function handOverTree(sandbox: JobSandbox, path: string): void {
  if (sandbox.kind !== "user") return;
  execFileSync("chown", ["-R", "-P", "--no-dereference", `${sandbox.uid}:${sandbox.gid}`, path], {
    stdio: ["ignore", "ignore", "pipe"],
  });
}
