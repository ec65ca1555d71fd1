/** A job just queued, as a wake carries it. */
export interface QueuedJob {
  readonly entryId: string;
  /** Lower-cased, as the queue compares them. */
  readonly labels: readonly string[];
}

/** A wake for every waiting claim, not for one job. */
export const EVERYONE = "everyone";

/** A claim waiting for a job: its runner's labels, and what woke it. */
export interface Idle {
  readonly labels: readonly string[];
  woken?: QueuedJob | typeof EVERYONE;
  resolve?: () => void;
}

/**
 * The claims of this process waiting for a job, oldest first, and how they are woken. A
 * woken claim leaves the set with what woke it in `woken`; it looks again and adds itself
 * back before it waits again.
 */
export class IdleClaims {
  private readonly claims = new Set<Idle>();

  /** Adds a claim that is about to look for a job (it listens before it looks). */
  add(claim: Idle): void {
    this.claims.add(claim);
  }

  /** How many claims wait for a wake now (looked, found nothing, and listen). */
  get waiting(): number {
    let count = 0;
    for (const claim of this.claims) if (claim.resolve) count++;
    return count;
  }

  /** Removes a claim that took a job or stopped waiting. */
  delete(claim: Idle): void {
    this.claims.delete(claim);
  }

  /**
   * Wakes one waiting claim that can take a job just queued (the oldest waiting, of those
   * whose runner has the job's labels), rather than every waiting claim: with many idle
   * runners, each job would otherwise cost one look per runner. A claim that takes an older
   * job instead passes the wake on.
   */
  wakeOne(job: QueuedJob): void {
    for (const claim of this.claims) {
      if (claim.woken || !job.labels.every((l) => claim.labels.includes(l))) continue;
      claim.woken = job;
      this.claims.delete(claim);
      claim.resolve?.();
      return;
    }
  }

  /** Wakes every waiting claim (a job queued by another process, whose labels are not known here; a stop). */
  wakeAll(): void {
    for (const claim of this.claims) {
      claim.woken ??= EVERYONE;
      claim.resolve?.();
    }
    this.claims.clear();
  }
}
