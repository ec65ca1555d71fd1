import type { JobSpec } from "../compiler/job-spec.js";
import { isTruthy, type StatusFunctions } from "../expressions/evaluate.js";
import { coerceString, evaluateTemplate } from "../expressions/evaluate-template.js";
import type { SecretMasker } from "../logs/secret-masker.js";
import type { Step } from "../workflow/model.js";
import { scalarText } from "../workflow/template.js";
import { hashFiles } from "./hash-files.js";
import type { JobState, StepRecord } from "./job-state.js";

/** The state of a composite action while its steps run. */
export interface CompositeScope {
  readonly steps: Record<string, StepRecord>;
  readonly inputs: Record<string, string>;
  readonly actionPath: string;
  /** The calling step's environment, which the action's steps inherit. */
  readonly env: Record<string, string>;
  failed: boolean;
}

/**
 * A job's expressions as its steps see them: the contexts at this point (the job's, or a
 * composite action's inside one), the status functions of that scope, `hashFiles` over the
 * workspace; a step's condition, `continue-on-error`, fields and display name.
 */
export class StepExpressions {
  /** Functions expressions may call beyond GitHub's built-ins, bound to this job. */
  readonly functions = {
    hashFiles: (...patterns: unknown[]) => hashFiles(this.workspace, patterns),
  };

  constructor(
    private readonly state: JobState,
    private readonly masker: SecretMasker,
    private readonly workspace: string,
    /** The composite action whose steps run now, if any. */
    private readonly current: () => CompositeScope | undefined,
  ) {}

  /** True, false, or the error that makes the condition unusable (which fails the step). */
  condition(expr: string, env: Record<string, string>): boolean | Error {
    // The condition of every step written without `if:`, answered without the evaluator.
    if (expr === "success()") return this.statusFns().success();
    try {
      return isTruthy(
        evaluateTemplate({ kind: "expr", expr }, this.ctx(env), this.statusFns(), this.functions),
      );
    } catch (err) {
      return err as Error;
    }
  }

  /** Whether the step's `continue-on-error` holds (false when it cannot be evaluated). */
  continueOnError(step: Step, env: Record<string, string>): boolean {
    try {
      const v = this.evaluate(step.continueOnError, env, "continue-on-error");
      return v === true || v === "true";
    } catch {
      return false;
    }
  }

  /** A step's field evaluated now; throws naming the field when it cannot be. */
  evaluate(t: Step["run"], env: Record<string, string>, field: string): unknown {
    if (!t) return undefined;
    try {
      return evaluateTemplate(t, this.ctx(env), this.statusFns(), this.functions);
    } catch (err) {
      throw new Error(`${field}: ${(err as Error).message}`);
    }
  }

  /** What the log calls the step: its `name:` (masked), else `Run <first line or action>`. */
  displayName(step: Step, env: Record<string, string>): string {
    if (step.name) {
      try {
        return this.masker.mask(coerceString(this.evaluate(step.name, env, "name")));
      } catch {
        return scalarText(step.name) ?? step.id;
      }
    }
    if (step.run) {
      const text =
        step.run.kind === "string"
          ? step.run.value
          : step.run.kind === "expr"
            ? (step.run.source ?? step.run.expr)
            : "";
      return `Run ${this.masker.mask(text.trim().split("\n")[0] ?? "")}`;
    }
    return `Run ${step.uses ?? step.id}`;
  }

  /** The contexts at this point: the job's, or a composite action's inside one. */
  ctx(env: Record<string, string>): Record<string, unknown> {
    const base = this.state.contexts(env);
    const scope = this.current();
    if (!scope) return base;
    return {
      ...base,
      steps: scope.steps,
      inputs: scope.inputs,
      github: { ...(base.github as object), action_path: scope.actionPath },
    };
  }

  /** Status functions of the job, or of the composite action being run. */
  statusFns(): StatusFunctions {
    const scope = this.current();
    if (!scope) return this.state.statusFunctions();
    return {
      success: () => !scope.failed && !this.state.cancelled,
      failure: () => scope.failed,
      cancelled: () => this.state.cancelled,
    };
  }

  /**
   * The workflow's and the job's `env:` again, now that `github.workspace` and the job's
   * other directories are known, as GitHub's runner evaluates them on the runner.
   */
  evaluateJobEnv(templates: JobSpec["envTemplates"]): void {
    if (!templates) return;
    try {
      const workflow = stringify(
        this.evaluate(templates.workflow, {}, "env") as Record<string, unknown> | undefined,
      );
      const job = stringify(
        this.evaluate(templates.job, workflow, "env") as Record<string, unknown> | undefined,
      );
      this.state.env = { ...workflow, ...job };
    } catch {
      // The compiler evaluated them once already; what it found stands.
    }
  }
}

/** A map's values as strings, as an `env:` holds them. */
export function stringify(value: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value ?? {})) out[k] = coerceString(v);
  return out;
}
