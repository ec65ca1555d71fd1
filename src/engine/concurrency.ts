/** A concurrency group as a job or workflow declares it. */
export interface ConcurrencyGroup {
  readonly name: string;
  readonly cancelInProgress: boolean;
}

interface Member {
  readonly group?: ConcurrencyGroup;
}

/**
 * GitHub's concurrency rules, per group: the first member queued holds the group until it
 * finishes; at most one other member waits (a newly queued member replaces the waiting one,
 * which is cancelled); with `cancel-in-progress` a newly queued member also cancels the
 * holder. When the holder finishes, the waiting member takes the group.
 */
export class ConcurrencyGroups {
  private readonly holders = new Map<string, Member>();
  private readonly waiting = new Map<string, Member>();

  /** Registers a newly queued member; returns the members it cancels. */
  enqueue(member: Member, group: ConcurrencyGroup): Member[] {
    const holder = this.holders.get(group.name);
    if (!holder) {
      this.holders.set(group.name, member);
      return [];
    }
    const victims: Member[] = [];
    const previous = this.waiting.get(group.name);
    if (previous) victims.push(previous);
    this.waiting.set(group.name, member);
    if (group.cancelInProgress) victims.push(holder);
    return victims;
  }

  /** Whether the member may start now: it holds its group (or has none). */
  canStart(member: Member): boolean {
    return !member.group || this.holders.get(member.group.name) === member;
  }

  /** Frees the member's place; a waiting member takes a freed group. */
  release(member: Member): void {
    if (!member.group) return;
    const name = member.group.name;
    if (this.waiting.get(name) === member) this.waiting.delete(name);
    if (this.holders.get(name) === member) {
      const next = this.waiting.get(name);
      this.waiting.delete(name);
      if (next) this.holders.set(name, next);
      else this.holders.delete(name);
    }
  }
}
