/**
 * An event that may start workflows, as Trunkline sees it: enough to decide which workflows
 * fire and to build the `github` context. Pure data.
 */
export interface TriggerEvent {
  /** GitHub's event name: push, pull_request, workflow_dispatch, schedule, ... */
  readonly name: string;
  /** The ref the run is for: the pushed ref, `refs/pull/N/merge`, or the dispatched branch. */
  readonly ref: string;
  /** The commit the run is for. */
  readonly sha: string;
  /** Activity type (`opened`, `synchronize`, ...) for events that have one. */
  readonly action?: string;
  /** For pull requests: the target branch and the source branch, without `refs/heads/`. */
  readonly baseRef?: string;
  readonly headRef?: string;
  /** Files changed by the push or pull request; undefined when not known. */
  readonly changedFiles?: readonly string[];
  /** `workflow_dispatch` inputs as given (strings, coerced against their definitions later). */
  readonly inputs?: Readonly<Record<string, string>>;
  /** For pull requests: the head is in another repository (a fork); such runs get no secrets. */
  readonly fromFork?: boolean;
  /** For `schedule`: the cron expression that fired, when known. */
  readonly cron?: string;
  /**
   * For `push` and `pull_request`: the message of the head commit (the pushed one, or the
   * pull request's head), which may ask to skip workflows (`[skip ci]`); undefined when unknown.
   */
  readonly headCommitMessage?: string;
  /** For `workflow_run`: the run that triggered it (its workflow's name and head branch). */
  readonly workflowRun?: {
    readonly name: string;
    readonly headBranch?: string;
    /** How many `workflow_run` links led here: 1 for a run triggered by a push's run. */
    readonly depth?: number;
  };
  /** The webhook payload, for `github.event.*`; built from the fields above when absent. */
  readonly payload?: Readonly<Record<string, unknown>>;
  readonly repository?: string;
  readonly actor?: string;
  /**
   * The server jobs name as `github.server_url` (`github.api_url` is its `/api/v1`); GitHub's
   * by default, which `@actions/artifact` requires (it refuses other hosts as GHES).
   */
  readonly serverUrl?: string;
}

/** A ref split into its kind and short name. */
export interface RefParts {
  readonly type: "branch" | "tag" | "pull" | "other";
  readonly name: string;
}

/** `refs/heads/x` is branch x, `refs/tags/v1` is tag v1, `refs/pull/3/merge` is pull `3/merge`. */
export function parseRef(ref: string): RefParts {
  if (ref.startsWith("refs/heads/")) return { type: "branch", name: ref.slice(11) };
  if (ref.startsWith("refs/tags/")) return { type: "tag", name: ref.slice(10) };
  if (ref.startsWith("refs/pull/")) return { type: "pull", name: ref.slice(10) };
  return { type: "other", name: ref };
}

/** The activity types a `pull_request` trigger listens to when it names none. */
export const DEFAULT_PULL_REQUEST_TYPES: readonly string[] = ["opened", "synchronize", "reopened"];

/** Builds the `github` context GitHub would give a run for this event. */
export function githubContext(
  event: TriggerEvent,
  workflow?: { name: string; file: string },
  run: { id: string; number: string; attempt?: string } = { id: "0", number: "0" },
): Record<string, unknown> {
  const ref = parseRef(event.ref);
  const repository = event.repository ?? "local/repository";
  const [owner] = repository.split("/");
  return {
    event_name: event.name,
    event: event.payload ?? defaultPayload(event),
    ref: event.ref,
    ref_name: ref.name,
    ref_type: ref.type === "tag" ? "tag" : "branch",
    sha: event.sha,
    head_ref: event.name.startsWith("pull_request") ? (event.headRef ?? "") : "",
    base_ref: event.name.startsWith("pull_request") ? (event.baseRef ?? "") : "",
    repository,
    repository_owner: owner,
    actor: event.actor ?? "trunkline",
    triggering_actor: event.actor ?? "trunkline",
    workflow: workflow?.name ?? "",
    workflow_ref: workflow ? `${repository}/${workflow.file}@${event.ref}` : "",
    // act's defaults: the artifact client refuses hosts it takes for GitHub Enterprise
    // Server (anything but github.com, *.ghe.com and *.localhost), `http://localhost` included.
    server_url: event.serverUrl ?? "https://github.com",
    api_url: event.serverUrl ? `${event.serverUrl}/api/v1` : "https://api.github.com",
    graphql_url: event.serverUrl
      ? `${event.serverUrl}/api/graphql`
      : "https://api.github.com/graphql",
    run_id: run.id,
    run_number: run.number,
    run_attempt: run.attempt ?? "1",
    retention_days: "90",
  };
}

function defaultPayload(event: TriggerEvent): Record<string, unknown> {
  if (event.name === "workflow_dispatch") return { inputs: event.inputs ?? {}, ref: event.ref };
  if (event.name.startsWith("pull_request")) {
    return {
      action: event.action ?? "opened",
      pull_request: {
        base: { ref: event.baseRef ?? "" },
        head: { ref: event.headRef ?? "", sha: event.sha },
      },
    };
  }
  if (event.name === "schedule") return { schedule: event.cron ?? "" };
  return { ref: event.ref, after: event.sha, ...(event.action ? { action: event.action } : {}) };
}
