import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folders of `src/`, bottom to top: the pipeline a notification goes through, from the
 * helpers everything uses to the engine that drives the stages and the tools around it. A
 * module imports only from its own folder or from folders below it, so the tree reads as the
 * data flow and no stage can reach back into a later one.
 */
export const LAYERS = [
  'util', // pure helpers: ids, hashing, Graph's JSON shapes
  'errors', // SwitchboardError and its codes
  'commands', // the command table (routes, scopes, bodies typed from graph-types) and the Graph port
  'log', // entries, the event store port and its optional capabilities, snapshots as stored
  'decode', // a webhook body -> log entries
  'reconcile', // the call context and the ordering rules that edit it
  'machine', // the call-state table, guards, actions; the XState machine built from them
  'fold', // log entries -> machine state + context, through the table
  'project', // context -> the frozen CallView
  'emit', // one fold step -> the typed events it caused
  'engine', // decode, persist, fold, emit
  'replay', // exchange logs and offline folds
  'testing', // fast-check arbitraries and scenario bodies
] as const;

const SRC = import.meta.dirname;

/** Every non-test source file under `src/`, relative to it. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [relative(SRC, path)] : [];
  });
}

/** The relative module specifiers a file imports or re-exports, resolved to files under `src/`. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((spec) => normalize(join(dirname(file), spec)).replace(/\.js$/, '.ts'));
}

/** The layer of a file: its top folder's index in LAYERS; the root `index.ts` is above them all. */
function layerOf(file: string): number {
  const [top] = file.split(sep);
  return file.includes(sep) ? LAYERS.indexOf(top as (typeof LAYERS)[number]) : LAYERS.length;
}

/** Import edges that point up or sideways, as `from -> to`. */
export function violations(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) if (layerOf(to) > layerOf(from)) out.push(`${from} -> ${to}`);
  }
  return out;
}

/** One import cycle among the files, or undefined. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): string[] | undefined => {
    if (state.get(file) === 'done') return undefined;
    if (state.get(file) === 'open') return [...stack.slice(stack.indexOf(file)), file];
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(file, 'done');
    return undefined;
  };
  for (const file of graph.keys()) {
    const cycle = visit(file);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the source tree is layered', () => {
  const files = sourceFiles();
  const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(SRC, f), 'utf8'))]));

  it('every folder is a layer', () => {
    const folders = new Set(files.filter((f) => f.includes(sep)).map((f) => f.split(sep)[0]));
    expect([...folders].filter((f) => !LAYERS.includes(f as (typeof LAYERS)[number]))).toEqual([]);
  });

  it('imports point only down (to the same folder or a folder below it)', () => {
    expect(violations(graph)).toEqual([]);
  });

  it('no module imports itself back through others', () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  it('sees an upward import and a cycle when there is one', () => {
    const bad = new Map([
      [join('log', 'store.ts'), [join('reconcile', 'snapshot.ts')]],
      [join('machine', 'a.ts'), [join('fold', 'b.ts')]],
      [join('fold', 'b.ts'), [join('machine', 'a.ts')]],
    ]);
    expect(violations(bad)).toEqual([
      `${join('log', 'store.ts')} -> ${join('reconcile', 'snapshot.ts')}`,
      `${join('machine', 'a.ts')} -> ${join('fold', 'b.ts')}`,
    ]);
    expect(findCycle(bad)).toEqual([join('machine', 'a.ts'), join('fold', 'b.ts'), join('machine', 'a.ts')]);
    expect(importsOf(join('fold', 'x.ts'), "import { a } from '../machine/a.js';\nexport * from './y.js';")).toEqual([
      join('machine', 'a.ts'),
      join('fold', 'y.ts'),
    ]);
  });
});
