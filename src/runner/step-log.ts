import type { JobSpec } from "../compiler/job-spec.js";
import type { SecretMasker } from "../logs/secret-masker.js";
import type { RunnerSink, StepStage, StepStatus } from "./runner-events.js";
import { StepOutput } from "./step-output.js";

/**
 * What a job says about its steps: their start and end events, the runner's own (masked)
 * lines, and each step's output processor.
 */
export class StepLog {
  constructor(
    private readonly spec: JobSpec,
    private readonly sink: RunnerSink,
    private readonly masker: SecretMasker,
  ) {}

  /** Announces a step and gives it its output processor. */
  begin(step: number, name: string, stage: StepStage): { output: StepOutput; began: number } {
    this.started(step, name, stage);
    const output = new StepOutput(this.spec.key, step, this.masker, this.sink, this.debug());
    return { output, began: performance.now() };
  }

  /** A step's end, with its outcome (before `continue-on-error`) and conclusion. */
  finished(
    step: number,
    name: string,
    stage: StepStage,
    outcome: StepStatus,
    conclusion: StepStatus,
    durationMs: number,
  ): void {
    this.sink({
      type: "step.finished",
      job: this.spec.key,
      step,
      name,
      stage,
      outcome,
      conclusion,
      durationMs,
    });
  }

  /** A step's start. */
  started(step: number, name: string, stage: StepStage): void {
    this.sink({ type: "step.started", job: this.spec.key, step, name, stage });
  }

  /** A line of the runner's own, masked, in the job's log or a step's. */
  say(text: string, step?: number): void {
    this.sink({
      type: "log",
      job: this.spec.key,
      ...(step !== undefined ? { step } : {}),
      stream: "runner",
      text: this.masker.mask(text),
    });
  }

  /** Whether `::debug::` lines are shown (`ACTIONS_STEP_DEBUG`). */
  debug(): boolean {
    const { vars, secrets } = this.spec.contexts;
    return vars.ACTIONS_STEP_DEBUG === "true" || secrets.ACTIONS_STEP_DEBUG === "true";
  }
}
