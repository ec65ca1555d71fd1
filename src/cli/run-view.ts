import type { RunEvent, RunStatus } from "../engine/run-events.js";
import type { JobStatus } from "../runner/runner-events.js";
import type { Output } from "./terminal.js";

/** Job colours for log prefixes, cycled in the order jobs start. */
const JOB_COLOURS = ["cyan", "magenta", "blue", "yellow", "green"] as const;

/**
 * The terminal view of a run: live log lines prefixed by their job, steps as they start and
 * end, groups indented, a progress line (jobs done / running / waiting) on a TTY, and a final
 * table of jobs with their status and duration.
 */
export class RunView {
  private readonly colours = new Map<string, (s: string) => string>();
  private readonly names = new Map<string, string>();
  private readonly depth = new Map<string, number>();
  private readonly finished = new Map<
    string,
    { status: JobStatus; durationMs: number; reason?: string }
  >();
  private readonly annotations: string[] = [];
  private runningJobs = new Set<string>();
  private queuedJobs = new Set<string>();
  private statusShown = false;
  /** Jobs a wait timer holds, with when it runs out: counted down on the progress line. */
  private readonly timers = new Map<string, number>();
  private ticker: NodeJS.Timeout | undefined;
  private workflowCount = 1;
  /** Jobs in the order they were first seen. */
  private readonly order: string[] = [];
  private width = 0;

  constructor(
    private readonly io: Output,
    private readonly tty: boolean,
  ) {}

  /** Shows one event. */
  handle(event: RunEvent): void {
    const c = this.io.colors;
    if (
      (event.type === "job.queued" || event.type === "job.finished") &&
      !this.order.includes(event.job)
    ) {
      this.order.push(event.job);
    }
    switch (event.type) {
      case "run.started":
        this.workflowCount = event.workflows.length;
        break;
      case "job.queued":
        this.names.set(event.job, event.name);
        this.queuedJobs.add(event.job);
        break;
      case "job.waiting":
        this.print(`${this.prefix(event.job)}${c.yellow("⏸")} ${event.detail}`);
        if (event.reason === "timer" && event.until !== undefined)
          this.timers.set(event.job, event.until);
        else this.timers.delete(event.job);
        break;
      case "job.started":
        this.timers.delete(event.job);
        this.names.set(event.job, event.name);
        this.queuedJobs.delete(event.job);
        this.runningJobs.add(event.job);
        this.width = Math.max(this.width, this.short(event.job).length);
        break;
      case "step.started":
        this.print(`${this.prefix(event.job)}${c.bold(`▶ ${event.name}`)}`);
        break;
      case "step.finished": {
        if (event.outcome === "skipped") break;
        const mark =
          event.conclusion === "success"
            ? c.green("✓")
            : event.conclusion === "cancelled"
              ? c.yellow("⊘")
              : c.red("✗");
        const note =
          event.outcome !== event.conclusion ? c.dim(` (${event.outcome}, continue-on-error)`) : "";
        this.print(
          `${this.prefix(event.job)}${mark} ${event.name} ${c.dim(seconds(event.durationMs))}${note}`,
        );
        break;
      }
      case "log": {
        const indent = "  ".repeat(this.depth.get(event.job) ?? 0);
        const text =
          event.stream === "runner"
            ? c.dim(event.text)
            : event.stream === "stderr"
              ? c.red(event.text)
              : event.text;
        this.print(`${this.prefix(event.job)}${indent}${text}`);
        break;
      }
      case "group.started":
        this.print(
          `${this.prefix(event.job)}${"  ".repeat(this.depth.get(event.job) ?? 0)}${c.bold(`▾ ${event.title}`)}`,
        );
        this.depth.set(event.job, (this.depth.get(event.job) ?? 0) + 1);
        break;
      case "group.ended":
        this.depth.set(event.job, Math.max(0, (this.depth.get(event.job) ?? 1) - 1));
        break;
      case "annotation": {
        const a = event.annotation;
        const where = a.file
          ? `${a.file}${a.line ? `:${a.line}` : ""}${a.column ? `:${a.column}` : ""}: `
          : "";
        const paint = a.level === "error" ? c.red : a.level === "warning" ? c.yellow : c.cyan;
        this.annotations.push(
          `${paint(a.level)} ${c.dim(`[${this.short(event.job)}]`)} ${where}${a.title ? `${a.title}: ` : ""}${a.message}`,
        );
        break;
      }
      case "job.finished":
        this.timers.delete(event.job);
        this.runningJobs.delete(event.job);
        this.queuedJobs.delete(event.job);
        this.names.set(event.job, event.name);
        this.finished.set(event.job, {
          status: event.status,
          durationMs: event.durationMs,
          ...(event.reason ? { reason: event.reason } : {}),
        });
        if (event.reason && event.status !== "success") {
          this.print(
            `${this.prefix(event.job)}${event.status === "skipped" ? c.dim(event.reason) : c.red(event.reason)}`,
          );
          // A job that failed for a reason of its own (no runner, a timeout) says it among
          // the annotations too, as GitHub does.
          if (event.status === "failure")
            this.annotations.push(
              `${c.red("error")} ${c.dim(`[${this.short(event.job)}]`)} ${event.reason}`,
            );
        }
        break;
      case "run.finished":
        this.timers.clear();
        this.tick();
        this.clearStatus();
        this.summary(event.status, event.durationMs);
        return;
      default:
        break;
    }
    this.drawStatus();
  }

  private summary(status: RunStatus, durationMs: number): void {
    const c = this.io.colors;
    if (this.annotations.length > 0) {
      this.io.out("");
      this.io.out(c.bold("Annotations"));
      for (const a of this.annotations) this.io.out(`  ${a}`);
    }
    this.io.out("");
    // Jobs in the order they were first queued (the order of the workflow), not of finishing.
    const rank = new Map(this.order.map((job, i) => [job, i]));
    const rows = [...this.finished.entries()].sort(
      ([a], [b]) =>
        (rank.get(a) ?? Number.MAX_SAFE_INTEGER) - (rank.get(b) ?? Number.MAX_SAFE_INTEGER),
    );
    const width = Math.max(3, ...rows.map(([job]) => this.short(job).length));
    this.io.out(c.bold(`${"job".padEnd(width)}  status     duration`));
    for (const [job, r] of rows) {
      const paint =
        r.status === "success"
          ? c.green
          : r.status === "failure"
            ? c.red
            : r.status === "cancelled"
              ? c.yellow
              : c.dim;
      const why = r.reason && r.status !== "success" ? `  ${c.dim(clip(r.reason, 100))}` : "";
      this.io.out(
        `${this.short(job).padEnd(width)}  ${paint(r.status.padEnd(9))}  ${seconds(r.durationMs).padEnd(8)}${why}`.trimEnd(),
      );
    }
    const paint = status === "success" ? c.green : status === "failure" ? c.red : c.yellow;
    this.io.out("");
    this.io.out(paint(`Run ${status} in ${seconds(durationMs)}`));
  }

  private prefix(job: string): string {
    let colour = this.colours.get(job);
    if (!colour) {
      const name = JOB_COLOURS[
        this.colours.size % JOB_COLOURS.length
      ] as (typeof JOB_COLOURS)[number];
      colour =
        (this.io.colors as unknown as Record<string, (s: string) => string>)[name] ??
        ((s: string) => s);
      this.colours.set(job, colour);
    }
    return `${colour(`[${this.short(job).padEnd(this.width)}]`)} `;
  }

  /** `file / job` shortened: the job's key alone when the run has one workflow, else `file-stem/key`. */
  private short(job: string): string {
    const at = job.indexOf(" / ");
    if (at === -1) return job;
    const key = job.slice(at + 3);
    if (this.workflowCount <= 1) return key;
    const stem = job
      .slice(0, at)
      .replace(/^.*\//, "")
      .replace(/\.ya?ml$/, "");
    return `${stem}/${key}`;
  }

  private print(line: string): void {
    this.clearStatus();
    this.io.out(line);
  }

  private drawStatus(): void {
    if (!this.tty) return;
    const done = this.finished.size;
    const timers = [...this.timers].map(
      ([job, until]) => `${this.short(job)} starts in ${countdown(until - Date.now())}`,
    );
    const text = this.io.colors.dim(
      [
        `jobs: ${done} done, ${this.runningJobs.size} running, ${this.queuedJobs.size} waiting`,
        ...timers,
      ].join(" · "),
    );
    process.stdout.write(`\r\x1b[2K${text}`);
    this.statusShown = true;
    this.tick();
  }

  /** Redraws the progress line every second while a wait timer counts down (a TTY only). */
  private tick(): void {
    if (this.timers.size > 0 && !this.ticker) {
      this.ticker = setInterval(() => this.drawStatus(), 1000);
      this.ticker.unref();
    } else if (this.timers.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  private clearStatus(): void {
    if (!this.tty || !this.statusShown) return;
    process.stdout.write("\r\x1b[2K");
    this.statusShown = false;
  }
}

/** `4:05`, or `1:02:03` past an hour: the time left on a wait timer. */
export function countdown(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = String(total % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** `text`, cut at `max` characters with an ellipsis. */
function clip(text: string, max: number): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
