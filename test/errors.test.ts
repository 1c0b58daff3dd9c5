import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isSwitchboardErrorCode, SwitchboardError, type SwitchboardErrorCode } from '@switchboard/core';

const root = fileURLToPath(new URL('..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

/** Exhaustive: adding a code without a case here fails the typecheck. */
function severity(code: SwitchboardErrorCode): 'caller' | 'retry' | 'fatal' {
  switch (code) {
    case 'SWB_INVALID_ARGUMENT':
    case 'SWB_DECODE':
    case 'SWB_INVALID_ENTRY':
    case 'SWB_GRAPH_BAD_REQUEST':
    case 'SWB_GRAPH_NOT_FOUND':
    case 'SWB_UNKNOWN_CALL':
    case 'SWB_CALL_TERMINATED':
    case 'SWB_CALL_ALREADY_HANDLED':
    case 'SWB_STOPPED':
    case 'SWB_CLI_INPUT':
    case 'SWB_ARCHIVE_JOURNAL':
    case 'SWB_CLI_OUTPUT':
    case 'SWB_WAIT_TIMEOUT':
    case 'SWB_OPERATION_FAILED':
    case 'SWB_OPERATION_OUTCOME_UNKNOWN':
    case 'SWB_OPERATION_TIMEOUT':
    case 'SWB_GRAPH_ABORTED':
    case 'SWB_LEASE_LOST':
    case 'SWB_LISTENER_FAILED':
    case 'SWB_WEBHOOK_UNKNOWN_KEY':
    case 'SWB_RECORDING_UNAVAILABLE':
    case 'SWB_RECORDING_NOT_FOUND':
    case 'SWB_RECORDING_TOO_LARGE':
    case 'SWB_RECORDING_ABORTED':
    case 'SWB_RECORDING_REDIRECT':
    case 'SWB_RECORDING_WRITE':
      return 'caller';
    case 'SWB_VERSION_CONFLICT':
    case 'SWB_STORE_BUSY':
    case 'SWB_ARCHIVE_REFUSED':
    case 'SWB_STORE_UNAVAILABLE':
    case 'SWB_GRAPH_THROTTLED':
    case 'SWB_GRAPH_AMBIGUOUS':
    case 'SWB_GRAPH_HTTP':
    case 'SWB_GRAPH_NETWORK':
    case 'SWB_GRAPH_TIMEOUT':
    case 'SWB_GRAPH_UNEXPECTED':
    case 'SWB_WEBHOOK_KEYS_UNAVAILABLE':
    case 'SWB_RECORDING_HTTP':
    case 'SWB_RECORDING_TIMEOUT':
    case 'SWB_RECORDING_NETWORK':
      return 'retry';
    case 'SWB_STORE_FAILED':
    case 'SWB_STORE_CLOSED':
    case 'SWB_STORE_READ_ONLY':
    case 'SWB_SCHEMA_NEWER':
    case 'SWB_SCHEMA_OLDER':
    case 'SWB_SCHEMA_MISSING':
    case 'SWB_DEPENDENCY_MISSING':
    case 'SWB_DEPENDENCY_BROKEN':
    case 'SWB_GRAPH_UNAUTHORIZED':
    case 'SWB_GRAPH_AUTH':
    case 'SWB_RECORDING_UNAUTHORIZED':
      return 'fatal';
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

describe('error codes', () => {
  it('are one closed union: a switch over them is exhaustive, an unknown code does not compile', () => {
    for (const code of Object.keys(ERROR_CODES)) expect(['caller', 'retry', 'fatal']).toContain(severity(code as SwitchboardErrorCode));
    // @ts-expect-error a code outside the list
    const unknown = new SwitchboardError('SWB_NO_SUCH_CODE', 'x');
    expect(isSwitchboardErrorCode(unknown.code)).toBe(false);
    expect(isSwitchboardErrorCode('SWB_STOPPED')).toBe(true);
  });

  it('every code the source throws or names is in the list', () => {
    const named = new Set<string>();
    for (const dir of ['packages', 'examples']) {
      for (const file of sourceFiles(join(root, dir)))
        for (const m of readFileSync(file, 'utf8').matchAll(/\bSWB_[A-Z_]+\b/g)) named.add(m[0]);
    }
    const environmentVariables = new Set(['SWB_ARCHIVE_TRACE']); // named like codes, but not error codes
    expect([...named].filter((code) => !isSwitchboardErrorCode(code) && !environmentVariables.has(code)).sort()).toEqual([]);
  });

  it('docs/errors.md lists every code once, with its meaning', () => {
    const rows = [...readFileSync(join(root, 'docs/errors.md'), 'utf8').matchAll(/^\| `(SWB_[A-Z_]+)` +\| (.*?) *\|$/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(rows).toEqual(Object.entries(ERROR_CODES));
  });
});
