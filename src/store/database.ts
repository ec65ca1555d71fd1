import type { ColumnType, Generated } from "kysely";

/**
 * The tables of Trunkline's store, as Kysely sees them. Times are milliseconds since the
 * epoch; JSON columns hold text. The same schema serves SQLite and Postgres.
 */
export interface Database {
  repositories: RepositoriesTable;
  runs: RunsTable;
  jobs: JobsTable;
  steps: StepsTable;
  log_chunks: LogChunksTable;
  annotations: AnnotationsTable;
  artifacts: ArtifactsTable;
  environments: EnvironmentsTable;
  secrets: SecretsTable;
  tokens: TokensTable;
  webhook_deliveries: WebhookDeliveriesTable;
  schedule_fires: ScheduleFiresTable;
  runners: RunnersTable;
  queue: QueueTable;
  queue_batches: QueueBatchesTable;
  servers: ServersTable;
  events: EventsTable;
  signing_keys: SigningKeysTable;
  approvals: ApprovalsTable;
}

/** A reviewer's decision on a deployment waiting for approval (written by `deploy/approvals.ts` only). */
export interface ApprovalsTable {
  id: string;
  run_id: string;
  attempt: number;
  environment: string;
  /** `approved` or `rejected`. */
  state: string;
  /** The reviewer: their token's name. */
  actor: string;
  comment: string;
  at: number;
}

/** A key the server signs OIDC tokens with (written by `runtime/oidc-keys.ts` only). */
export interface SigningKeysTable {
  kid: string;
  /** The JWS algorithm (`RS256`). */
  algorithm: string;
  /** The public key as a JWK (JSON), published at `/.well-known/jwks`. */
  public_jwk: string;
  /** The private key (PKCS#8 PEM), sealed with the master key. */
  private_key: string;
  created_at: number;
}

/** A repository the server builds: hosted (git smart HTTP) or reached by webhooks. */
export interface RepositoriesTable {
  id: string;
  name: string;
  default_branch: string;
  created_at: number;
  /** Where a mirrored repository is fetched from; null for one hosted here. */
  remote_url: ColumnType<string | null, string | null | undefined, string | null>;
  /** Its `owner/name` in webhook deliveries; null for one hosted here. */
  remote_name: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * The statuses of a run (or job) that has not ended yet. `waiting`: a job its environment
 * holds (a wait timer, an approval), GitHub's status for it.
 */
export const UNFINISHED_STATUSES: readonly string[] = ["queued", "waiting", "in_progress"];

/** Every status a run can have: not ended yet, then how it ended (`waiting` is a job's only). */
export const RUN_STATUSES: readonly string[] = [
  "queued",
  "in_progress",
  "success",
  "failure",
  "cancelled",
];

/** One run of one workflow for one event; reruns are new attempts of the same run. */
export interface RunsTable {
  id: string;
  repository_id: string;
  number: number;
  attempt: number;
  workflow_file: string;
  workflow_name: string;
  event: string;
  ref: string;
  sha: string;
  status: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** The event payload, JSON. */
  payload: string;
  /** The trigger event (a `TriggerEvent`), JSON, so a re-run replays it. */
  trigger: ColumnType<string, string | undefined, string>;
  /** The server process running the run now (a `servers` id); null when none is. */
  owner: ColumnType<string | null, string | null | undefined, string | null>;
  /** 1 once a cancel was asked of a process other than the owner. */
  cancel_requested: ColumnType<number, number | undefined, number>;
}

/** One job (one matrix combination) of a run attempt. */
export interface JobsTable {
  id: string;
  run_id: string;
  attempt: number;
  key: string;
  name: string;
  status: string;
  reason: string | null;
  started_at: number | null;
  finished_at: number | null;
  /** Job outputs, JSON. */
  outputs: string;
}

/** One step of a job (pre, main or post). */
export interface StepsTable {
  job_id: string;
  number: number;
  name: string;
  stage: string;
  outcome: string | null;
  conclusion: string | null;
  started_at: number;
  finished_at: number | null;
}

/** A job's log, in chunks that start at a line offset: a retried chunk replaces itself. */
export interface LogChunksTable {
  job_id: string;
  /** The number of the chunk's first line in the job's log, from 0. */
  offset: number;
  /** The chunk's lines, already masked, joined with newlines. */
  lines: string;
  line_count: number;
}

/** An annotation a job raised. */
export interface AnnotationsTable {
  id: Generated<number>;
  job_id: string;
  level: string;
  message: string;
  title: string | null;
  file: string | null;
  line: number | null;
  column: number | null;
}

/** An artifact a run uploaded (its content lives in the artifact store). */
export interface ArtifactsTable {
  id: string;
  run_id: string;
  name: string;
  size: number;
  digest: string;
  created_at: number;
}

/** A repository's environment and its protection rules (JSON). */
export interface EnvironmentsTable {
  repository_id: string;
  name: string;
  rules: string;
}

/** A secret, encrypted at rest; never returned by the API. */
export interface SecretsTable {
  id: string;
  /** `organization`, `repository` or `environment`. */
  scope: string;
  /** "" for organisation secrets, so the unique key has no NULLs. */
  repository_id: string;
  /** "" unless the scope is an environment. */
  environment: string;
  name: string;
  ciphertext: string;
  created_at: number;
  updated_at: number;
}

/** An API token, stored hashed. */
export interface TokensTable {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
}

/** A webhook delivery seen, so a repeated `X-GitHub-Delivery` creates no second run. */
export interface WebhookDeliveriesTable {
  delivery_id: string;
  repository_id: string;
  event: string;
  received_at: number;
}

/** A schedule that fired in a minute (epoch ms at the minute's start), at most once. */
export interface ScheduleFiresTable {
  repository_id: string;
  workflow_file: string;
  cron: string;
  minute: number;
}

/** A runner agent registered with the server; its token is stored hashed. */
export interface RunnersTable {
  id: string;
  name: string;
  /** Its labels, lower-cased, JSON. */
  labels: string;
  capacity: number;
  token_hash: string;
  created_at: number;
  last_seen_at: number;
}

/** A job handed to runners: queued, then leased (with a fencing token), then done or lost. */
export interface QueueTable {
  id: string;
  run_id: string;
  job_key: string;
  attempt: number;
  /** `runs-on` labels, lower-cased, JSON. */
  labels: string;
  /** The JobSpec, sealed (it holds the job's secrets). */
  spec: string;
  /** `queued`, `leased`, `done` or `lost`. */
  state: string;
  runner_id: string | null;
  /** Grows by one with every lease; a write with an older token is refused. */
  lease_token: ColumnType<number, number | undefined, number>;
  lease_expires_at: number | null;
  enqueued_at: number;
  leased_at: number | null;
  finished_at: number | null;
  /** The job's result (status, outputs, reason), JSON, once done. */
  result: string | null;
  /** The last event batch from the runner that is in the store. */
  applied_seq: ColumnType<number, number | undefined, number>;
  /** 1 once the job was cancelled: the runner hears it with its next heartbeat. */
  cancel_requested: ColumnType<number, number | undefined, number>;
}

/**
 * An event batch a runner handed to a server process other than the one running the job's
 * run (or to one that was starting): kept until the run's own process applies it.
 */
export interface QueueBatchesTable {
  entry_id: string;
  seq: number;
  /** The batch's events, JSON. */
  events: string;
}

/** A server process on this store; it renews `seen_at` while it lives. */
export interface ServersTable {
  id: string;
  /** The machine's host name. */
  host: string;
  /** The process id on that machine. */
  pid: number;
  started_at: number;
  seen_at: number;
}

/** The append-only event log: every state change, in order. */
export interface EventsTable {
  id: Generated<number>;
  run_id: string | null;
  type: string;
  at: number;
  /** The event, JSON. */
  data: ColumnType<string, string, never>;
}
