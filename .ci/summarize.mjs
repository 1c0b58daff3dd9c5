// Adds up vitest JSON reports and prints the line CI reads: "N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.log(`${file}: missing (that run did not finish)`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const suiteErrors = (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
  console.log(`${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped, ${suiteErrors} files failed to load`);
  passed += report.numPassedTests;
  failed += report.numFailedTests + suiteErrors;
  skipped += report.numPendingTests + report.numTodoTests;
}
if (skipped > 0) console.log(`${skipped} skipped (not counted as passed)`);
// the last line, exactly: CI reads it
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
