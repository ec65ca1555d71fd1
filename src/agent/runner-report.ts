import { ForbiddenError, InputError } from "../common/errors.js";
import type { JobResult } from "../runner/job-runner.js";
import type { Annotation } from "../runner/runner-events.js";
import type { TimedRunnerEvent } from "./agent-protocol.js";

/**
 * What a runner may report about the job it leased, checked where the report comes in: the
 * closed schema of the agent protocol. Runners report, the engine decides: run and job
 * lifecycle events (`run.*`, `job.*`) come only from the engine, so a runner may send only
 * the events the job runner makes (`RunnerEvent`, with the time it happened) and one result.
 *
 * Two kinds of refusal:
 * - saying what a runner may not say ({@link ForbiddenError}, 403): an event about another
 *   job, an event type that is not a runner's, or a field the type does not have (a run id,
 *   an attempt);
 * - saying what it may say, malformed ({@link InputError}, 400): a known field of the wrong
 *   type, or a required one missing.
 *
 * A batch is refused whole: nothing of it is applied.
 */

/** How one field is checked. */
type Kind =
  | "string"
  | "integer"
  | "number"
  | { readonly oneOf: readonly string[] }
  | { readonly object: Shape<Annotation> };

/** Every field of `T`, each with its kind and whether it may be left out. */
type Shape<T> = { readonly [K in keyof T]-?: { readonly kind: Kind; readonly optional?: true } };

type EventOf<T extends TimedRunnerEvent["type"]> = Extract<TimedRunnerEvent, { type: T }>;

const STATUS = { oneOf: ["success", "failure", "cancelled", "skipped"] } as const;
const STAGE = { oneOf: ["pre", "main", "post"] } as const;

const ANNOTATION: Shape<Annotation> = {
  level: { kind: { oneOf: ["error", "warning", "notice"] } },
  message: { kind: "string" },
  title: { kind: "string", optional: true },
  file: { kind: "string", optional: true },
  line: { kind: "integer", optional: true },
  endLine: { kind: "integer", optional: true },
  column: { kind: "integer", optional: true },
  endColumn: { kind: "integer", optional: true },
};

/**
 * The runner's events, field by field. Typed against `RunnerEvent`, so an event type or a
 * field added there and not here (or the reverse) does not compile.
 */
const EVENTS: { readonly [T in TimedRunnerEvent["type"]]: Shape<EventOf<T>> } = {
  "step.started": {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer" },
    name: { kind: "string" },
    stage: { kind: STAGE },
    at: { kind: "number" },
  },
  "step.finished": {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer" },
    name: { kind: "string" },
    stage: { kind: STAGE },
    outcome: { kind: STATUS },
    conclusion: { kind: STATUS },
    durationMs: { kind: "number" },
    at: { kind: "number" },
  },
  log: {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer", optional: true },
    stream: { kind: { oneOf: ["stdout", "stderr", "runner"] } },
    text: { kind: "string" },
    at: { kind: "number" },
  },
  "group.started": {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer" },
    title: { kind: "string" },
    at: { kind: "number" },
  },
  "group.ended": {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer" },
    at: { kind: "number" },
  },
  annotation: {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer", optional: true },
    annotation: { kind: { object: ANNOTATION } },
    at: { kind: "number" },
  },
  summary: {
    type: { kind: "string" },
    job: { kind: "string" },
    step: { kind: "integer" },
    markdown: { kind: "string" },
    at: { kind: "number" },
  },
};

/**
 * Reasons only the server gives a job: `runner_lost` (a lease that ran out or a removed
 * runner; `serve --retry-runner-lost` starts such runs again) and `server_restarted`.
 */
const SERVER_REASONS: readonly string[] = ["runner_lost", "server_restarted"];

const RESULT: Shape<JobResult> = {
  status: { kind: STATUS },
  // Checked apart: a map of strings.
  outputs: { kind: "string" },
  reason: { kind: "string", optional: true },
};

/**
 * A batch of events from the runner holding the lease of job `jobKey`, checked against the
 * closed schema; resolves to the events as given. `where` names the batch in messages
 * (`events`, `final.events`).
 */
export function checkRunnerEvents(
  events: readonly unknown[],
  jobKey: string,
  where = "events",
): TimedRunnerEvent[] {
  events.forEach((event, i) => {
    const place = `${where}[${i}]`;
    if (!isRecord(event)) throw new InputError(`${place}: must be an object`);
    const type = event.type;
    if (typeof type !== "string") throw new InputError(`${place}.type: must be a string`);
    if (!Object.hasOwn(EVENTS, type))
      throw new ForbiddenError(
        `${place}.type: a runner may not send '${type}' (only ${Object.keys(EVENTS).join(", ")}); run and job lifecycle events come from the server`,
      );
    checkFields(event, EVENTS[type as TimedRunnerEvent["type"]], place);
    if (event.job !== jobKey)
      throw new ForbiddenError(
        `${place}.job: this lease is for job '${jobKey}', not '${String(event.job)}'`,
      );
  });
  return events as TimedRunnerEvent[];
}

/** A job's result from its runner, checked against the closed schema. */
export function checkRunnerResult(result: unknown, where = "result"): JobResult {
  if (!isRecord(result)) throw new InputError(`${where}: must be an object`);
  checkFields(result, RESULT, where, ["outputs"]);
  if (typeof result.reason === "string" && SERVER_REASONS.includes(result.reason))
    throw new ForbiddenError(
      `${where}.reason: '${result.reason}' is the server's to give (a runner that reported it would have its run retried as lost)`,
    );
  const outputs = result.outputs;
  if (!isRecord(outputs)) throw new InputError(`${where}.outputs: must be an object`);
  for (const [name, value] of Object.entries(outputs))
    if (typeof value !== "string")
      throw new InputError(`${where}.outputs.${name}: must be a string`);
  return result as unknown as JobResult;
}

function checkFields(
  value: Record<string, unknown>,
  shape: Readonly<Record<string, { readonly kind: Kind; readonly optional?: true }>>,
  place: string,
  apart: readonly string[] = [],
): void {
  // A field set to undefined is not there (it is not even sent over HTTP).
  for (const [key, v] of Object.entries(value))
    if (v !== undefined && !Object.hasOwn(shape, key))
      throw new ForbiddenError(`${place}.${key}: not a field a runner may send here`);
  for (const [key, field] of Object.entries(shape)) {
    if (apart.includes(key)) continue;
    const v = value[key];
    if (v === undefined) {
      if (field.optional) continue;
      throw new InputError(`${place}.${key}: required`);
    }
    checkKind(v, field.kind, `${place}.${key}`);
  }
}

function checkKind(value: unknown, kind: Kind, place: string): void {
  if (kind === "string") {
    if (typeof value !== "string") throw new InputError(`${place}: must be a string`);
  } else if (kind === "integer") {
    if (!Number.isSafeInteger(value)) throw new InputError(`${place}: must be a whole number`);
  } else if (kind === "number") {
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new InputError(`${place}: must be a number`);
  } else if ("oneOf" in kind) {
    if (typeof value !== "string" || !kind.oneOf.includes(value))
      throw new InputError(`${place}: must be one of ${kind.oneOf.join(", ")}`);
  } else {
    if (!isRecord(value)) throw new InputError(`${place}: must be an object`);
    checkFields(value, kind.object, place);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
