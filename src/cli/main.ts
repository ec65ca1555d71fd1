import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { InputError, TrunklineError } from "../common/errors.js";
import { actionFlags, addActionFlags } from "./action-flags.js";
import { serverUrl } from "./api-client.js";
import { addApiCommands, addTokenApiCommands } from "./api-commands.js";
import { collectList, collectPairs, positiveInt, positiveIntOrZero, wholeOrZero } from "./flags.js";
import { addHostFlags } from "./host-flags.js";
import type { PlanOptions } from "./plan-command.js";
import { type Output, processOutput } from "./terminal.js";

/** Exit codes of the CLI. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Internal: 70 } as const;

/** Adds the flags that describe an event (shared by `plan` and `run`). */
function addEventOptions(command: Command): Command {
  return command
    .addOption(new Option("--event <name>", "event name").default("push"))
    .option(
      "--ref <ref>",
      "ref of the event (refs/heads/x, refs/tags/v1; a bare name is a branch); default: the checked-out branch",
    )
    .option("--sha <sha>", "commit of the event; default: HEAD")
    .option("--before <rev>", "for push: changed files are the diff from this revision to --sha")
    .option(
      "--changed-files <files...>",
      "changed files, for path filters (repeatable, or comma-separated)",
      collectList,
    )
    .option("--input <k=v>", "workflow_dispatch input (repeatable)", collectPairs("--input"), {})
    .option("--var <k=v>", "variable for vars.* (repeatable)", collectPairs("--var"), {})
    .option("--event-file <file>", "webhook payload (GitHub's JSON) for github.event.*")
    .option("--action <type>", "activity type, e.g. opened or synchronize for pull_request")
    .option("--base <branch>", "pull_request: target branch (default main)")
    .option("--head <branch>", "pull_request: source branch")
    .option("--cron <expr>", "schedule: the cron expression that fired")
    .option("-W, --workflow <file>", "only this workflow file (repeatable)", collectList);
}

/** The event flags as {@link PlanOptions}. */
function eventOptions(cwd: string, opts: Record<string, unknown>): PlanOptions {
  const optional = (key: string, name: string = key) =>
    opts[key] !== undefined ? { [name]: opts[key] } : {};
  return {
    cwd,
    event: opts.event as string,
    ...optional("ref"),
    ...optional("sha"),
    ...optional("before"),
    ...optional("changedFiles"),
    input: opts.input as Record<string, string>,
    vars: opts.var as Record<string, string>,
    ...optional("eventFile"),
    ...optional("action"),
    ...optional("base"),
    ...optional("head"),
    ...optional("cron"),
    workflows: (opts.workflow as string[] | undefined) ?? [],
    json: opts.json === true,
  };
}

/**
 * Builds the command tree; every action resolves to an exit code through `done`. Each
 * command's code is imported when that command runs (the bundle splits along those
 * imports), so a command pays neither the start-up time nor the memory of the others: the
 * server's stack is not in `trunkline run`, whose every step's spawn costs more the larger
 * the process is.
 */
export function buildProgram(io: Output, done: (code: number) => void): Command {
  const program = new Command("trunkline")
    .description("Self-hosted CI/CD: runs GitHub Actions workflows on your own machines.")
    .version("0.1.0")
    .option("-C, --cwd <dir>", "repository to work in", process.cwd())
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  const validate = program
    .command("validate")
    .description(
      "check workflow files and .trunkline/config.yml; report every problem as file:line:col",
    )
    .argument("[files...]", "workflow files (default: every file in .github/workflows)")
    .option("--json", "print the result as JSON");
  addActionFlags(validate, undefined, true).action(
    async (files: string[], opts: Record<string, unknown>) => {
      const cwd = resolve(program.opts<{ cwd: string }>().cwd);
      const { validateCommand } = await import("./validate-command.js");
      done(
        await validateCommand(
          { cwd, files, json: opts.json === true, actionSources: actionFlags(opts, cwd) },
          io,
        ),
      );
    },
  );

  const plan = program
    .command("plan")
    .description("show which workflows and jobs an event would run, skip, or hold for approval");
  addEventOptions(addHostFlags(addActionFlags(plan, undefined, true)))
    .option("--json", "print the plan as JSON")
    .action(async (opts: Record<string, unknown>) => {
      const cwd = resolve(program.opts<{ cwd: string }>().cwd);
      const { planCommand } = await import("./plan-command.js");
      done(
        await planCommand(
          {
            ...eventOptions(cwd, opts),
            actionSources: actionFlags(opts, cwd),
            labels: (opts.label as string[] | undefined) ?? [],
            ...(opts.platform ? { platforms: opts.platform as Record<string, string> } : {}),
          },
          io,
        ),
      );
    });
  const run = program
    .command("run")
    .description("run the jobs an event triggers, on this machine, as GitHub Actions would")
    .option("-j, --job <id>", "run only this job and the jobs it needs (repeatable)", collectList)
    .option("--jobs <n>", "most jobs running at once (default: number of CPUs)", (v) =>
      positiveInt("--jobs", v),
    )
    .option("--secret-file <file>", "secrets as KEY=VALUE lines (repeatable)", collectList)
    .option(
      "-s, --secret <name[=value]>",
      "a secret; without =value it is read from the environment (repeatable)",
      collectList,
    )
    .option(
      "--approve <environment>",
      "approve deployments to this environment ('*' for all) (repeatable)",
      collectList,
    )
    .option(
      "--matrix <key:value>",
      "run only the matrix legs whose key has this value (repeatable; several values of one key: any of them)",
      (value: string, previous: Record<string, string[]> = {}) => {
        const colon = value.indexOf(":");
        if (colon <= 0) throw new InputError(`--matrix ${value}: expected KEY:VALUE`);
        const key = value.slice(0, colon);
        return { ...previous, [key]: [...(previous[key] ?? []), value.slice(colon + 1)] };
      },
    )
    .option(
      "--commit <ref>",
      "run this commit alone (its workflows and files), not the working tree with its uncommitted changes",
    )
    .option("--run-dir <dir>", "where the run's logs, summaries and outputs are kept")
    .option("--keep", "keep each job's workspace after the run")
    .option(
      "--no-chain",
      "do not go on to the workflows that listen to this run's (on: workflow_run)",
    );
  addEventOptions(addHostFlags(addActionFlags(run, undefined, true)))
    .option("--json", "stream the run's events as JSON lines")
    .action(async (opts: Record<string, unknown>) => {
      const cwd = resolve(program.opts<{ cwd: string }>().cwd);
      const [{ runCommand }, { HostExecutor }] = await Promise.all([
        import("./run-command.js"),
        import("../executors/host/host-executor.js"),
      ]);
      const cancel = new AbortController();
      let interrupts = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        interrupts++;
        if (interrupts === 1) {
          io.err(`trunkline: ${signal}: cancelling the run (again to stop at once)`);
          cancel.abort();
        } else {
          HostExecutor.killEverything();
          // Containers outlive this process unless removed: a few seconds at most, then go.
          // (The container executor is loaded only by jobs that use it; else none is left.)
          void import("../executors/container/container-executor.js")
            .then(({ ContainerExecutor }) => ContainerExecutor.removeEverything(5000))
            .finally(() => process.exit(130));
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      // An exit before the run ends (its reader closed the output) takes the steps with it.
      const onExit = () => HostExecutor.killEverything();
      process.on("exit", onExit);
      try {
        const code = await runCommand(
          {
            ...eventOptions(cwd, opts),
            jobs: (opts.job as string[] | undefined) ?? [],
            parallel: (opts.jobs as number | undefined) ?? availableParallelism(),
            secretFiles: (opts.secretFile as string[] | undefined) ?? [],
            secrets: (opts.secret as string[] | undefined) ?? [],
            approve: (opts.approve as string[] | undefined) ?? [],
            labels: (opts.label as string[] | undefined) ?? [],
            actionSources: actionFlags(opts, cwd),
            ...(typeof opts.commit === "string" ? { commit: opts.commit } : {}),
            ...(opts.platform ? { platforms: opts.platform as Record<string, string> } : {}),
            ...(opts.matrix ? { matrix: opts.matrix as Record<string, string[]> } : {}),
            ...(opts.runDir !== undefined ? { runDir: resolve(opts.runDir as string) } : {}),
            keep: opts.keep === true,
            chain: opts.chain !== false,
          },
          io,
          cancel.signal,
        );
        done(code);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        process.off("exit", onExit);
      }
    });
  const serverFlags = (command: Command) =>
    command
      .option(
        "--data-dir <dir>",
        "where the server keeps its data (default: $XDG_DATA_HOME/trunkline)",
      )
      .option("--database <url>", "a postgres:// URL; without it, SQLite in the data directory");
  const serve = serverFlags(
    program
      .command("serve")
      .description("run the Trunkline server: API, hosted repositories, runs")
      .option("--port <port>", "port to listen on", (v) => positiveIntOrZero("--port", v), 8080)
      .option("--host <host>", "address to listen on", "127.0.0.1")
      .option(
        "--runner-capacity <n>",
        "jobs the embedded runner runs at once; 0 for none (agents only)",
        (v) => wholeOrZero("--runner-capacity", v),
        2,
      )
      .option(
        "--lease-timeout <seconds>",
        "how long a runner may go without a heartbeat before its job is lost",
        (v) => positiveInt("--lease-timeout", v),
        30,
      )
      .option(
        "--server-url <url>",
        "what jobs see as github.server_url (GITHUB_SERVER_URL; api_url is its /api/v1): this server's address as jobs reach it (default https://github.com: @actions/artifact refuses other hosts but *.localhost and *.ghe.com)",
        (v) => serverUrlFlag(v),
      )
      .option(
        "--queue-timeout <minutes>",
        "how long a job may wait for a runner with its labels before it fails (GitHub: 24 hours)",
        (v) => positiveInt("--queue-timeout", v),
        1440,
      )
      .option(
        "--retry-runner-lost <n>",
        "start a run again (its failed jobs, as a new attempt) when its only failures are lost runners, up to n times",
        (v) => wholeOrZero("--retry-runner-lost", v),
        0,
      )
      .option(
        "--job-user <user>",
        "run as root: the user jobs run as (NAME, UID or UID:GID; default: trunkline-job if it exists, else nobody)",
      )
      .option(
        "--jobs-dir <dir>",
        "where the embedded runner's job directories go, outside the data directory (default: $TMPDIR/trunkline-jobs-<uid>)",
      ),
  );
  addActionFlags(serve).action(
    async (opts: {
      port: number;
      host: string;
      dataDir?: string;
      database?: string;
      runnerCapacity: number;
      leaseTimeout: number;
      queueTimeout: number;
      serverUrl?: string;
      retryRunnerLost: number;
      jobUser?: string;
      jobsDir?: string;
    }) => {
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      const { serveCommand } = await import("./serve-command.js");
      done(
        await serveCommand(
          {
            port: opts.port,
            host: opts.host,
            ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
            ...(opts.database ? { database: opts.database } : {}),
            runnerCapacity: opts.runnerCapacity,
            leaseSeconds: opts.leaseTimeout,
            queueTimeoutMinutes: opts.queueTimeout,
            ...(opts.serverUrl ? { serverUrl: opts.serverUrl } : {}),
            retryRunnerLost: opts.retryRunnerLost,
            ...(opts.jobUser !== undefined ? { jobUser: opts.jobUser } : {}),
            ...(opts.jobsDir !== undefined ? { jobsDir: opts.jobsDir } : {}),
            actionSources: actionFlags(opts, process.cwd()),
          },
          io,
          stop.signal,
        ),
      );
    },
  );
  const token = program.command("token").description("API tokens of a server's store");
  serverFlags(
    token
      .command("create")
      .description("create an API token and print it (once)")
      .requiredOption("--name <name>", "what the token is for")
      .option("--role <role>", "admin, maintainer, developer or viewer", "developer"),
  ).action(async (opts: { name: string; role: string; dataDir?: string; database?: string }) => {
    const { tokenCreateCommand } = await import("./serve-command.js");
    done(
      await tokenCreateCommand(
        {
          port: 0,
          host: "",
          name: opts.name,
          role: opts.role,
          ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
          ...(opts.database ? { database: opts.database } : {}),
        },
        io,
      ),
    );
  });
  addTokenApiCommands(token, io, done);
  addApiCommands(program, io, done);
  const actions = program
    .command("actions")
    .description("the remote actions jobs use: mirrors for machines without the internet");
  addActionFlags(
    actions
      .command("mirror")
      .description(
        "copy actions from their git host into a mirror directory (<dir>/<owner>/<repo>, bare git repositories) for --action-mirror",
      )
      .argument("<dir>", "the mirror directory")
      .argument("<action...>", "owner/repo (every branch and tag) or owner/repo@ref (that ref)"),
  ).action(async (dir: string, list: string[], opts: Record<string, unknown>) => {
    const cwd = resolve(program.opts<{ cwd: string }>().cwd);
    const { actionsMirrorCommand } = await import("./actions-command.js");
    done(await actionsMirrorCommand(resolve(cwd, dir), list, actionFlags(opts, cwd), io));
  });
  const agent = program
    .command("agent")
    .description("run jobs for a Trunkline server from this machine")
    .requiredOption("--server <url>", "the server: http(s)://HOST[:PORT], or HOST:PORT", (v) =>
      serverUrl(v, "--server"),
    )
    .option(
      "--token <token>",
      "a maintainer's API token, to register once (default: $TRUNKLINE_TOKEN)",
    )
    .requiredOption(
      "--labels <labels>",
      "this runner's labels, comma-separated (e.g. linux,x64)",
      collectList,
    )
    .option("--capacity <n>", "jobs at once", (v) => positiveInt("--capacity", v), 1)
    .option(
      "--work-dir <dir>",
      "where the registration is kept (default: $XDG_DATA_HOME/trunkline/agent)",
    )
    .option(
      "--jobs-dir <dir>",
      "where jobs run, outside the work directory (default: $TMPDIR/trunkline-jobs-<uid>/agent-<hash of the work directory>)",
    )
    .option(
      "--job-user <user>",
      "run as root: the user jobs run as (NAME, UID or UID:GID; default: trunkline-job if it exists, else nobody)",
    )
    .option(
      "--hide <dirs>",
      "not root: more directories its jobs must not see, comma-separated (the server's data directory, when the agent runs as the server's user)",
      collectList,
    )
    .option("--name <name>", "a name for this runner (default: the host name)");
  addActionFlags(agent, "the server").action(
    async (opts: {
      server: string;
      token?: string;
      labels: string[];
      capacity: number;
      workDir?: string;
      jobsDir?: string;
      jobUser?: string;
      hide?: string[];
      name?: string;
    }) => {
      const stop = new AbortController();
      const onSignal = () => {
        if (stop.signal.aborted) process.exit(130);
        io.err("trunkline: agent stopping: no new jobs; running ones finish (again to quit now)");
        stop.abort();
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const token = opts.token ?? process.env.TRUNKLINE_TOKEN;
      const { agentCommand } = await import("./agent-command.js");
      try {
        done(
          await agentCommand(
            {
              server: opts.server,
              labels: opts.labels,
              capacity: opts.capacity,
              ...(token ? { token } : {}),
              ...(opts.workDir ? { workDir: opts.workDir } : {}),
              ...(opts.jobsDir ? { jobsDir: opts.jobsDir } : {}),
              ...(opts.jobUser !== undefined ? { jobUser: opts.jobUser } : {}),
              ...(opts.hide ? { hide: opts.hide } : {}),
              ...(opts.name ? { name: opts.name } : {}),
              actionSources: actionFlags(opts, process.cwd(), false),
            },
            io,
            stop.signal,
          ),
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    },
  );
  const secrets = program.commands.find((c) => c.name() === "secrets") as Command;
  serverFlags(
    secrets
      .command("rotate-key")
      .description("re-encrypt every secret under a new master key (run with the server stopped)")
      .option("--new-key-file <file>", "the new key (64 hex characters); default: a random one"),
  ).action(async (opts: { dataDir?: string; database?: string; newKeyFile?: string }) => {
    const { rotateKeyCommand } = await import("./rotate-key-command.js");
    done(
      await rotateKeyCommand(
        {
          ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
          ...(opts.database ? { database: opts.database } : {}),
          ...(opts.newKeyFile ? { newKeyFile: opts.newKeyFile } : {}),
        },
        io,
      ),
    );
  });
  return program;
}

/**
 * Runs the CLI and resolves to its exit code. User mistakes print one line, never a stack
 * trace; anything unexpected is reported as a bug with its stack.
 */
export async function main(argv: readonly string[], io: Output = processOutput()): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof TrunklineError && err.userFacing) {
      io.err(`trunkline: ${err.message}`);
      return err instanceof InputError ? ExitCode.Usage : ExitCode.Failed;
    }
    io.err(`trunkline: internal error (please report it): ${(err as Error)?.stack ?? String(err)}`);
    return ExitCode.Internal;
  }
}

/** `--server-url`: an http(s) URL, without a trailing `/`. */
function serverUrlFlag(value: string): string {
  if (!/^https?:\/\/[^/\s]+(\/\S*)?$/.test(value)) {
    throw new InputError(`--server-url ${value}: expected an http(s) URL (https://ci.example.com)`);
  }
  return value.replace(/\/+$/, "");
}
