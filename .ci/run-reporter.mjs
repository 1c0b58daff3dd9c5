// A vitest reporter for CI: writes what vitest's JSON report leaves out, beside it, for
// .ci/summarize.mjs. The JSON report (vitest 4.1) counts tests and carries file errors, but
// not the errors vitest caught outside any test (unhandled rejections, uncaught exceptions,
// a worker that died, a teardown that failed), nor which test was running when they came.
// Those make vitest exit 1 with every test passed.
//
// Written to `<json report without .json>.run.json`:
// {
//   reason,                  vitest's own verdict: 'passed' | 'failed' | 'interrupted'
//   unhandledErrors: [{ type, name, message, code, stack, cause, file, test, running }],
//   unfinishedFiles: [{ file, state, running, lost: [full names] }],
// }
// `file` and `test` are where vitest says the error came from (the file the worker ran, the
// latest test it started); `running` lists the tests this reporter saw start and not end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

export default class RunReporter {
  /** @type {import('vitest/node').Vitest | undefined} */
  #vitest;
  /** test id -> { file, name }, for tests started and not yet ended */
  #running = new Map();
  /** file -> the last test that started in it */
  #lastStarted = new Map();

  onInit(vitest) {
    this.#vitest = vitest;
  }

  onTestCaseReady(testCase) {
    const file = this.#relative(testCase.module.moduleId);
    this.#running.set(testCase.id, { file, name: testCase.fullName });
    this.#lastStarted.set(file, testCase.fullName);
  }

  onTestCaseResult(testCase) {
    this.#running.delete(testCase.id);
  }

  onTestRunEnd(testModules, unhandledErrors, reason) {
    const target = this.#target();
    if (!target) return;
    const runningIn = (file) => [...this.#running.values()].filter((t) => t.file === file).map((t) => t.name);
    const errors = unhandledErrors.map((error) => {
      const file = typeof error?.VITEST_TEST_PATH === 'string' ? this.#relative(error.VITEST_TEST_PATH) : undefined;
      return {
        type: error?.type ?? 'Unhandled Error',
        name: error?.name,
        message: String(error?.message ?? error),
        code: error?.code,
        stack: shortStack(error?.stack),
        cause: causeChain(error?.cause),
        file,
        test: error?.VITEST_TEST_NAME,
        // what had started and not ended in that file when the run ended (a dead worker's test)
        running: file ? runningIn(file) : [...this.#running.values()].map((t) => `${t.file} > ${t.name}`),
      };
    });
    const unfinishedFiles = [];
    for (const testModule of testModules) {
      const state = testModule.state();
      const lost = [...testModule.children.allTests('pending')].map((t) => t.fullName);
      if (state !== 'pending' && state !== 'queued' && lost.length === 0) continue;
      const file = this.#relative(testModule.moduleId);
      unfinishedFiles.push({ file, state, running: runningIn(file), lastStarted: this.#lastStarted.get(file), lost });
    }
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${JSON.stringify({ reason, unhandledErrors: errors, unfinishedFiles }, null, 2)}\n`);
  }

  #relative(path) {
    return relative(this.#vitest?.config.root ?? process.cwd(), path);
  }

  /** Beside the JSON report: `x.json` -> `x.run.json`. Nothing when there is no JSON file. */
  #target() {
    const config = this.#vitest?.config;
    const output = config?.outputFile;
    const json = typeof output === 'string' ? output : output?.json;
    if (!json) return undefined;
    return resolve(config.root, `${json.replace(/\.json$/, '')}.run.json`);
  }
}

function shortStack(stack) {
  if (typeof stack !== 'string') return undefined;
  return stack.split('\n').slice(0, 12).join('\n');
}

function causeChain(cause, depth = 0) {
  if (!cause || depth > 3) return undefined;
  return { name: cause.name, message: String(cause.message ?? cause), code: cause.code, cause: causeChain(cause.cause, depth + 1) };
}
