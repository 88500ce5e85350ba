// Reads vitest's JSON reports (one per suite) and prints "PASSED FAILED SKIPPED" (three numbers,
// summed) for .ci/run, which prints the line CI reads. A file that failed to load counts as a
// failure; a missing report, or one with no test at all, is one failure.
import { readFileSync } from 'node:fs';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.tmp/vitest.json'];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of files) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    failed += 1;
    console.error(`no test report at ${file}: ${err.message}`);
    continue;
  }
  // A suite that ran nothing (its setup failed before any test, e.g. chromium missing) is red.
  if ((report.numTotalTests ?? 0) === 0) {
    failed += 1;
    console.error(`${file}: the suite ran no test`);
  }
  passed += report.numPassedTests ?? 0;
  // A file that failed to load has no failed assertion but is a failure all the same.
  const loadErrors = (report.testResults ?? []).filter((r) => r.status === 'failed' && !(r.assertionResults ?? []).some((a) => a.status === 'failed')).length;
  failed += (report.numFailedTests ?? 0) + loadErrors;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
}
console.log(`${passed} ${failed} ${skipped}`);
