import { randomUUID } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { sql } from "kysely";
import { recordDomainEvents } from "../../events/domain-events.js";
import { UNFINISHED_STATUSES } from "../../store/database.js";
import type { Store } from "../../store/open-store.js";
import { type Listener, listen } from "../../store/pg-listener.js";

/** The Postgres channel on which a cancel asked of one server process reaches the run's. */
const CANCELS = "trunkline_runs";

/** How often a server process says it is alive. @default 2 s */
export const DEFAULT_BEAT_MS = 2_000;
/** How long without a sign of life before a server process counts as gone. @default 30 s */
export const DEFAULT_GONE_MS = 30_000;

/** What the presence tells its server. */
export interface PresenceHandlers {
  /** A cancel was asked elsewhere for a run this process runs. */
  readonly onCancel: (runId: string) => void;
  /** Runs of a gone process are this one's now: carry them on. */
  readonly onOrphans: () => void;
  /** A gone process's embedded runner: its leases end now rather than when they expire. */
  readonly onGone: (serverId: string) => Promise<void>;
  /**
   * Another process counted this one as gone (it was cut off from the store for longer than
   * `goneMs`) and took its runs over: this process must stop running them at once, writing
   * nothing more about them. `trunkline serve` exits, to be started again.
   */
  readonly onFenced?: () => void;
}

/**
 * This server process among those that share the store. Each process has a row it renews
 * every `beatMs`; each run is owned by the process running it. A process is gone when its
 * row was not renewed for `goneMs` (measured only by a process that has itself been
 * renewing without a break for that long, so an outage of the database does not make
 * everyone look gone), or at once when it ran on this machine and its process id is no
 * longer alive (a restart after `kill -9`). A gone process's runs are released, and one
 * of the live processes carries each on: taking a run is one conditional update, so only
 * one does.
 */
export class ServerPresence {
  /** This process's id in the `servers` table. */
  readonly id = randomUUID();
  private readonly host = thisMachine();
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;
  private listener: Listener | undefined;
  /** Since when every beat has succeeded; undefined after one failed. */
  private beatingSince: number | undefined;

  constructor(
    private readonly options: {
      readonly store: Store;
      readonly handlers: PresenceHandlers;
      readonly beatMs?: number;
      readonly goneMs?: number;
      readonly now?: () => number;
    },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Registers this process, looks for gone ones, and keeps beating until `stop`. */
  async start(): Promise<void> {
    const at = this.now();
    await this.options.store.db
      .insertInto("servers")
      .values({ id: this.id, host: this.host, pid: process.pid, started_at: at, seen_at: at })
      .execute();
    this.beatingSince = at;
    const { url, dialect } = this.options.store;
    if (dialect === "postgres" && url)
      this.listener = listen(url, [CANCELS], (_channel, runId) =>
        this.options.handlers.onCancel(runId),
      );
    this.timer = setInterval(() => {
      this.beating = this.beat();
    }, this.options.beatMs ?? DEFAULT_BEAT_MS);
    this.timer.unref();
  }

  /**
   * Leaves: the row goes, so the next sweep of another process (or of this server's next
   * start) releases this process's unfinished runs and carries them on.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.listener?.close();
    await this.beating;
    await this.options.store.db.deleteFrom("servers").where("id", "=", this.id).execute();
  }

  /**
   * Makes this process the owner of a run nobody runs (or this process runs already); false
   * when another process runs it.
   */
  async own(runId: string): Promise<boolean> {
    const result = await this.options.store.db
      .updateTable("runs")
      .set({ owner: this.id })
      .where("id", "=", runId)
      .where((eb) => eb.or([eb("owner", "is", null), eb("owner", "=", this.id)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Lets go of a run this process finished running; a cancel asked for it is forgotten. */
  async release(runId: string): Promise<void> {
    await this.options.store.db
      .updateTable("runs")
      .set({ owner: null, cancel_requested: 0 })
      .where("id", "=", runId)
      .where("owner", "=", this.id)
      .execute();
  }

  /**
   * Asks the process running an unfinished run to cancel it; false when the run is not
   * running anywhere.
   */
  async requestCancel(runId: string): Promise<boolean> {
    const { db, dialect } = this.options.store;
    const result = await db
      .updateTable("runs")
      .set({ cancel_requested: 1 })
      .where("id", "=", runId)
      .where("status", "in", UNFINISHED_STATUSES)
      .where("owner", "is not", null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) return false;
    if (dialect === "postgres") await sql`SELECT pg_notify(${CANCELS}, ${runId})`.execute(db);
    return true;
  }

  private async beat(): Promise<void> {
    const at = this.now();
    try {
      const result = await this.options.store.db
        .updateTable("servers")
        .set({ seen_at: at })
        .where("id", "=", this.id)
        .executeTakeFirst();
      if (this.stopped) return;
      // Counted as gone by another process (this one was cut off for long), which took its
      // runs over: coming back would run them twice.
      if (Number(result.numUpdatedRows) === 0) {
        this.stopped = true;
        if (this.timer) clearInterval(this.timer);
        this.options.handlers.onFenced?.();
        return;
      }
      this.beatingSince ??= at;
      const released = await this.sweep().catch(() => 0);
      if (released > 0) this.options.handlers.onOrphans();
    } catch {
      this.beatingSince = undefined;
    }
  }

  /**
   * Forgets gone processes and takes their unfinished runs (and those of processes that
   * stopped) for this process to carry on; resolves to how many it took. Also hears cancels
   * whose notification was missed.
   */
  async sweep(): Promise<number> {
    const { db } = this.options.store;
    const now = this.now();
    const goneMs = this.options.goneMs ?? DEFAULT_GONE_MS;
    const trusted = this.beatingSince !== undefined && now - this.beatingSince >= goneMs;
    const servers = await db.selectFrom("servers").selectAll().execute();
    const gone = servers.filter(
      (s) =>
        s.id !== this.id &&
        ((trusted && now - Number(s.seen_at) > goneMs) ||
          (s.host === this.host && !runs(Number(s.pid), Number(s.started_at)))),
    );
    for (const server of gone) {
      await this.options.handlers.onGone(server.id);
      await db.deleteFrom("servers").where("id", "=", server.id).execute();
    }
    // Taken, not just released: were this process to die before carrying them on, they
    // would be a gone process's runs again, never nobody's. Each taking is in the run's log.
    const orphans = await db
      .selectFrom("runs")
      .select(["id", "owner"])
      .where("status", "in", UNFINISHED_STATUSES)
      .where("owner", "is not", null)
      .where("owner", "not in", db.selectFrom("servers").select("id"))
      .execute();
    let taken = 0;
    for (const orphan of orphans) {
      const took = await db
        .updateTable("runs")
        .set({ owner: this.id })
        .where("id", "=", orphan.id)
        .where("owner", "=", orphan.owner)
        .executeTakeFirst();
      if (Number(took.numUpdatedRows) !== 1) continue; // another process was first
      taken++;
      await recordDomainEvents(db, [
        {
          type: "run.taken_over",
          runId: orphan.id,
          from: orphan.owner ?? "",
          actor: { kind: "system", server: this.id },
          at: now,
        },
      ]);
    }
    const cancels = await db
      .selectFrom("runs")
      .select("id")
      .where("owner", "=", this.id)
      .where("cancel_requested", "=", 1)
      .execute();
    for (const run of cancels) this.options.handlers.onCancel(run.id);
    return taken;
  }
}

/**
 * This machine, as far as process ids go: the host name, the boot, and the process-id
 * namespace (containers sharing a host name, as with host networking, each have their own
 * process ids, so one must not judge the other's by them).
 */
export function thisMachine(): string {
  const read = (how: () => string) => {
    try {
      return how().trim();
    } catch {
      return "";
    }
  };
  const boot = read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"));
  const pids = read(() => readlinkSync("/proc/self/ns/pid"));
  return [hostname(), boot, pids].filter(Boolean).join(" ");
}

/** The host name of a machine as {@link thisMachine} writes it, for people. */
export function hostNameOf(machine: string): string {
  return machine.split(" ")[0] ?? machine;
}

/** When this process started (epoch ms). */
const PROCESS_START = Date.now() - process.uptime() * 1000;

/**
 * Whether the server process of this machine that registered with `pid` at `startedAt` may
 * still run. A row with this process's own id but from before it started is an earlier
 * process that had the same id (a restarted container's server is often process 1).
 */
function runs(pid: number, startedAt: number): boolean {
  if (pid === process.pid) return startedAt >= PROCESS_START - 1_000;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
