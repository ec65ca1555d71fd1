import { execFile } from "node:child_process";
import { mkdir, readdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { InputError } from "../../../common/errors.js";
import type { Executor } from "../../../executors/executor.js";
import type { ActionContext, ActionRequest, ActionResult } from "../action-host.js";
import type { BuiltinAction, BuiltinEnvironment } from "./builtin-action.js";
import { booleanInput, failure, guarded, resolveInputPath, stringInput } from "./builtin-inputs.js";
import { isWithin } from "./find-files.js";

const run = promisify(execFile);

/**
 * Variables that would point git at another repository, index or object store than the one
 * it is run in; the host may have them set (Trunkline started from a git hook).
 */
const GIT_LOCATION_VARIABLES = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_NAMESPACE",
  "GIT_CEILING_DIRECTORIES",
  "GIT_PREFIX",
];

/**
 * `actions/checkout` (v4) from the repository being built (`env.repoRoot`), never the network.
 * Inputs: `repository` (only the one being built), `ref` (default: the run's commit on its
 * ref; a branch, tag, `refs/...` name or commit SHA), `path` (under the workspace; default the
 * workspace), `fetch-depth` (1; 0 fetches all branches and tags), `fetch-tags`, `clean`
 * (true); credentials inputs are ignored. Like the real action, a directory that is not
 * already a checkout of this repository is emptied first, so a pre-filled workspace ends up
 * a clean checkout. Branches are checked out as local branches, anything else detached.
 * Outputs `ref` and `commit`. Git runs with argument lists, never through a shell, and a ref
 * is never taken for an option.
 */
export const CHECKOUT: BuiltinAction = {
  name: "actions/checkout",
  run: (request, context, env) => guarded(context.signal, () => checkout(request, context, env)),
};

/** What to check out, resolved against the repository being built. */
interface Target {
  readonly commit: string;
  /** Set for a branch: checked out as a local branch tracking `origin/<branch>`. */
  readonly branch?: string;
  /** Set for a tag: fetched as that tag, checked out detached. */
  readonly tag?: string;
  /** The `ref` output: the ref as given (or the run's ref), empty for a commit SHA. */
  readonly ref: string;
}

async function checkout(
  request: ActionRequest,
  context: ActionContext,
  env: BuiltinEnvironment,
): Promise<ActionResult> {
  const inputs = request.with;
  const github = context.state.spec.contexts.github;
  const repository = stringInput(inputs, "repository");
  const built = String(github.repository ?? "");
  if (repository && repository.toLowerCase() !== built.toLowerCase()) {
    return failure(
      `only the repository being built${built ? ` (${built})` : ""} can be checked out locally; '${repository}' is not available without GitHub`,
    );
  }
  const workspace = context.state.paths.workspace;
  const dest = resolveInputPath(stringInput(inputs, "path", "."), workspace, undefined);
  if (!isWithin(workspace, dest)) {
    return failure(`Repository path '${dest}' is not under '${workspace}'`);
  }
  const depthText = stringInput(inputs, "fetch-depth", "1");
  let depth = Number.parseInt(depthText, 10);
  // As the real action: anything that is not a non-negative number fetches all history.
  if (Number.isNaN(depth) || depth < 0) depth = 0;
  const fetchTags = booleanInput(inputs, "fetch-tags", false);
  const clean = booleanInput(inputs, "clean", true);
  for (const unsupported of ["submodules", "lfs"]) {
    const value = stringInput(inputs, unsupported, "false");
    if (value !== "false") {
      context.output.annotate({
        level: "warning",
        message: `actions/checkout: '${unsupported}: ${value}' is not supported locally and is ignored`,
      });
    }
  }
  if (stringInput(inputs, "sparse-checkout")) {
    context.output.annotate({
      level: "warning",
      message:
        "actions/checkout: 'sparse-checkout' is not supported locally: the whole tree is checked out",
    });
  }

  const source = env.repoRoot;
  // With confined job processes, git runs as they do: the workspace is theirs, and a git run
  // by the runner there would obey whatever config (hooks, fsmonitor) an earlier step
  // planted. The source (the runner's, readable by them) is then trusted by name on the
  // command line and for the upload-pack a fetch from it starts.
  const git = new Git(request.env, context, env.executor);
  const sandboxed = env.executor.jobProcess?.(["git"], workspace) !== undefined;
  const trusted = sandboxed ? await realpath(source).catch(() => source) : undefined;
  if (trusted) git.trust(trusted);
  if ((await git.tryRun(source, ["rev-parse", "--git-dir"])) === undefined) {
    return failure(`the repository being built (${source}) is not a git repository`);
  }
  const target = await resolveTarget(git, source, stringInput(inputs, "ref"), github);

  await mkdir(dest, { recursive: true });
  // A folder made here is the runner's: the job's user must own it to check out into it.
  if (sandboxed) env.executor.handOver?.();
  const realDest = await realpath(dest);
  const realSource = await realpath(source);
  // The directory is emptied below: a link must not lead that outside the workspace.
  if (!isWithin(await realpath(workspace), realDest)) {
    return failure(`Repository path '${dest}' leads to '${realDest}', outside the workspace`);
  }
  if (isWithin(realDest, realSource)) {
    return failure(`refusing to check out into '${dest}': it holds the repository being built`);
  }
  context.output.note(`Syncing repository: ${built || source}`);
  if (!(await reusable(git, realDest, realSource, clean))) {
    for (const entry of await readdir(dest)) {
      await rm(join(dest, entry), { recursive: true, force: true });
    }
    await git.run(dest, ["-c", "init.defaultBranch=main", "init", "-q"]);
    await git.run(dest, ["remote", "add", "origin", realSource]);
  }
  // The fetches below, and later steps' own, start upload-pack trusting the source.
  if (trusted) await git.run(dest, ["config", "remote.origin.uploadpack", uploadPack(trusted)]);

  const fetch = ["-c", "protocol.version=2", "fetch", "--prune", "--no-recurse-submodules"];
  const tags = "+refs/tags/*:refs/tags/*";
  const tracking = target.branch ? `refs/remotes/origin/${target.branch}` : undefined;
  if (depth === 0) {
    const shallow = await git.tryRun(dest, ["rev-parse", "--is-shallow-repository"]);
    await git.run(dest, [
      ...fetch,
      ...(shallow?.trim() === "true" ? ["--unshallow"] : []),
      "--tags",
      "origin",
      "+refs/heads/*:refs/remotes/origin/*",
      tags,
    ]);
  }
  const present = await git.tryRun(dest, ["cat-file", "-e", `${target.commit}^{commit}`]);
  if (depth > 0 || present === undefined) {
    const local = tracking ?? (target.tag ? `refs/tags/${target.tag}` : undefined);
    const refspec = local ? `+${target.commit}:${local}` : target.commit;
    await git.run(dest, [
      ...fetch,
      "--no-tags",
      ...(depth > 0 ? [`--depth=${depth}`] : []),
      "origin",
      refspec,
      ...(fetchTags ? [tags] : []),
    ]);
  }
  if (target.branch && tracking) {
    // The branch may have moved on in the repository: its remote ref is the commit built.
    await git.run(dest, ["update-ref", tracking, target.commit]);
    await git.run(dest, ["checkout", "--force", "-B", target.branch, tracking]);
  } else {
    await git.run(dest, ["checkout", "--force", "--detach", target.commit]);
  }
  const head = (await git.run(dest, ["rev-parse", "HEAD"])).trim();
  if (head !== target.commit) {
    return failure(`checked out ${head}, but ${target.commit} was expected`);
  }
  const tree = env.workingTree;
  if (tree && tree.of === target.commit) {
    // The uncommitted changes, left uncommitted: the files are the working tree's, HEAD the commit.
    await git.run(dest, [...fetch, "--no-tags", "origin", tree.commit]);
    await git.run(dest, ["read-tree", "-u", "--reset", tree.commit]);
    await git.run(dest, ["reset", "-q"]);
    context.output.note("With the working tree's uncommitted changes, as uncommitted changes");
  }
  context.output.note(`Checked out ${target.branch || target.ref || target.commit} at ${head}`);
  return { ok: true, outputs: { ref: target.ref, commit: head } };
}

/**
 * Whether `dest` already is a checkout of the source that can be brought up to date in
 * place (cleaning it when asked), as the real action reuses an existing clone.
 */
async function reusable(git: Git, dest: string, source: string, clean: boolean): Promise<boolean> {
  const top = await git.tryRun(dest, ["rev-parse", "--show-toplevel"]);
  if (top === undefined || top.trim() !== dest) return false;
  const origin = await git.tryRun(dest, ["config", "--get", "remote.origin.url"]);
  if (origin?.trim() !== source) return false;
  if (!clean) return true;
  return (
    (await git.tryRun(dest, ["clean", "-ffdx"])) !== undefined &&
    (await git.tryRun(dest, ["reset", "--hard", "HEAD"])) !== undefined
  );
}

const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

/** Resolves the `ref` input (or the run's commit) to a commit of the source repository. */
async function resolveTarget(
  git: Git,
  source: string,
  ref: string,
  github: Readonly<Record<string, unknown>>,
): Promise<Target> {
  // Every name given to git below starts with `refs/` or is hex, once a leading `-` (which
  // git would read as an option) is refused here.
  if (ref.startsWith("-") || /[\0\n\r]/.test(ref)) {
    throw new InputError(`'${ref}' is not a valid ref`);
  }
  const commitOf = async (name: string) =>
    (await git.tryRun(source, ["rev-parse", "--verify", "--quiet", `${name}^{commit}`]))?.trim();
  if (ref === "") {
    const sha = String(github.sha ?? "");
    const runRef = String(github.ref ?? "");
    if (!FULL_SHA.test(sha) || /^0+$/.test(sha)) {
      throw new InputError(`nothing to check out: the run has no commit (github.sha is '${sha}')`);
    }
    const commit = await commitOf(sha);
    if (!commit) throw new InputError(`commit ${sha} is not in the repository being built`);
    return { commit, ref: runRef, ...refKind(runRef) };
  }
  if (FULL_SHA.test(ref)) {
    const commit = await commitOf(ref);
    if (!commit) throw new InputError(`commit ${ref} is not in the repository being built`);
    return { commit, ref: "" };
  }
  const candidates = ref.startsWith("refs/")
    ? [ref]
    : [
        `refs/heads/${ref}`,
        `refs/remotes/origin/${ref}`,
        `refs/tags/${ref}`,
        ...(/^[0-9a-f]{4,}$/i.test(ref) ? [ref] : []),
      ];
  for (const name of candidates) {
    const commit = await commitOf(name);
    if (!commit) continue;
    const remote = name.startsWith("refs/remotes/origin/");
    return { commit, ref, ...refKind(remote ? `refs/heads/${ref}` : name) };
  }
  throw new InputError(`A branch or tag with the name '${ref}' could not be found`);
}

/** Whether a full ref names a branch or a tag, and which. */
function refKind(ref: string): { branch?: string; tag?: string } {
  if (ref.startsWith("refs/heads/")) return { branch: ref.slice("refs/heads/".length) };
  if (ref.startsWith("refs/tags/")) return { tag: ref.slice("refs/tags/".length) };
  return {};
}

/** The upload-pack a job user's fetch from the runner's `source` runs: trusting it by name. */
function uploadPack(source: string): string {
  // Git runs it through the shell.
  return `git -c 'safe.directory=${source.replaceAll("'", "'\\''")}' upload-pack`;
}

/**
 * Runs git with argument lists in the step's environment, logging each command; confined as
 * the job's processes are (the executor's `jobProcess`).
 */
class Git {
  private readonly env: Record<string, string>;
  /** Config given before every command (`-c`), not logged. */
  private config: string[] = [];

  constructor(
    env: Readonly<Record<string, string>>,
    private readonly context: ActionContext,
    private readonly executor: Executor,
  ) {
    this.env = { ...env, GIT_TERMINAL_PROMPT: "0" };
    for (const name of GIT_LOCATION_VARIABLES) delete this.env[name];
  }

  /** The program and arguments that run git with `args` in `cwd`. */
  private command(cwd: string, args: string[]): [string, string[]] {
    const argv = ["git", ...this.config, ...args];
    const [file, ...rest] = this.executor.jobProcess?.(argv, cwd) ?? argv;
    return [file as string, rest];
  }

  /** Trusts the repository at `source` although another user owns it. */
  trust(source: string): void {
    this.config = ["-c", `safe.directory=${source}`];
  }

  /** Runs git; a failure is thrown as an {@link InputError} with git's own words. */
  async run(cwd: string, args: string[]): Promise<string> {
    this.context.output.note(`[command]git ${args.join(" ")}`);
    try {
      const [file, argv] = this.command(cwd, args);
      const { stdout, stderr } = await run(file, argv, {
        cwd,
        env: this.env,
        signal: this.context.signal,
        maxBuffer: 64 * 1024 * 1024,
      });
      for (const line of stderr.split("\n")) if (line.trim()) this.context.output.note(line);
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      const detail = (e.stderr ?? "").trim() || e.message;
      throw new InputError(`git ${args[0] === "-c" ? args[2] : args[0]} failed: ${detail}`);
    }
  }

  /** Runs git quietly; undefined when it fails. */
  async tryRun(cwd: string, args: string[]): Promise<string | undefined> {
    try {
      const [file, argv] = this.command(cwd, args);
      const { stdout } = await run(file, argv, {
        cwd,
        env: this.env,
        signal: this.context.signal,
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch {
      return undefined;
    }
  }
}
