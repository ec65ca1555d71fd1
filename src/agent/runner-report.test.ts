import { expect, test } from "vitest";
import { ErrorCode, TrunklineError } from "../common/errors.js";
import { checkRunnerEvents, checkRunnerResult } from "./runner-report.js";

const JOB = "ci.yml / lint";
const at = 1_700_000_000_000;

// Every event the job runner makes, as it makes them: all are taken.
const ACCEPTED: unknown[] = [
  { type: "step.started", job: JOB, step: 1, name: "Run echo", stage: "main", at },
  {
    type: "step.finished",
    job: JOB,
    step: 1,
    name: "Run echo",
    stage: "post",
    outcome: "failure",
    conclusion: "success",
    durationMs: 12,
    at,
  },
  { type: "log", job: JOB, stream: "runner", text: "Preparing", at },
  { type: "log", job: JOB, step: 2, stream: "stderr", text: "", at, ignored: undefined },
  { type: "group.started", job: JOB, step: 1, title: "Install", at },
  { type: "group.ended", job: JOB, step: 1, at },
  {
    type: "annotation",
    job: JOB,
    step: 3,
    annotation: { level: "warning", message: "m", file: "a.ts", line: -1, endColumn: 4 },
    at,
  },
  { type: "annotation", job: JOB, annotation: { level: "error", message: "setup failed" }, at },
  { type: "summary", job: JOB, step: 1, markdown: "# done", at },
];

test("every event the job runner makes is taken, as it is", () => {
  expect(checkRunnerEvents(ACCEPTED, JOB)).toBe(ACCEPTED);
});

const log = { type: "log", job: JOB, stream: "stdout", text: "x", at };

// What a runner may not say (403) and what it says malformed (400), with the place named.
const REFUSED: [what: string, event: unknown, code: ErrorCode, message: string][] = [
  [
    "another job's log",
    { ...log, job: "ci.yml / deploy-production" },
    ErrorCode.Forbidden,
    "events[0].job: this lease is for job 'ci.yml / lint', not 'ci.yml / deploy-production'",
  ],
  [
    "a job's end",
    {
      type: "job.finished",
      job: JOB,
      name: "lint",
      workflow: "ci.yml",
      status: "success",
      durationMs: 1,
      outputs: {},
      at,
    },
    ErrorCode.Forbidden,
    "events[0].type: a runner may not send 'job.finished' (only step.started, step.finished, log, group.started, group.ended, annotation, summary); run and job lifecycle events come from the server",
  ],
  [
    "a run's end",
    { type: "run.finished", runId: "r", status: "success", durationMs: 1, at },
    ErrorCode.Forbidden,
    "events[0].type: a runner may not send 'run.finished' (only step.started, step.finished, log, group.started, group.ended, annotation, summary); run and job lifecycle events come from the server",
  ],
  [
    "a field the type does not have",
    { ...log, runId: "another-run" },
    ErrorCode.Forbidden,
    "events[0].runId: not a field a runner may send here",
  ],
  [
    "a field an annotation does not have",
    { type: "annotation", job: JOB, annotation: { level: "notice", message: "m", job: "x" }, at },
    ErrorCode.Forbidden,
    "events[0].annotation.job: not a field a runner may send here",
  ],
  [
    "an inherited name as a type",
    { ...log, type: "constructor" },
    ErrorCode.Forbidden,
    "events[0].type: a runner may not send 'constructor' (only step.started, step.finished, log, group.started, group.ended, annotation, summary); run and job lifecycle events come from the server",
  ],
  [
    "no job",
    { type: "log", stream: "stdout", text: "x", at },
    ErrorCode.InvalidInput,
    "events[0].job: required",
  ],
  [
    "text of the wrong type",
    { ...log, text: 5 },
    ErrorCode.InvalidInput,
    "events[0].text: must be a string",
  ],
  [
    "an unknown stream",
    { ...log, stream: "stdin" },
    ErrorCode.InvalidInput,
    "events[0].stream: must be one of stdout, stderr, runner",
  ],
  [
    "a step that is not a number",
    { ...log, step: 1.5 },
    ErrorCode.InvalidInput,
    "events[0].step: must be a whole number",
  ],
  [
    "no time",
    { type: "log", job: JOB, stream: "stdout", text: "x" },
    ErrorCode.InvalidInput,
    "events[0].at: required",
  ],
  ["not an object", "log", ErrorCode.InvalidInput, "events[0]: must be an object"],
  ["no type", { job: JOB }, ErrorCode.InvalidInput, "events[0].type: must be a string"],
];

test.each(REFUSED)("refused: %s", (_what, event, code, message) => {
  const thrown = catching(() => checkRunnerEvents([event], JOB));
  expect([thrown.code, thrown.message]).toEqual([code, message]);
});

test("a batch is refused whole, and its place is named", () => {
  const thrown = catching(() =>
    checkRunnerEvents([log, log, { ...log, job: "other" }], JOB, "final.events"),
  );
  expect(thrown.message).toBe(
    "final.events[2].job: this lease is for job 'ci.yml / lint', not 'other'",
  );
});

test("a result keeps to its three fields; outputs are strings", () => {
  const ok = { status: "failure", outputs: { a: "1" }, reason: "timed out" };
  expect(checkRunnerResult(ok)).toBe(ok);
  const refused: [unknown, ErrorCode, string][] = [
    [
      { status: "success", outputs: {}, job: "deploy" },
      ErrorCode.Forbidden,
      "result.job: not a field a runner may send here",
    ],
    [
      { status: "done", outputs: {} },
      ErrorCode.InvalidInput,
      "result.status: must be one of success, failure, cancelled, skipped",
    ],
    [
      { status: "success", outputs: { a: 1 } },
      ErrorCode.InvalidInput,
      "result.outputs.a: must be a string",
    ],
    [{ status: "success" }, ErrorCode.InvalidInput, "result.outputs: must be an object"],
    [
      { status: "failure", outputs: {}, reason: "runner_lost" },
      ErrorCode.Forbidden,
      "result.reason: 'runner_lost' is the server's to give (a runner that reported it would have its run retried as lost)",
    ],
    [
      { status: "failure", outputs: {}, reason: "server_restarted" },
      ErrorCode.Forbidden,
      "result.reason: 'server_restarted' is the server's to give (a runner that reported it would have its run retried as lost)",
    ],
  ];
  for (const [result, code, message] of refused) {
    const thrown = catching(() => checkRunnerResult(result));
    expect([thrown.code, thrown.message]).toEqual([code, message]);
  }
});

function catching(fn: () => unknown): TrunklineError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TrunklineError) return err;
    throw err;
  }
  throw new Error("nothing was thrown");
}
