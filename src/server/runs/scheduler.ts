import type { FastifyBaseLogger } from "fastify";
import type { Store } from "../../store/open-store.js";
import { cronMatches, nextCronTime } from "../../workflow/cron.js";
import { resolveCommit, workflowsAt } from "./git-source.js";
import type { RunService } from "./run-service.js";

/** A schedule of a workflow on a repository's default branch, and when it fires next. */
export interface UpcomingSchedule {
  readonly workflow: string;
  readonly cron: string;
  /** Epoch ms of the next firing, or null when it never fires. */
  readonly next: number | null;
}

/**
 * Fires `on.schedule` workflows: at the start of every minute (UTC), reads the workflows of
 * each repository's default branch and starts a `schedule` run for each cron that matches,
 * at most once per minute even across restarts and server processes (a row per firing is
 * the lock). Minutes the server was down for are not made up, as on GitHub.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly service: RunService;
      readonly log: FastifyBaseLogger;
      readonly now?: () => number;
    },
  ) {}

  /** Starts ticking at the next minute boundary. */
  start(): void {
    const now = this.options.now?.() ?? Date.now();
    const wait = 60_000 - (now % 60_000);
    this.timer = setTimeout(() => {
      const minute = Math.round((this.options.now?.() ?? Date.now()) / 60_000) * 60_000;
      this.options.service.background(this.tick(new Date(minute)), "schedule tick failed");
      this.start();
    }, wait);
    this.timer.unref();
  }

  /** Stops ticking; runs already started go on. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Fires every schedule due in the minute of `at`; resolves to the runs started. */
  async tick(at: Date): Promise<string[]> {
    const { db } = this.options.store;
    const minute = Math.floor(at.getTime() / 60_000) * 60_000;
    const repositories = await db
      .selectFrom("repositories")
      .select(["id", "name", "default_branch"])
      .execute();
    const started: string[] = [];
    for (const repo of repositories) {
      const ref = `refs/heads/${repo.default_branch}`;
      const bare = this.options.service.bareOf(repo.name);
      const sha = await resolveCommit(bare, ref);
      if (!sha) continue;
      for (const workflow of await workflowsAt(bare, sha)) {
        for (const { cron } of workflow.on.schedule ?? []) {
          if (!cronMatches(cron, at)) continue;
          const claimed = await db
            .insertInto("schedule_fires")
            .values({ repository_id: repo.id, workflow_file: workflow.file, cron, minute })
            .execute()
            .then(
              () => true,
              () => false, // another process (or an earlier tick) fired it
            );
          if (!claimed) continue;
          const result = await this.options.service.start(
            repo.name,
            {
              name: "schedule",
              ref,
              sha,
              cron,
              repository: repo.name,
              payload: { schedule: cron, repository: { name: repo.name } },
            },
            workflow.file,
          );
          if ("runIds" in result) started.push(...result.runIds);
          else this.options.log.warn({ errors: result.errors, cron }, "a schedule did not start");
        }
      }
    }
    return started;
  }

  /** The schedules of a repository's default branch, with their next firing after `after`. */
  async upcoming(
    repository: string,
    defaultBranch: string,
    after: Date,
  ): Promise<UpcomingSchedule[]> {
    const bare = this.options.service.bareOf(repository);
    const sha = await resolveCommit(bare, `refs/heads/${defaultBranch}`);
    if (!sha) return [];
    const out: UpcomingSchedule[] = [];
    for (const workflow of await workflowsAt(bare, sha))
      for (const { cron } of workflow.on.schedule ?? [])
        out.push({
          workflow: workflow.file,
          cron,
          next: nextCronTime(cron, after)?.getTime() ?? null,
        });
    return out;
  }
}
