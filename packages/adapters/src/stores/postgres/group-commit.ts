/**
 * Group commit for the PostgreSQL store: appends made together (in one run of code and the
 * promise continuations it sets off), and those made while the groups in flight are on their
 * way to the database, go together in one transaction and one round trip. A commit costs a
 * round trip, a transaction and a WAL flush whatever it holds, so under load each append pays
 * a share of one instead of one of its own; alone, an append waits for no turn of the event
 * loop.
 *
 * A stream is in at most one group at a time: a second append to a stream whose group is in
 * flight (or already in the group being formed) waits for a later group, so appends to one
 * stream reach the database in the order they were made.
 */

/** What a group is made of; the store decides what else an append carries. */
export interface GroupMember {
  readonly streamId: string;
  /** How much this append sends (characters of its entries' JSON), for the cap on a group's size. */
  readonly size: number;
}

export interface GroupCommitOptions<M extends GroupMember> {
  /**
   * Commits one group. Must settle every member itself (a member's promise is the store's
   * business) and must not throw; the returned promise says when the group is done.
   */
  readonly commit: (group: M[]) => Promise<void>;
  /**
   * Groups on their way to the database at once (each on its own pooled connection): appends
   * made while one is out need not wait for it (it may be waiting for a lock another instance
   * holds). What is ready when a group leaves goes in that one group, not split across free
   * connections: measured on two cores, the extra transactions cost more than the
   * parallelism gave.
   */
  readonly maxGroupsInFlight: number;
  /** At most this many appends in a group. */
  readonly maxAppends: number;
  /** At most this much in a group, by `size` (a larger single append still goes, alone). */
  readonly maxSize: number;
}

export class GroupCommit<M extends GroupMember> {
  readonly #options: GroupCommitOptions<M>;
  /** Appends not yet in a group, in the order they were made. */
  #waiting: M[] = [];
  /** Streams with an append in a group in flight. */
  readonly #busy = new Set<string>();
  #inFlight = 0;
  #scheduled = false;

  constructor(options: GroupCommitOptions<M>) {
    this.#options = options;
  }

  /** Queues an append for the next group. */
  add(member: M): void {
    this.#waiting.push(member);
    this.#schedule();
  }

  // Forms groups once the code running now is done: every append made by it and by the promise
  // continuations it set off (a group's results release its writers, who append again at once)
  // goes in the same group, and so does every one made while the groups in flight were out.
  // (process.nextTick runs after the microtasks: no turn of the event loop to wait for.)
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#options.maxGroupsInFlight) return;
    this.#scheduled = true;
    process.nextTick(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const { maxGroupsInFlight, maxAppends, maxSize } = this.#options;
    const free = maxGroupsInFlight - this.#inFlight;
    if (free <= 0) return;
    // What can go now: the first waiting append of each stream that has none in flight.
    const ready: M[] = [];
    const later: M[] = [];
    const streams = new Set<string>();
    for (const member of this.#waiting) {
      if (this.#busy.has(member.streamId) || streams.has(member.streamId)) later.push(member);
      else {
        ready.push(member);
        streams.add(member.streamId);
      }
    }
    if (ready.length === 0) return; // every waiting append's stream is in flight
    let sent = 0;
    let at = 0;
    while (sent < free && at < ready.length) {
      const group: M[] = [];
      let size = 0;
      while (at < ready.length && group.length < maxAppends) {
        const member = ready[at]!;
        if (group.length > 0 && size + member.size > maxSize) break;
        group.push(member);
        size += member.size;
        at += 1;
      }
      sent += 1;
      this.#send(group);
    }
    // what did not fit waits for the next group, ahead of later appends to the same streams
    this.#waiting = ready.slice(at).concat(later);
  }

  #send(group: M[]): void {
    const streams = group.map((m) => m.streamId);
    for (const s of streams) this.#busy.add(s);
    this.#inFlight += 1;
    void this.#options.commit(group).finally(() => {
      this.#inFlight -= 1;
      for (const s of streams) this.#busy.delete(s);
      if (this.#waiting.length > 0) this.#schedule();
    });
  }
}
