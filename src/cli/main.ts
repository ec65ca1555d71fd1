import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { InputError, TrunklineError } from "../common/errors.js";
import { planCommand } from "./plan-command.js";
import { type Output, processOutput } from "./terminal.js";
import { validateCommand } from "./validate-command.js";

/** Exit codes of the CLI. */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Internal: 70 } as const;

/** `k=v` pairs from a repeatable flag, into a record; a pair without `=` is refused. */
function collectPairs(flag: string) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf("=");
    if (eq <= 0) throw new InputError(`${flag} ${value}: expected KEY=VALUE`);
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
  };
}

function collectList(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").filter(Boolean)];
}

/** Builds the command tree; every action resolves to an exit code through `done`. */
export function buildProgram(io: Output, done: (code: number) => void): Command {
  const program = new Command("trunkline")
    .description("Self-hosted CI/CD: runs GitHub Actions workflows on your own machines.")
    .version("0.1.0")
    .option("-C, --cwd <dir>", "repository to work in", process.cwd())
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();

  program
    .command("validate")
    .description(
      "check workflow files and .trunkline/config.yml; report every problem as file:line:col",
    )
    .argument("[files...]", "workflow files (default: every file in .github/workflows)")
    .option("--json", "print the result as JSON")
    .action(async (files: string[], opts: { json?: boolean }) => {
      const cwd = resolve(program.opts<{ cwd: string }>().cwd);
      done(await validateCommand({ cwd, files, json: opts.json === true }, io));
    });

  program
    .command("plan")
    .description("show which workflows and jobs an event would run, skip, or hold for approval")
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
    .option("-W, --workflow <file>", "plan only this workflow file (repeatable)", collectList)
    .option("--json", "print the plan as JSON")
    .action(async (opts: Record<string, unknown>) => {
      const cwd = resolve(program.opts<{ cwd: string }>().cwd);
      const code = await planCommand(
        {
          cwd,
          event: opts.event as string,
          ...(opts.ref !== undefined ? { ref: opts.ref as string } : {}),
          ...(opts.sha !== undefined ? { sha: opts.sha as string } : {}),
          ...(opts.before !== undefined ? { before: opts.before as string } : {}),
          ...(opts.changedFiles !== undefined
            ? { changedFiles: opts.changedFiles as string[] }
            : {}),
          input: opts.input as Record<string, string>,
          vars: opts.var as Record<string, string>,
          ...(opts.eventFile !== undefined ? { eventFile: opts.eventFile as string } : {}),
          ...(opts.action !== undefined ? { action: opts.action as string } : {}),
          ...(opts.base !== undefined ? { base: opts.base as string } : {}),
          ...(opts.head !== undefined ? { head: opts.head as string } : {}),
          ...(opts.cron !== undefined ? { cron: opts.cron as string } : {}),
          workflows: (opts.workflow as string[] | undefined) ?? [],
          json: opts.json === true,
        },
        io,
      );
      done(code);
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
