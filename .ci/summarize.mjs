// Adds up vitest runs and prints the line CI reads: "N passed, N failed".
//
//   node .ci/summarize.mjs [--check name=N ...] [--exit-code N] report.json [[--exit-code N] report.json ...]
//
// `--check name=N` counts a check that is not a vitest run (the package checks, knip, the
// packed consumer) as one passed (exit code 0) or one failed, named.
// Each report is vitest's JSON report; beside it, `report.run.json` from .ci/run-reporter.mjs
// carries what the JSON report leaves out. `--exit-code` is the exit code of the vitest run
// that wrote the next report. Counted as failed, each named on a line above the closing one:
// - a failed test;
// - a file that failed with no failed test (it did not load, or a hook outside any test threw);
// - an unhandled error (rejection, exception, a worker that died, a failed teardown): vitest
//   fails the run for it while every test passes;
// - a lost test: collected but never reported passed, failed or skipped (its worker died);
// - a file that never finished and lost no collected test (its worker died before collecting);
// - a run that exited non-zero with none of the above, or whose report is missing or unreadable.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const MAX_NAMED = 20; // per kind and run: past that, a count

const runs = [];
const checks = [];
let exitCode;
for (let args = process.argv.slice(2); args.length > 0; ) {
  const arg = args.shift();
  if (arg === '--check') {
    const [name, code] = String(args.shift()).split('=');
    checks.push({ name, code: Number(code) });
    continue;
  }
  if (arg === '--exit-code') {
    exitCode = Number(args.shift());
    continue;
  }
  runs.push({ file: arg, exitCode });
  exitCode = undefined;
}
if (runs.length === 0) {
  console.log('usage: node .ci/summarize.mjs [--exit-code N] report.json ...');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const run of runs) {
  const result = summarize(run);
  passed += result.passed;
  failed += result.failed;
  skipped += result.skipped;
}
for (const check of checks) {
  if (check.code === 0) passed++;
  else {
    failed++;
    console.log(`check ${check.name} failed (exit code ${check.code}): see its output above`);
  }
}
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`);
// the last line, exactly: CI reads it
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);

function summarize({ file, exitCode }) {
  const exited = exitCode === undefined ? '' : `, vitest exited ${exitCode}`;
  const report = readJson(file);
  if (!report.ok) {
    console.log(`${file}: ${report.why} (that run did not finish${exited})`);
    return { passed: 0, failed: 1, skipped: 0 };
  }
  const side = readJson(`${file.replace(/\.json$/, '')}.run.json`);
  const problems = []; // [kind, line]
  const note = (kind, line) => problems.push([kind, line]);

  let passedHere = 0;
  let skippedHere = 0;
  let failedTests = 0;
  let lostTests = 0;
  let fileErrors = 0;
  const neverCollected = new Set();
  for (const result of report.value.testResults ?? []) {
    const name = relative(process.cwd(), result.name);
    const tests = result.assertionResults ?? [];
    let failedInFile = 0;
    for (const test of tests) {
      if (test.status === 'passed') passedHere += 1;
      else if (test.status === 'skipped' || test.status === 'todo') skippedHere += 1;
      else if (test.status === 'failed') {
        failedInFile += 1;
        note('failed test', `FAILED  ${name} > ${test.fullName}: ${firstLine(test.failureMessages?.[0])}`);
      } else {
        // 'pending': collected, started or not, never reported back
        lostTests += 1;
        note('lost test', `LOST    ${name} > ${test.fullName} (collected, never reported: its worker died or the run was cut short)`);
      }
    }
    failedTests += failedInFile;
    if (result.status !== 'failed' && tests.length === 0) {
      // vitest fails a file that declares no test; one that "passed" with none never reported
      // its collection: its worker died or never started
      neverCollected.add(name);
    } else if (result.status === 'failed' && failedInFile === 0) {
      fileErrors += 1;
      const what = tests.length === 0 ? 'failed to load' : 'failed outside its tests (a hook or the file itself)';
      note('file error', `FILE    ${name} ${what}: ${firstLine(result.message) || 'no message'}`);
    }
  }

  let unhandled = 0;
  const unfinishedLines = new Map(); // file -> line, for files that never finished and lost no collected test
  if (side.ok) {
    // a worker that died names no file: the files it left unfinished are where to look
    const unfinishedNames = (side.value.unfinishedFiles ?? []).map((entry) => entry.file);
    for (const error of side.value.unhandledErrors ?? []) {
      unhandled += 1;
      note('unhandled error', `ERROR   ${describeError(error, unfinishedNames)}`);
    }
    for (const entry of side.value.unfinishedFiles ?? []) {
      const running = entry.running?.length
        ? `; running: ${entry.running.join(', ')}`
        : entry.lastStarted
          ? `; last started: ${entry.lastStarted}`
          : '';
      if ((entry.lost ?? []).length > 0) {
        note('unfinished file', `        ${entry.file} did not finish (${entry.state}): ${entry.lost.length} test(s) lost${running}`);
      } else if (entry.state === 'pending' || entry.state === 'queued') {
        unfinishedLines.set(entry.file, `UNFINISHED ${entry.file} never finished (${entry.state}): no test of it was collected${running}`);
      }
    }
  } else {
    note('note', `        (no ${file.replace(/\.json$/, '')}.run.json: ${side.why}; errors outside tests cannot be named)`);
  }
  for (const name of neverCollected) {
    if (!unfinishedLines.has(name))
      unfinishedLines.set(name, `UNFINISHED ${name} reported no test: it was never collected (its worker died or never started)`);
  }
  const unfinished = unfinishedLines.size;
  for (const line of unfinishedLines.values()) note('unfinished file', line);

  // whatever the report holds beyond what its tests account for is lost too
  const total = report.value.numTotalTests ?? 0;
  const unaccounted = total - passedHere - failedTests - skippedHere - lostTests;
  if (unaccounted > 0) {
    lostTests += unaccounted;
    note('lost test', `LOST    ${unaccounted} test(s) counted in the report (${total}) but in no file's results`);
  }

  let failedHere = failedTests + fileErrors + unhandled + lostTests + unfinished;
  if (exitCode !== undefined && exitCode !== 0 && failedHere === 0) {
    failedHere += 1;
    note('exit', `EXIT    vitest exited ${exitCode} although its report shows no failure (see its output above)`);
  }

  console.log(
    `${file}: ${passedHere} passed, ${failedTests} failed, ${skippedHere} skipped, ${fileErrors} files failed outside their tests, ` +
      `${unhandled} unhandled errors, ${lostTests} lost tests${unfinished ? `, ${unfinished} files never finished` : ''}${exited}`,
  );
  // errors outside tests first (they explain the lost tests below them), then by file
  const order = ['note', 'unhandled error', 'unfinished file', 'file error', 'failed test', 'lost test', 'exit'];
  problems.sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0]));
  const shown = new Map();
  for (const [kind, line] of problems) {
    const n = (shown.get(kind) ?? 0) + 1;
    shown.set(kind, n);
    if (n <= MAX_NAMED) console.log(`  ${line}`);
  }
  for (const [kind, n] of shown) if (n > MAX_NAMED) console.log(`  ... and ${n - MAX_NAMED} more of kind "${kind}"`);
  return { passed: passedHere, failed: failedHere, skipped: skippedHere };
}

function describeError(error, unfinishedNames) {
  const what = `${error.type ?? 'Unhandled Error'}: ${error.name && error.name !== 'Error' ? `${error.name}: ` : ''}${firstLine(error.message)}${error.code ? ` [${error.code}]` : ''}`;
  const causes = [];
  for (let cause = error.cause; cause; cause = cause.cause)
    causes.push(`${firstLine(cause.message)}${cause.code ? ` [${cause.code}]` : ''}`);
  const where = [];
  if (error.file) where.push(`in ${error.file}`);
  if (error.test) where.push(`latest test started there: "${error.test}" (the error came during it or after it ended)`);
  if (error.running?.length) where.push(`still running: ${error.running.join(', ')}`);
  if (!error.file && !error.running?.length) {
    where.push(
      unfinishedNames.length > 0
        ? `no test file named by vitest; files left unfinished: ${unfinishedNames.join(', ')}`
        : 'no test file named by vitest',
    );
  }
  const frame = ownFrame(error.stack);
  return [what, causes.length ? `caused by ${causes.join(' <- ')}` : '', where.join('; '), frame ? `at ${frame}` : '']
    .filter(Boolean)
    .join('\n            ');
}

/** The first stack frame in the project's own code (not node_modules, not node internals). */
function ownFrame(stack) {
  if (typeof stack !== 'string') return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const frame = line.trim().replace(/^at /, '');
    if (frame.includes('node_modules') || frame.includes('node:')) continue;
    return frame.replace(`file://${process.cwd()}/`, '').replace(`${process.cwd()}/`, '');
  }
  return undefined;
}

function firstLine(text) {
  return (
    String(text ?? '')
      .split('\n')
      .find((line) => line.trim() !== '')
      ?.trim()
      .slice(0, 300) ?? ''
  );
}

function readJson(path) {
  if (!existsSync(path)) return { ok: false, why: 'missing' };
  try {
    return { ok: true, value: JSON.parse(readFileSync(path, 'utf8')) };
  } catch (error) {
    return { ok: false, why: `unreadable (${error.message})` };
  }
}
