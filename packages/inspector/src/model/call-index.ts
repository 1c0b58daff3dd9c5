import { foldEntries, startCall, viewOf, type CallMachineSnapshot, type EventStore, type RosterMode, type StoredEntry } from '../deps.js';
import { summarizeView, type CallSummary } from './summary.js';

interface Indexed {
  summary: CallSummary;
  /** The stream position folded up to. */
  version: number;
  /** The fold, kept for live calls only (an ended call is refolded from its log if it grows). */
  fold: CallMachineSnapshot | undefined;
}

/**
 * The list of calls: a summary of every stream in the store, kept up to date by reading only
 * what was appended to a stream since it was last read. Each call's log is read once in full
 * when the index first meets it; after that, a live call costs a read of its new entries, an
 * ended call nothing (its fold is dropped; if entries still arrive, it is read again).
 * Reads only: it never writes the store.
 */
export class CallIndex {
  readonly #store: EventStore;
  readonly #rosterMode: RosterMode | undefined;
  readonly #calls = new Map<string, Indexed>();
  /** Each stream's refresh in progress, so that two never fold the same entries. */
  readonly #refreshing = new Map<string, Promise<boolean>>();
  #loading: Promise<void> | undefined;

  constructor(store: EventStore, options: { readonly rosterMode?: RosterMode } = {}) {
    this.#store = store;
    this.#rosterMode = options.rosterMode;
  }

  /** Reads every stream the store lists that the index does not hold yet. Once; later calls wait for it. */
  load(): Promise<void> {
    this.#loading ??= (async () => {
      for (const id of await this.#store.listStreams()) if (!this.#calls.has(id)) await this.refresh(id);
    })();
    return this.#loading;
  }

  /** Reads what was appended to a stream; resolves to whether its summary changed. A `version` already folded reads nothing. */
  refresh(streamId: string, version?: number): Promise<boolean> {
    const known = this.#calls.get(streamId);
    if (known && version !== undefined && version <= known.version && !this.#refreshing.has(streamId)) return Promise.resolve(false);
    const previous = this.#refreshing.get(streamId) ?? Promise.resolve(false);
    const next = previous
      .catch(() => false)
      .then(() => this.#refresh(streamId, version))
      .finally(() => {
        if (this.#refreshing.get(streamId) === next) this.#refreshing.delete(streamId);
      });
    this.#refreshing.set(streamId, next);
    return next;
  }

  async #refresh(streamId: string, version: number | undefined): Promise<boolean> {
    const known = this.#calls.get(streamId);
    if (known && version !== undefined && version <= known.version) return false;
    let fold: CallMachineSnapshot;
    let entries: readonly StoredEntry[];
    let firstAt = known?.summary.firstAt;
    let lastAt = known?.summary.lastAt;
    if (known?.fold) {
      entries = await this.#store.readStream(streamId, { after: known.version });
      if (entries.length === 0) return false;
      fold = known.fold;
    } else {
      entries = await this.#store.readStream(streamId);
      if (entries.length === 0 || (known && entries.length <= known.version)) return false;
      fold = startCall(this.#rosterMode ? { callId: streamId, rosterMode: this.#rosterMode } : { callId: streamId });
      firstAt = undefined;
      lastAt = undefined;
    }
    fold = foldEntries(fold, entries);
    for (const entry of entries) {
      if (firstAt === undefined || entry.at < firstAt) firstAt = entry.at;
      if (lastAt === undefined || entry.at > lastAt) lastAt = entry.at;
    }
    const view = viewOf(fold);
    const summary = summarizeView(view, { firstAt, lastAt });
    this.#calls.set(streamId, { summary, version: view.version, fold: summary.live ? fold : undefined });
    return true;
  }

  get(callId: string): CallSummary | undefined {
    return this.#calls.get(callId)?.summary;
  }

  /** Every call's summary, in the order the index met them. */
  summaries(): CallSummary[] {
    return [...this.#calls.values()].map((c) => c.summary);
  }

  get size(): number {
    return this.#calls.size;
  }
}
