import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** The workspace's packages, each after the ones it depends on. */
export const PACKAGES = ['core', 'transport', 'simulator', 'adapters', 'runtime', 'cli'] as const;

export interface Declarations {
  /** `packages/<name>/dist/**\/*.d.ts` as `pnpm build` would write them, by absolute path. */
  readonly files: ReadonlyMap<string, string>;
  /** Problems emitting them (an empty list when the build would have succeeded). */
  readonly problems: readonly string[];
}

/**
 * Emits every package's declarations in memory, as `pnpm build` would (each package's own
 * `tsconfig.build.json`, which resolves the other packages through their `dist/`), without
 * writing anything: what a consumer of the built packages reads.
 */
export function emitDeclarations(root: string): Declarations {
  const files = new Map<string, string>();
  const problems: string[] = [];
  for (const name of PACKAGES) {
    const config = join(root, 'packages', name, 'tsconfig.build.json');
    const parsed = ts.getParsedCommandLineOfConfigFile(config, undefined, {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => problems.push(format([d])),
    });
    if (!parsed) continue;
    const options: ts.CompilerOptions = {
      ...parsed.options,
      noEmit: false,
      declaration: true,
      emitDeclarationOnly: true,
      declarationMap: false,
      sourceMap: false,
    };
    const host = virtualDistHost(root, files, options);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options, host });
    const result = program.emit(undefined, (file, text) => files.set(resolve(file), text), undefined, true);
    const diagnostics = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...result.diagnostics];
    if (result.emitSkipped || diagnostics.length > 0) problems.push(`${name}: ${format(diagnostics) || 'emit skipped'}`);
  }
  return { files, problems };
}

/**
 * Type-checks a consumer project (its tsconfig.json) against the packages' declarations in
 * `files`, which stand in for each package's `dist/` (a `dist/` on disk is ignored). Returns the
 * diagnostics, formatted; empty when it compiles.
 */
export function checkConsumer(root: string, tsconfig: string, files: ReadonlyMap<string, string>): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(tsconfig, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: () => undefined,
  });
  if (!parsed) return [`cannot read ${tsconfig}`];
  const options = { ...parsed.options, noEmit: true };
  const program = ts.createProgram({ rootNames: parsed.fileNames, options, host: virtualDistHost(root, files, options) });
  return ts.getPreEmitDiagnostics(program).map((d) => format([d]).replaceAll(`${root}${sep}`, ''));
}

function format(diagnostics: readonly ts.Diagnostic[]): string {
  return ts
    .formatDiagnostics(diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' })
    .trim();
}

/** A compiler host whose `packages/<name>/dist/` holds `files` and nothing else. */
function virtualDistHost(root: string, files: ReadonlyMap<string, string>, options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options, true);
  const packagesDir = realpathSync(join(root, 'packages'));
  const inDist = (path: string): boolean => {
    const rel = relative(packagesDir, path);
    const [, second] = rel.split(sep);
    return !rel.startsWith('..') && second === 'dist';
  };
  // the real path of something that may not exist: its nearest existing ancestor resolved
  const realpath = (path: string): string => {
    const absolute = resolve(path);
    if (existsSync(absolute)) return realpathSync(absolute);
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realpath(parent), basename(absolute));
  };
  const isVirtualDir = (dir: string): boolean => {
    const prefix = dir.endsWith(sep) ? dir : dir + sep;
    for (const file of files.keys()) if (file.startsWith(prefix)) return true;
    return false;
  };
  host.realpath = realpath;
  host.fileExists = (path) => {
    const real = realpath(path);
    return inDist(real) ? files.has(real) : ts.sys.fileExists(path);
  };
  host.readFile = (path) => {
    const real = realpath(path);
    return inDist(real) ? files.get(real) : ts.sys.readFile(path);
  };
  host.directoryExists = (dir) => {
    const real = realpath(dir);
    return inDist(real) ? isVirtualDir(real) : ts.sys.directoryExists(dir);
  };
  return host;
}
