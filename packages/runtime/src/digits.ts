import type { ToneView } from '@switchboard/core';

/** A DTMF key as `collectDigits` reports it: `0`-`9`, `*`, `#`, `A`-`D`, and `!` for a flash. */
export type DtmfKey = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D' | '!';

/** Graph's `tone` values (`tone0`..`tone9`, `star`, `pound`, `a`..`d`, `flash`), as keys. */
const KEYS: { readonly [tone: string]: DtmfKey } = {
  tone0: '0',
  tone1: '1',
  tone2: '2',
  tone3: '3',
  tone4: '4',
  tone5: '5',
  tone6: '6',
  tone7: '7',
  tone8: '8',
  tone9: '9',
  star: '*',
  pound: '#',
  a: 'A',
  b: 'B',
  c: 'C',
  d: 'D',
  flash: '!',
};

/** The key of one of Graph's `tone` values (any casing); undefined for a value Graph does not document. */
function keyOfTone(tone: string): DtmfKey | undefined {
  return Object.hasOwn(KEYS, tone.toLowerCase()) ? KEYS[tone.toLowerCase()] : undefined;
}

const KEY_SET: ReadonlySet<string> = new Set(Object.values(KEYS));

/** Whether `value` is a DTMF key (`0`-`9`, `*`, `#`, `A`-`D`, `!`). */
export function isDtmfKey(value: unknown): value is DtmfKey {
  return typeof value === 'string' && KEY_SET.has(value);
}

/** What `collectDigits` takes. */
export interface CollectDigitsOptions {
  /** Stop once this many keys (the terminator not counted) were collected. Default: no limit. */
  readonly maxDigits?: number;
  /** Stop at this key; it is not part of the digits. Default: none. */
  readonly terminator?: DtmfKey;
  /** Stop after this long (ms) with what was collected, reason `timeout`. Required: a collection always ends. */
  readonly timeoutMs: number;
  /**
   * Once a key was collected, stop when no further key has arrived for this long (ms), with
   * what was collected, reason `interDigitTimeout`. Timed from the arrival of the latest key
   * counted (a notification that arrives late still counts as an arrival). Default: none.
   */
  readonly interDigitTimeoutMs?: number;
  /**
   * Collect the tones whose `sequenceId` is greater than this. Default: the highest
   * `sequenceId` the call's view holds when `collectDigits` is called (0 when it holds none).
   */
  readonly afterSequenceId?: number;
  /**
   * How long a hole in the sequence ids before a stop key holds the stop (ms; default 1000).
   * Graph numbers a call's tones one after another, so a hole is a notification still on its
   * way; a hole still open after this long is taken to be Graph's numbering (and the number
   * the first tone of a call gets is not documented). Never longer than the time left.
   */
  readonly gapWaitMs?: number;
  /** Stops the collection: it rejects with `SWB_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Why a collection stopped. */
export type CollectStopReason = 'maxDigits' | 'terminator' | 'timeout' | 'interDigitTimeout';

/** What `collectDigits` resolves to. */
export interface CollectedDigits {
  /** The keys collected, in `sequenceId` order, without the terminator: `'42'`. */
  readonly digits: string;
  /** The tones they came from (the terminator's included when it stopped the collection), in `sequenceId` order. */
  readonly tones: readonly ToneView[];
  readonly reason: CollectStopReason;
}

/** Where a collection stands: done, or waiting (at a hole before `holeBefore`, when there is one). */
export type CollectProgress = { readonly done: CollectedDigits } | { readonly done?: undefined; readonly holeBefore?: number };

/**
 * The keys of `tones` (a view's `tones`: ordered by `sequenceId`, each once, unsequenced ones
 * last in log order) that count for a collection that started after `afterSequenceId` at log
 * position `afterPosition`: sequenced tones numbered after `afterSequenceId`, and tones
 * without a `sequenceId` logged after `afterPosition`. They are walked in order; a stop key
 * (the terminator, or the key that makes `maxDigits`) ends the collection only when no
 * sequence id is missing before it, unless `holeAccepted` says that hole is Graph's. With
 * `final` (the time is up), every hole is accepted and the result is `timeout` unless a stop
 * key is among the tones. Pure.
 */
export function collectProgress(
  tones: readonly ToneView[],
  start: { readonly afterSequenceId: number; readonly afterPosition: number },
  options: Pick<CollectDigitsOptions, 'maxDigits' | 'terminator'>,
  holeAccepted: (sequenceId: number) => boolean,
  final = false,
): CollectProgress {
  let expected = start.afterSequenceId + 1;
  let digits = '';
  const taken: ToneView[] = [];
  for (const tone of tones) {
    const seq = tone.sequenceId;
    if (seq === null ? tone.position <= start.afterPosition : seq <= start.afterSequenceId) continue;
    if (seq !== null) {
      if (seq !== expected && !final && !holeAccepted(seq)) return { holeBefore: seq };
      expected = seq + 1;
    }
    const key = keyOfTone(tone.tone);
    if (key === undefined) continue;
    taken.push(tone);
    if (key === options.terminator) return { done: { digits, tones: taken, reason: 'terminator' } };
    digits += key;
    if (options.maxDigits !== undefined && digits.length >= options.maxDigits) {
      return { done: { digits, tones: taken, reason: 'maxDigits' } };
    }
  }
  return final ? { done: { digits, tones: taken, reason: 'timeout' } } : {};
}
