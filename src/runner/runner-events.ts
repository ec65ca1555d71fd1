import type { Annotation } from "./command-annotation.js";

/** How a step ended: `outcome` before `continue-on-error`, `conclusion` after it. */
export type StepStatus = "success" | "failure" | "cancelled" | "skipped";

/** A job's result as `needs.<id>.result` shows it. */
export type JobStatus = "success" | "failure" | "cancelled" | "skipped";

/** An annotation from `::error::`, `::warning::` or `::notice::` (or raised by the runner). */
export type { Annotation };

/**
 * What a runner reports while it runs a job. Every text in these events is already masked:
 * a sink may store or print it as it is.
 */
export type RunnerEvent =
  | {
      readonly type: "step.started";
      readonly job: string;
      readonly step: number;
      readonly name: string;
      readonly stage: StepStage;
    }
  | {
      readonly type: "step.finished";
      readonly job: string;
      readonly step: number;
      readonly name: string;
      readonly stage: StepStage;
      readonly outcome: StepStatus;
      readonly conclusion: StepStatus;
      readonly durationMs: number;
    }
  | {
      readonly type: "log";
      readonly job: string;
      readonly step?: number;
      readonly stream: "stdout" | "stderr" | "runner";
      readonly text: string;
    }
  | {
      readonly type: "group.started";
      readonly job: string;
      readonly step: number;
      readonly title: string;
    }
  | { readonly type: "group.ended"; readonly job: string; readonly step: number }
  | {
      readonly type: "annotation";
      readonly job: string;
      readonly step?: number;
      readonly annotation: Annotation;
    }
  | {
      readonly type: "summary";
      readonly job: string;
      readonly step: number;
      readonly markdown: string;
    };

/** `pre`, main, or `post` part of a step (actions may have all three). */
export type StepStage = "pre" | "main" | "post";

/** Receives runner events as they happen. Must not throw. */
export type RunnerSink = (event: RunnerEvent) => void;
