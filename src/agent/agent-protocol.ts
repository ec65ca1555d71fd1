import type { JobSpec } from "../compiler/job-spec.js";
import type { JobResult } from "../runner/job-runner.js";
import type { RunnerEvent } from "../runner/runner-events.js";

/**
 * The version of the agent protocol this build speaks: leases, reports, credentials. A
 * server refuses an agent of another version at registration and at every claim, naming
 * both, rather than hand it jobs it would misread. Raise it with any change an agent of the
 * previous version could not follow.
 */
export const AGENT_PROTOCOL = 2;

/** The request header in which an agent names its protocol version. */
export const AGENT_PROTOCOL_HEADER = "trunkline-agent-protocol";

/**
 * Why an agent that names `theirs` (a header's or body's value; absent: an agent from before
 * versions) cannot work with this server, or undefined when it can. Pure.
 */
export function protocolProblem(theirs: unknown): string | undefined {
  const value = Array.isArray(theirs) ? theirs[0] : theirs;
  if (value !== undefined && String(value) === String(AGENT_PROTOCOL)) return undefined;
  const named =
    value === undefined
      ? "no protocol version (an agent from before versions)"
      : `agent protocol ${String(value)}`;
  return `this agent speaks ${named}; this server speaks agent protocol ${AGENT_PROTOCOL}: run the same Trunkline version on the agent as on the server`;
}

/** Where a job's source comes from: a git repository (a path or URL) and the commit. */
export interface JobSource {
  readonly repository: string;
  readonly sha: string;
  /** The repository's name on the server, so a remote agent can fetch it over git. */
  readonly name?: string;
}

/** A job as an agent receives it: the compiled spec (never YAML) under a lease. */
export interface AgentLease {
  readonly entryId: string;
  /** The fencing token: every write about this job carries it. */
  readonly token: number;
  readonly spec: JobSpec;
  readonly source: JobSource;
  /**
   * The job's `ACTIONS_RUNTIME_TOKEN`, issued by the server for this run and job, and where
   * the server's runtime services are (`resultsUrl`, set for a remote agent: the address it
   * reached the server by). The agent's own cache service accepts the same token.
   * `idTokenRequest` is the job's `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, for a job with
   * `permissions: id-token: write` only.
   */
  readonly runtime?: {
    readonly token: string;
    readonly resultsUrl?: string;
    readonly idTokenRequest?: string;
    /** The job's `GITHUB_TOKEN` (`secrets.GITHUB_TOKEN`, `github.token`), for its repository. */
    readonly githubToken?: string;
    /** Where, under `resultsUrl`, the repository's cache service is (`_cache/<key>/`). */
    readonly cachePath: string;
  };
}

/** A runner event with the time it happened. */
export type TimedRunnerEvent = RunnerEvent & { readonly at: number };

/** A numbered batch of a job's events. */
export interface EventBatch {
  readonly seq: number;
  readonly events: readonly TimedRunnerEvent[];
}

/** What the server answers to a heartbeat. */
export interface HeartbeatAnswer {
  /** False when the lease is gone (expired, or the job was taken away): stop writing. */
  readonly held: boolean;
  /** True when the job was cancelled: end it (its `always()` steps still run). */
  readonly cancel: boolean;
}

/**
 * How an agent talks to its server. The same interface serves the embedded runner (direct
 * calls) and remote agents (HTTP). Every write carries the lease's fencing token; a write
 * with a stale token answers false and changes nothing. Event batches carry a sequence
 * number per lease, so a retried batch is applied once. A runner reports only about its own
 * leased job, in the closed schema of `runner-report.ts` (the runner's events and one
 * result; never run or job lifecycle events), and only under a lease it claimed itself:
 * the server refuses anything else whole, and over HTTP the agent takes that refusal as the
 * lease being gone.
 */
export interface AgentTransport {
  /** Waits (long-poll) for a job this agent can take; undefined when none came in time. */
  claim(signal: AbortSignal): Promise<AgentLease | undefined>;
  send(lease: AgentLease, seq: number, events: readonly TimedRunnerEvent[]): Promise<boolean>;
  heartbeat(lease: AgentLease): Promise<HeartbeatAnswer>;
  /**
   * Reports the job's end. `tail.events` are the events not sent yet, as batch `tail.seq`;
   * when there are none, `tail.seq` is the number of the last batch sent (0 for none).
   */
  complete(lease: AgentLease, result: JobResult, tail: EventBatch): Promise<boolean>;
  /**
   * `complete`, and in the same exchange a job this agent can take right away, if any: a
   * busy agent then makes one request per job instead of two. Optional: without it the
   * agent claims as usual.
   */
  completeAndClaim?(
    lease: AgentLease,
    result: JobResult,
    tail: EventBatch,
  ): Promise<{ held: boolean; next?: AgentLease }>;
}
