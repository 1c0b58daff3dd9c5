// The packages as a bot author gets them: every package in packages/* packed (`pnpm pack`,
// which turns `workspace:*` into versions), installed from the tarballs into a throwaway
// project outside the workspace, compiled with strict, exactOptionalPropertyTypes and no
// skipLibCheck under nodenext, node16 and bundler resolution, and run with plain `node`.
// Run after `pnpm build`; .ci/run runs it. Prints one line per step; exits 1 on the first failure.
//
//   node .ci/consumer.mjs [--keep]   (--keep leaves the throwaway project and prints its path)
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const work = mkdtempSync(join(tmpdir(), 'switchboard-consumer-'));
const tarballs = join(work, 'tarballs');
const project = join(work, 'bot');
mkdirSync(tarballs);
mkdirSync(join(project, 'src'), { recursive: true });

function run(cmd, args, cwd, what) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (error) {
    process.stdout.write(`${error.stdout ?? ''}${error.stderr ?? ''}\nconsumer: ${what} failed (${cmd} ${args.join(' ')} in ${cwd})\n`);
    process.exit(1);
  }
}

// 1. pack every published package (a private one is not a bot author's)
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);
const deps = {};
for (const { dir, manifest } of packages) {
  if (!existsSync(join(dir, 'dist'))) {
    process.stdout.write(`consumer: ${manifest.name} has no dist/: run pnpm build first\n`);
    process.exit(1);
  }
  const out = run('pnpm', ['pack', '--pack-destination', tarballs], dir, `packing ${manifest.name}`);
  const tarball = out.trim().split('\n').at(-1).trim();
  deps[manifest.name] = `file:${join(tarballs, basename(tarball))}`;
}
process.stdout.write(`consumer: packed ${Object.keys(deps).join(', ')}\n`);

// 2. a project outside the workspace; overrides make the packages' dependencies on each other
// resolve to the tarballs too, not to a registry
const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const dev = rootManifest.devDependencies;
writeFileSync(
  join(project, 'package.json'),
  `${JSON.stringify(
    {
      name: 'consumer-bot',
      private: true,
      type: 'module',
      dependencies: deps,
      // fast-check: the optional peer of @switchboard/core/testing, which the bot imports
      devDependencies: { typescript: dev.typescript, '@types/node': dev['@types/node'], 'fast-check': dev['fast-check'] },
      // better-sqlite3 (the CLI's, and SQLite users') compiles at install: not needed here
      pnpm: { overrides: deps, onlyBuiltDependencies: [] },
    },
    null,
    2,
  )}\n`,
);
cpSync(join(root, 'test', 'consumer', 'bot.ts'), join(project, 'src', 'bot.ts'));
cpSync(join(root, '.ci', 'consumer', 'main.ts'), join(project, 'src', 'main.ts'));
cpSync(join(root, '.ci', 'consumer', 'require.cts'), join(project, 'src', 'require.cts'));
run('pnpm', ['install', '--prefer-offline', '--config.confirmModulesPurge=false'], project, 'installing the tarballs');
process.stdout.write('consumer: installed\n');

// 3. compile under each resolution a bot may use, strict, no skipLibCheck
const strict = {
  target: 'ES2022',
  lib: ['ES2023'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  skipLibCheck: false,
  types: ['node'],
};
const settings = {
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
};
for (const [name, resolution] of Object.entries(settings)) {
  // the CommonJS file only under nodenext: node16 and bundler do not let CommonJS require ESM
  const files = ['src/bot.ts', 'src/main.ts', ...(name === 'nodenext' ? ['src/require.cts'] : [])];
  const config = { compilerOptions: { ...strict, ...resolution, outDir: `out/${name}`, rootDir: 'src' }, files };
  writeFileSync(join(project, `tsconfig.${name}.json`), `${JSON.stringify(config, null, 2)}\n`);
  run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', `tsconfig.${name}.json`], project, `compiling under ${name}`);
  // 4. run it with plain node: no loader, no source condition
  const printed = run(process.execPath, [`out/${name}/main.js`], project, `running the ${name} build`);
  process.stdout.write(`consumer: ${name}: compiled; ${printed.trim()}\n`);
  if (name === 'nodenext') {
    const required = run(process.execPath, [`out/${name}/require.cjs`], project, 'running the CommonJS build');
    process.stdout.write(`consumer: ${name}: ${required.trim()}\n`);
  }
}

// 5. the command line, from the installed bin
const help = run(join(project, 'node_modules', '.bin', 'switchboard'), ['--help'], project, 'switchboard --help');
process.stdout.write(`consumer: switchboard --help: ${help.split('\n')[0]}\n`);

if (keep) process.stdout.write(`consumer: kept ${work}\n`);
else rmSync(work, { recursive: true, force: true });
process.stdout.write('consumer: ok\n');
