import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RunEvent } from "../engine/run-events.js";
import type { Annotation } from "../runner/runner-events.js";

/** How long a log's writes are gathered before they go to the file. */
const BATCH_MS = 50;

/**
 * Keeps a run on disk: `events.ndjson` (every event, the source of truth), one plain-text
 * log per job under `logs/`, step summaries under `summaries/`, and, when the run ends,
 * `annotations.json` and `outputs.json`. Texts arrive masked; this class writes them as
 * they are.
 */
export class RunLog {
  private readonly events: WriteStream;
  private readonly jobLogs = new Map<string, WriteStream>();
  private readonly annotations: (Annotation & { job: string })[] = [];
  private readonly outputs: Record<string, Record<string, string>> = {};
  private readonly summaries = new Map<string, string>();

  constructor(readonly dir: string) {
    mkdirSync(join(dir, "logs"), { recursive: true });
    this.events = createWriteStream(join(dir, "events.ndjson"));
  }

  /** Records one event. */
  write(event: RunEvent): void {
    this.batch(this.events).write(`${JSON.stringify(event)}\n`);
    switch (event.type) {
      case "log":
        this.log(event.job).write(`${event.text}\n`);
        return;
      case "group.started":
        this.log(event.job).write(`##[group]${event.title}\n`);
        return;
      case "group.ended":
        this.log(event.job).write("##[endgroup]\n");
        return;
      case "step.started":
        this.log(event.job).write(`##[step ${event.step}] ${event.name}\n`);
        return;
      case "step.finished":
        this.log(event.job).write(
          `##[step ${event.step}] ${event.conclusion} in ${Math.round(event.durationMs)} ms\n`,
        );
        return;
      case "annotation":
        this.annotations.push({ job: event.job, ...event.annotation });
        return;
      case "summary":
        this.summaries.set(event.job, `${this.summaries.get(event.job) ?? ""}${event.markdown}\n`);
        return;
      case "job.finished":
        if (Object.keys(event.outputs).length > 0) this.outputs[event.job] = { ...event.outputs };
        return;
      default:
        return;
    }
  }

  /**
   * Where a job's files are kept, relative to a folder of the run: `<workflow>/<job key>`,
   * the workflow by its file name without extension (`pipeline/test (linux, 20)`).
   */
  static jobPath(job: string): string {
    const at = job.indexOf(" / ");
    const safe = (s: string) =>
      s.replace(/[^A-Za-z0-9 ().,_-]+/g, "_").replace(/^[ .]+|[ .]+$/g, "") || "_";
    if (at === -1) return safe(job);
    const workflow = job
      .slice(0, at)
      .replace(/^.*\//, "")
      .replace(/\.ya?ml$/, "");
    return `${safe(workflow)}/${safe(job.slice(at + 3))}`;
  }

  /** Writes the run's annotations, outputs and summaries, and closes every file. */
  async close(): Promise<void> {
    const ends = [this.events, ...this.jobLogs.values()].map(
      // end() writes what a cork holds.
      (s) => new Promise<void>((resolve) => s.end(resolve)),
    );
    await Promise.all(ends);
    await writeFile(
      join(this.dir, "annotations.json"),
      `${JSON.stringify(this.annotations, null, 2)}\n`,
    );
    await writeFile(join(this.dir, "outputs.json"), `${JSON.stringify(this.outputs, null, 2)}\n`);
    if (this.summaries.size > 0) {
      mkdirSync(join(this.dir, "summaries"), { recursive: true });
      for (const [job, md] of this.summaries) {
        const path = join(this.dir, "summaries", `${RunLog.jobPath(job)}.md`);
        mkdirSync(dirname(path), { recursive: true });
        await writeFile(path, md);
      }
    }
  }

  private log(job: string): WriteStream {
    let stream = this.jobLogs.get(job);
    if (!stream) {
      const path = join(this.dir, "logs", `${RunLog.jobPath(job)}.log`);
      mkdirSync(dirname(path), { recursive: true });
      stream = createWriteStream(path);
      this.jobLogs.set(job, stream);
    }
    return this.batch(stream);
  }

  /**
   * Gathers a stream's writes for up to {@link BATCH_MS} into one: a step writes several
   * small lines, and each write of its own is a trip through the thread pool.
   */
  private batch(stream: WriteStream): WriteStream {
    if (!stream.writableCorked && !stream.writableEnded) {
      stream.cork();
      setTimeout(() => stream.uncork(), BATCH_MS).unref();
    }
    return stream;
  }
}
