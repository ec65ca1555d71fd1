import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { InputError, NotFoundError } from "../common/errors.js";
import { RUN_STATUSES } from "../store/database.js";
import { ApiClient, apiTarget } from "./api-client.js";
import { runsArtifacts, runsDownload } from "./artifact-commands.js";
import { collectList, collectPairs, positiveInt } from "./flags.js";
import { reviewCommand } from "./review-commands.js";
import { runsCancel, runsList, runsLogs, runsRerun, runsShow, table } from "./runs-commands.js";
import type { Output } from "./terminal.js";

type Flags = { server?: string; token?: string; json?: boolean };

/** Adds the flags every API command takes. */
function withServer(command: Command): Command {
  return command
    .option(
      "--server <url>",
      "the Trunkline server: http(s)://HOST[:PORT], or HOST:PORT for http (default: $TRUNKLINE_SERVER or http://127.0.0.1:8080)",
    )
    .option(
      "--token <token>",
      "an API token (default: $TRUNKLINE_TOKEN, or a local server's admin token)",
    );
}

function client(flags: Flags): ApiClient {
  return new ApiClient(
    apiTarget({
      ...(flags.server ? { server: flags.server } : {}),
      ...(flags.token ? { token: flags.token } : {}),
    }),
  );
}

/**
 * The commands that talk to a server over its API: `repo`, `runs`, `dispatch`, `schedules`,
 * `runners`, `servers` and `secrets`.
 * Each resolves to an exit code through `done`; server refusals are one-line errors.
 */
export function addApiCommands(program: Command, io: Output, done: (code: number) => void): void {
  const repo = program.command("repo").description("repositories of a Trunkline server");
  withServer(
    repo
      .command("create")
      .description("create a repository: hosted here (push to it), or mirrored with --remote-url")
      .argument("<name>", "its name (letters, digits, . _ -)")
      .option("--default-branch <branch>", "its default branch", "main")
      .option("--remote-url <url>", "mirror this repository, fetched when its webhooks arrive")
      .option("--remote-name <owner/name>", "its owner/name in webhook deliveries"),
  ).action(
    async (
      name: string,
      opts: Flags & { defaultBranch: string; remoteUrl?: string; remoteName?: string },
    ) => {
      const api = client(opts);
      await api.request("POST", "/api/v1/repositories", {
        name,
        defaultBranch: opts.defaultBranch,
        ...(opts.remoteUrl ? { remoteUrl: opts.remoteUrl } : {}),
        ...(opts.remoteName ? { remoteName: opts.remoteName } : {}),
      });
      io.err(
        opts.remoteUrl
          ? `trunkline: created ${name}, mirroring ${opts.remoteUrl}; point its webhooks at ${api.server}/webhooks/github`
          : `trunkline: created ${name}; push to it with: git push ${api.server}/git/${name}.git ${opts.defaultBranch}`,
      );
      done(0);
    },
  );
  withServer(
    repo
      .command("set-remote-url")
      .description("change a mirror's remote URL (to rotate the credentials in it)")
      .argument("<name>", "the mirrored repository")
      .argument("<url>", "its new remote URL"),
  ).action(async (name: string, url: string, opts: Flags) => {
    await client(opts).request("PATCH", `/api/v1/repositories/${encodeURIComponent(name)}`, {
      remoteUrl: url,
    });
    io.err(`trunkline: ${name} now mirrors its new remote URL`);
    done(0);
  });
  withServer(
    repo.command("list").description("list repositories").option("--json", "print JSON"),
  ).action(async (opts: Flags) => {
    const repos = await client(opts).request<
      { name: string; defaultBranch: string; remoteUrl: string | null }[]
    >("GET", "/api/v1/repositories");
    if (opts.json) io.out(JSON.stringify(repos, null, 2));
    else
      for (const line of table(
        repos.map((r) => [
          r.name,
          r.defaultBranch,
          r.remoteUrl ? `mirror of ${r.remoteUrl}` : "hosted",
        ]),
      ))
        io.out(line);
    done(0);
  });

  for (const [name, state] of [
    ["approve", "approved"],
    ["reject", "rejected"],
  ] as const) {
    withServer(
      program
        .command(name)
        .description(
          `${name} a run's deployment waiting for your review (RUN is REPO#NUMBER or a run id)`,
        )
        .argument("<run>")
        .option("--env <environment>", "the environment to review (repeatable)", collectList)
        .option("--comment <text>", "why, kept with the review in the run's event log")
        .option("--json", "print JSON"),
    ).action(async (ref: string, opts: Flags & { env?: string[]; comment?: string }) =>
      done(await reviewCommand(client(opts), io, ref, state, opts)),
    );
  }

  const runs = program
    .command("runs")
    .description("runs of a Trunkline server (RUN is REPO#NUMBER or a run id)");
  withServer(
    runs
      .command("list")
      .description("a repository's runs, newest first")
      .argument("<repo>")
      .addOption(
        new Option("--status <status>", "only runs with this status").choices(RUN_STATUSES),
      )
      .option("--limit <n>", "at most this many", (v) => positiveInt("--limit", v))
      .option("--json", "print JSON"),
  ).action(async (repoName: string, opts: Flags & { status?: string; limit?: number }) =>
    done(await runsList(client(opts), io, repoName, opts)),
  );
  withServer(
    runs
      .command("show")
      .description("a run and its jobs")
      .argument("<run>")
      .option("--attempt <n>", "an earlier attempt", (v) => positiveInt("--attempt", v))
      .option("--json", "print JSON"),
  ).action(async (ref: string, opts: Flags & { attempt?: number }) =>
    done(await runsShow(client(opts), io, ref, opts)),
  );
  withServer(
    runs
      .command("logs")
      .description("a run's logs; with -f, live until the run ends (exit 1 unless it succeeded)")
      .argument("<run>")
      .option("--job <key>", "only this job")
      .option("-f, --follow", "stream the logs live"),
  ).action(async (ref: string, opts: Flags & { job?: string; follow?: boolean }) =>
    done(await runsLogs(client(opts), io, ref, opts)),
  );
  withServer(
    runs
      .command("artifacts")
      .description("a run's artifacts")
      .argument("<run>")
      .option("--json", "print JSON"),
  ).action(async (ref: string, opts: Flags) =>
    done(await runsArtifacts(client(opts), io, ref, opts)),
  );
  withServer(
    runs
      .command("download")
      .description("download a run's artifacts, each into DIR/<name> (one --name: into DIR)")
      .argument("<run>")
      .option("-n, --name <name>", "only this artifact (repeatable)", collectList)
      .option("-D, --dir <dir>", "where to put them (default: here)"),
  ).action(async (ref: string, opts: Flags & { name?: string[]; dir?: string }) =>
    done(await runsDownload(client(opts), io, ref, opts)),
  );
  withServer(runs.command("cancel").description("cancel a running run").argument("<run>")).action(
    async (ref: string, opts: Flags) => done(await runsCancel(client(opts), io, ref)),
  );
  withServer(
    runs
      .command("rerun")
      .description("run a finished run again, as its next attempt")
      .argument("<run>")
      .option("--failed", "only the failed jobs and the jobs that need them"),
  ).action(async (ref: string, opts: Flags & { failed?: boolean }) =>
    done(await runsRerun(client(opts), io, ref, opts)),
  );

  withServer(
    program
      .command("dispatch")
      .description("start a workflow_dispatch run of a workflow")
      .argument("<repo>")
      .argument("<workflow>", "its file name, like deploy.yml")
      .option("--ref <ref>", "branch or tag (default: the repository's default branch)")
      .option("--input <k=v>", "an input (repeatable)", collectPairs("--input"), {})
      .option("--json", "print the run ids as JSON"),
  ).action(
    async (
      repoName: string,
      workflow: string,
      opts: Flags & { ref?: string; input: Record<string, string> },
    ) => {
      const { runIds } = await client(opts).request<{ runIds: string[] }>(
        "POST",
        `/api/v1/repositories/${encodeURIComponent(repoName)}/dispatch`,
        { workflow, ...(opts.ref ? { ref: opts.ref } : {}), inputs: opts.input },
      );
      if (opts.json) io.out(JSON.stringify({ runIds }));
      else for (const id of runIds) io.out(id);
      io.err(
        `trunkline: started ${workflow} on ${repoName} (follow it with: trunkline runs logs -f ${runIds[0]})`,
      );
      done(0);
    },
  );

  withServer(
    program
      .command("schedules")
      .description("the cron schedules of a repository's default branch, and when each fires next")
      .argument("<repo>")
      .option("--json", "print JSON"),
  ).action(async (repoName: string, opts: Flags) => {
    const schedules = await client(opts).request<
      { workflow: string; cron: string; next: number | null }[]
    >("GET", `/api/v1/repositories/${encodeURIComponent(repoName)}/schedules`);
    if (opts.json) io.out(JSON.stringify(schedules, null, 2));
    else if (schedules.length === 0) io.err(`trunkline: ${repoName} has no schedules`);
    else
      for (const line of table(
        schedules.map((s) => [
          s.workflow,
          s.cron,
          s.next === null ? "never" : `next ${new Date(s.next).toISOString()}`,
        ]),
      ))
        io.out(line);
    done(0);
  });

  const runners = withServer(
    program
      .command("runners")
      .description(
        "the runner agents registered with the server: online or offline, and when each was last seen",
      )
      .option("--json", "print JSON"),
  ).action((opts: Flags) => listRunners(opts));
  // A subcommand's flags may also come before its name (`runners --json list`), where the
  // parent takes them: hence optsWithGlobals.
  withServer(
    runners.command("list").description("list the runner agents").option("--json", "print JSON"),
  ).action((_opts: Flags, command: Command) => listRunners(command.optsWithGlobals<Flags>()));
  withServer(
    runners
      .command("rm")
      .description(
        "remove a runner agent: its token stops working at once, and the jobs it holds fail as runner_lost",
      )
      .argument("<runner>", "its id, or its name when no other runner has that name"),
  ).action(async (which: string, _opts: Flags, command: Command) => {
    const api = client(command.optsWithGlobals<Flags>());
    const runner = pickRunner(await api.request<RunnerRow[]>("GET", "/api/v1/runners"), which);
    await api.request("DELETE", `/api/v1/runners/${encodeURIComponent(runner.id)}`);
    io.err(`trunkline: removed runner ${runner.name} (${runner.id}); its token no longer works`);
    done(0);
  });

  async function listRunners(opts: Flags): Promise<void> {
    const list = await client(opts).request<RunnerRow[]>("GET", "/api/v1/runners");
    if (opts.json) io.out(JSON.stringify(list, null, 2));
    else if (list.length === 0)
      io.err(
        "trunkline: no agents registered (the server's own runner takes jobs unless it runs with --runner-capacity 0)",
      );
    else
      for (const line of table(
        list.map((r) => [
          r.name,
          r.state,
          r.labels.join(","),
          `${r.capacity} at once`,
          `last seen ${new Date(r.lastSeenAt).toISOString()}`,
          r.id,
        ]),
      ))
        io.out(line);
    done(0);
  }

  withServer(
    program
      .command("servers")
      .description(
        "the server processes sharing the server's store, and the unfinished runs each carries",
      )
      .option("--json", "print JSON"),
  ).action(async (opts: Flags) => {
    const servers = await client(opts).request<
      {
        host: string;
        pid: number;
        startedAt: number;
        seenAt: number;
        runs: number;
        self: boolean;
      }[]
    >("GET", "/api/v1/servers");
    if (opts.json) io.out(JSON.stringify(servers, null, 2));
    else
      for (const line of table(
        servers.map((s) => [
          `${s.host}:${s.pid}${s.self ? " (this one)" : ""}`,
          `started ${new Date(s.startedAt).toISOString()}`,
          `last seen ${new Date(s.seenAt).toISOString()}`,
          `${s.runs} run${s.runs === 1 ? "" : "s"}`,
        ]),
      ))
        io.out(line);
    done(0);
  });

  const secrets = program
    .command("secrets")
    .description("secrets of a server: organisation-wide, or of a --repo, or of its --env");
  const scoped = (command: Command) =>
    withServer(command)
      .option("--repo <repo>", "a repository's secrets (default: the organisation's)")
      .option("--env <environment>", "an environment's secrets (with --repo)");
  scoped(
    secrets
      .command("set")
      .description("set a secret; the value comes from --value, --from-file, or standard input")
      .argument("<name>")
      .option("--value <value>", "the value (visible in your shell's history: prefer stdin)")
      .option("--from-file <file>", "read the value from this file"),
  ).action(
    async (
      name: string,
      opts: Flags & { repo?: string; env?: string; value?: string; fromFile?: string },
    ) => {
      const value = secretValue(name, opts);
      await client(opts).request("PUT", `${secretsPath(opts)}/${encodeURIComponent(name)}`, {
        value,
      });
      io.err(`trunkline: secret ${name} set (${scopeName(opts)})`);
      done(0);
    },
  );
  scoped(
    secrets
      .command("list")
      .description("list secret names (never values)")
      .option("--json", "print JSON"),
  ).action(async (opts: Flags & { repo?: string; env?: string }) => {
    const list = await client(opts).request<{ name: string; updatedAt: number }[]>(
      "GET",
      secretsPath(opts),
    );
    if (opts.json) io.out(JSON.stringify(list, null, 2));
    else
      for (const line of table(
        list.map((s) => [s.name, `updated ${new Date(s.updatedAt).toISOString()}`]),
      ))
        io.out(line);
    done(0);
  });
  scoped(secrets.command("rm").description("delete a secret").argument("<name>")).action(
    async (name: string, opts: Flags & { repo?: string; env?: string }) => {
      await client(opts).request("DELETE", `${secretsPath(opts)}/${encodeURIComponent(name)}`);
      io.err(`trunkline: secret ${name} deleted (${scopeName(opts)})`);
      done(0);
    },
  );
}

/** A runner as `GET /api/v1/runners` lists it. */
interface RunnerRow {
  id: string;
  name: string;
  labels: string[];
  capacity: number;
  lastSeenAt: number;
  state: "online" | "offline";
}

/** The runner `which` names: by id, else by a name no other runner has. */
function pickRunner(list: readonly RunnerRow[], which: string): RunnerRow {
  const byId = list.find((r) => r.id === which);
  if (byId) return byId;
  const named = list.filter((r) => r.name === which);
  const [only] = named;
  if (!only) throw new NotFoundError(`no runner '${which}' (see: trunkline runners)`);
  if (named.length > 1)
    throw new InputError(
      `${named.length} runners are named '${which}': remove one by its id (${named.map((r) => r.id).join(", ")})`,
    );
  return only;
}

function secretsPath(opts: { repo?: string; env?: string }): string {
  if (opts.env && !opts.repo)
    throw new InputError("--env needs --repo: environments belong to a repository");
  if (!opts.repo) return "/api/v1/secrets";
  const repo = `/api/v1/repositories/${encodeURIComponent(opts.repo)}`;
  return opts.env
    ? `${repo}/environments/${encodeURIComponent(opts.env)}/secrets`
    : `${repo}/secrets`;
}

function scopeName(opts: { repo?: string; env?: string }): string {
  return opts.env
    ? `environment ${opts.env} of ${opts.repo}`
    : opts.repo
      ? `repository ${opts.repo}`
      : "organisation";
}

/**
 * The value `secrets set NAME` sends: from --value, --from-file or standard input (one
 * trailing newline dropped). An empty value is refused, naming where it came from.
 */
function secretValue(name: string, opts: { value?: string; fromFile?: string }): string {
  if (opts.value !== undefined && opts.fromFile !== undefined)
    throw new InputError("--value and --from-file: give one, not both");
  if (opts.value !== undefined) return nonEmpty(name, opts.value, "--value is empty");
  const source = opts.fromFile ?? 0;
  if (source === 0 && process.stdin.isTTY)
    throw new InputError("no value: pass --value or --from-file, or pipe the value in");
  let value: string;
  try {
    value = readFileSync(source, "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    throw new InputError(`--from-file ${opts.fromFile}: ${(err as Error).message}`);
  }
  return nonEmpty(
    name,
    value,
    opts.fromFile !== undefined
      ? `--from-file ${opts.fromFile} is empty`
      : "standard input was empty (pipe the value in, or use --value or --from-file)",
  );
}

function nonEmpty(name: string, value: string, why: string): string {
  if (value === "") throw new InputError(`secret ${name}: not set, ${why}`);
  return value;
}

/**
 * `token list` and `token rm` over the API (admin): the tokens' names, roles and last use
 * (never their secrets), and revoking one, which stops it at once.
 */
export function addTokenApiCommands(
  token: Command,
  io: Output,
  done: (code: number) => void,
): void {
  withServer(
    token.command("list").description("list API tokens").option("--json", "print JSON"),
  ).action(async (opts: Flags) => {
    const tokens = await client(opts).request<
      { id: string; name: string; role: string; createdAt: number; lastUsedAt: number | null }[]
    >("GET", "/api/v1/tokens");
    if (opts.json) io.out(JSON.stringify(tokens, null, 2));
    else
      for (const line of table(
        tokens.map((t) => [
          t.id,
          t.name,
          t.role,
          t.lastUsedAt === null
            ? "never used"
            : `last used ${new Date(t.lastUsedAt).toISOString()}`,
        ]),
      ))
        io.out(line);
    done(0);
  });
  withServer(
    token.command("rm").description("revoke an API token").argument("<id>", "its id (token list)"),
  ).action(async (id: string, opts: Flags) => {
    await client(opts).request("DELETE", `/api/v1/tokens/${encodeURIComponent(id)}`);
    io.err(`trunkline: token ${id} revoked`);
    done(0);
  });
}
