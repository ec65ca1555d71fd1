import type { SecretMasker } from "../logs/secret-masker.js";
import { toAnnotation } from "./command-annotation.js";
import type { Annotation, RunnerSink } from "./runner-events.js";
import {
  CommandScanner,
  DEPRECATED_COMMAND_MESSAGES,
  DISABLED_COMMAND_MESSAGES,
  maskCommand,
  type WorkflowCommand,
} from "./workflow-command.js";

/** Longest partial line kept waiting for its newline before it is processed anyway. */
const MAX_PENDING_LINE = 64 * 1024;

/**
 * Whether a step may use `::set-env::` and `::add-path::`: GitHub's runner reads
 * `ACTIONS_ALLOW_UNSECURE_COMMANDS` from its own environment, then from the env context.
 */
export function allowsUnsecureCommands(env: Readonly<Record<string, string>>): boolean {
  return [process.env.ACTIONS_ALLOW_UNSECURE_COMMANDS, env.ACTIONS_ALLOW_UNSECURE_COMMANDS].some(
    (v) => v?.toLowerCase() === "true",
  );
}

/** What `::set-env::` and `::add-path::` change, where a step allows them. */
export interface UnsecureCommands {
  setEnv(name: string, value: string): void;
  addPath(dir: string): void;
}

/**
 * Turns a step's raw output into runner events: splits it into lines, acts on workflow
 * commands (`::add-mask::`, `::group::`, `::error::`, ...) on either stream, and masks
 * every line before it leaves. Output is processed line by line, so a secret cut across two
 * chunks is whole again before it is masked.
 */
export class StepOutput {
  /** Outputs set with the deprecated `::set-output::`. */
  readonly outputs: Record<string, string> = {};
  /** State saved with the deprecated `::save-state::`. */
  readonly state: Record<string, string> = {};
  /** Errors that fail the step (a disabled command was used). */
  readonly errors: string[] = [];
  private readonly scanner = new CommandScanner();
  private readonly pending = { stdout: "", stderr: "" };
  private groupOpen = false;
  /** Where `set-env` and `add-path` go, when the step allows them; refused otherwise. */
  private unsecure: UnsecureCommands | undefined;

  constructor(
    private readonly job: string,
    private readonly step: number,
    private readonly masker: SecretMasker,
    private readonly sink: RunnerSink,
    private readonly debug: boolean,
  ) {}

  /**
   * Lets `::set-env::` and `::add-path::` work, as GitHub's runner does when
   * `ACTIONS_ALLOW_UNSECURE_COMMANDS` is `true` in its own or the step's environment.
   */
  allowUnsecureCommands(handlers: UnsecureCommands): void {
    this.unsecure = handlers;
  }

  /** Accepts a chunk of standard output. */
  stdout(chunk: string): void {
    this.take("stdout", chunk);
  }

  /** Accepts a chunk of standard error. */
  stderr(chunk: string): void {
    this.take("stderr", chunk);
  }

  /** Processes what is left of both streams; call once the process has exited. */
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.pending[stream];
      this.pending[stream] = "";
      if (rest.length > 0) this.line(stream, rest);
    }
    if (this.groupOpen) this.endGroup();
  }

  /** Emits a message of the runner's own (masked) into the step's log. */
  note(text: string): void {
    this.sink({
      type: "log",
      job: this.job,
      step: this.step,
      stream: "runner",
      text: this.masker.mask(text),
    });
  }

  /** Raises an annotation (masked), shown in the log too. */
  annotate(annotation: Annotation): void {
    const masked: Annotation = {
      ...annotation,
      message: this.masker.mask(annotation.message),
      ...(annotation.title !== undefined ? { title: this.masker.mask(annotation.title) } : {}),
      ...(annotation.file !== undefined ? { file: this.masker.mask(annotation.file) } : {}),
    };
    this.sink({ type: "annotation", job: this.job, step: this.step, annotation: masked });
    const label =
      masked.level === "error" ? "Error" : masked.level === "warning" ? "Warning" : "Notice";
    this.note(`${label}: ${masked.title ? `${masked.title}: ` : ""}${masked.message}`);
  }

  private take(stream: "stdout" | "stderr", chunk: string): void {
    let text = this.pending[stream] + chunk;
    let newline = text.indexOf("\n");
    while (newline !== -1) {
      this.line(stream, text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf("\n");
    }
    if (text.length > MAX_PENDING_LINE) {
      this.line(stream, text);
      text = "";
    }
    this.pending[stream] = text;
  }

  private line(stream: "stdout" | "stderr", raw: string): void {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    const command = this.scanner.scan(line);
    if (command) {
      this.command(command, line);
      return;
    }
    if (this.scanner.outcome === "refused") {
      const message = this.scanner.error ?? "invalid stop-commands token";
      this.annotate({ level: "error", message });
      this.errors.push(message);
      return;
    }
    // The runner prints stop and resume lines, and hides a stop token long enough to be a secret.
    const token = this.scanner.stopToken;
    if (this.scanner.outcome === "stopped" && token !== undefined && token.length > 6)
      this.masker.add(token);
    this.sink({
      type: "log",
      job: this.job,
      step: this.step,
      stream,
      text: this.masker.mask(line),
    });
  }

  private command(raw: WorkflowCommand, line: string): void {
    // Commands that keep a value (a mask, an output, a state) take it as printed; they show
    // nothing of it. Every other command is masked whole, each property and its data, before
    // any handler sees it, so no property can reach a sink unmasked.
    switch (raw.name) {
      case "add-mask":
        this.masker.add(raw.data);
        return;
      case "set-output":
        this.annotate({ level: "warning", message: DEPRECATED_COMMAND_MESSAGES["set-output"] });
        if (raw.properties.name) this.outputs[raw.properties.name] = raw.data;
        return;
      case "save-state":
        this.annotate({ level: "warning", message: DEPRECATED_COMMAND_MESSAGES["save-state"] });
        if (raw.properties.name) this.state[raw.properties.name] = raw.data;
        return;
      case "set-env":
        if (!this.unsecure) break;
        if (!raw.properties.name) {
          const message = "Required field 'name' is missing in ##[set-env] command.";
          this.annotate({ level: "error", message });
          this.errors.push(message);
        } else this.unsecure.setEnv(raw.properties.name, raw.data);
        return;
      case "add-path":
        if (!this.unsecure) break;
        this.unsecure.addPath(raw.data);
        return;
    }
    const cmd = maskCommand(raw, (text) => this.masker.mask(text));
    switch (cmd.name) {
      case "group":
        if (this.groupOpen) this.endGroup();
        this.groupOpen = true;
        this.sink({
          type: "group.started",
          job: this.job,
          step: this.step,
          title: this.masker.mask(cmd.data),
        });
        return;
      case "endgroup":
        if (this.groupOpen) this.endGroup();
        return;
      case "debug":
        if (this.debug) this.note(`##[debug]${cmd.data}`);
        return;
      case "error":
      case "warning":
      case "notice": {
        const annotation = toAnnotation(cmd);
        if (annotation) this.annotate(annotation);
        return;
      }
      case "set-env":
      case "add-path": {
        const message = DISABLED_COMMAND_MESSAGES[cmd.name];
        this.annotate({ level: "error", message });
        this.errors.push(message);
        return;
      }
      case "echo":
        return;
      default:
        this.sink({
          type: "log",
          job: this.job,
          step: this.step,
          stream: "stdout",
          text: this.masker.mask(line),
        });
    }
  }

  private endGroup(): void {
    this.groupOpen = false;
    this.sink({ type: "group.ended", job: this.job, step: this.step });
  }
}
