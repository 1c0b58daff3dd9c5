import { inspect } from 'node:util';

/** A secret to look for, under a name the report can print (never the value itself). */
export interface Needle {
  readonly name: string;
  readonly value: string;
}

/** A text something wrote (a log line, a file, an error), named for the report. */
export interface Haystack {
  readonly name: string;
  readonly text: string;
}

export interface Leak {
  readonly secret: string;
  readonly form: string;
  readonly where: string;
}

/**
 * The forms a secret may take once written: as is, JSON-escaped, URL-encoded, base64 (Basic
 * auth), and for a JWT its signature alone (what makes it usable) and its header+payload.
 */
function forms(value: string): Array<[string, string]> {
  const out: Array<[string, string]> = [
    ['raw', value],
    ['json-escaped', JSON.stringify(value).slice(1, -1)],
    ['url-encoded', encodeURIComponent(value)],
    ['base64', Buffer.from(value).toString('base64')],
  ];
  const parts = value.split('.');
  if (parts.length === 3 && parts[2]!.length >= 16) {
    out.push(['jwt signature', parts[2]!]);
    out.push(['jwt header.payload', `${parts[0]}.${parts[1]}`]);
  }
  return out.filter(([, v], i, all) => v.length >= 8 && all.findIndex(([, w]) => w === v) === i);
}

/** Every place a needle shows up, in any of its forms. */
export function findLeaks(needles: readonly Needle[], haystacks: readonly Haystack[]): Leak[] {
  const leaks: Leak[] = [];
  for (const needle of needles) {
    for (const [form, value] of forms(needle.value)) {
      for (const hay of haystacks) if (hay.text.includes(value)) leaks.push({ secret: needle.name, form, where: hay.name });
    }
  }
  return leaks;
}

/** Everything an error carries: message, stack, own properties, JSON, causes (inspect walks them). */
export function errorText(error: unknown): string {
  const parts = [inspect(error, { depth: 20, showHidden: true, getters: true })];
  if (error instanceof Error) parts.push(error.message, error.stack ?? '');
  try {
    parts.push(JSON.stringify(error, Object.getOwnPropertyNames(error ?? {})));
  } catch {
    // circular: inspect has it
  }
  let cause = (error as { cause?: unknown } | null)?.cause;
  for (let i = 0; cause !== undefined && i < 10; i++) {
    parts.push(inspect(cause, { depth: 20, showHidden: true }));
    cause = (cause as { cause?: unknown } | null)?.cause;
  }
  return parts.join('\n');
}

/** A pino-shaped logger that keeps every line, fully rendered (objects, errors and all). */
export function captureLogger(lines: string[], source: string) {
  const write = (level: string) => (obj: object, msg?: string) =>
    void lines.push(`${source} ${level} ${msg ?? ''} ${inspect(obj, { depth: 20, showHidden: true })} ${safeJson(obj)}`);
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return '';
  }
}
