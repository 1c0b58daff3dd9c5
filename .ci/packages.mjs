// Each package in packages/* as it would be published, after `pnpm build`: publint on what
// `pnpm pack` would ship (exports targets exist, fields agree), and @arethetypeswrong/cli on
// the packed tarball (every export's types resolve, and match the JavaScript's module format,
// under node16 from ESM and bundler resolution). The packages are ESM only and claim no
// CommonJS entry, so attw runs with its esm-only profile; .ci/consumer.mjs compiles and runs a
// CommonJS consumer through `nodenext` (require() of ESM) for real.
//
//   node .ci/packages.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const tarballs = mkdtempSync(join(tmpdir(), 'switchboard-packages-'));
let failed = 0;

function run(cmd, args, cwd) {
  try {
    return { ok: true, out: execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    return { ok: false, out: `${error.stdout ?? ''}${error.stderr ?? ''}` };
  }
}

for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkg = join(root, 'packages', dir);
  if (!existsSync(join(pkg, 'package.json'))) continue;
  const { name, private: isPrivate } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
  if (isPrivate) continue;
  const lint = run(bin('publint'), ['--pack', 'pnpm', '--strict'], pkg);
  const packed = run('pnpm', ['pack', '--pack-destination', tarballs], pkg);
  const tarball = packed.ok ? join(tarballs, basename(packed.out.trim().split('\n').at(-1).trim())) : undefined;
  const types = tarball ? run(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'table-flipped']) : packed;
  const ok = lint.ok && types.ok;
  if (!ok) {
    failed++;
    process.stdout.write(`${lint.ok ? '' : lint.out}${types.ok ? '' : types.out}`);
  }
  process.stdout.write(`packages: ${name}: publint ${lint.ok ? 'ok' : 'FAILED'}, attw ${types.ok ? 'ok' : 'FAILED'}\n`);
}
rmSync(tarballs, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
