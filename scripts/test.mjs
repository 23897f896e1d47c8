#!/usr/bin/env node
// The whole test suite, in the order that fails fastest: typecheck, lint, workflow/action lint, then jest
// (unit and integration tests, including the dist/ and schema currency checks). Ends with one "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const npmRun = (script, extra = []) => ['npm', ['run', '--silent', script, ...(extra.length ? ['--', ...extra] : [])]];
const results = join(tmpdir(), `rollgate-jest-${process.pid}.json`);
const stages = [
  ['typecheck', ...npmRun('typecheck')],
  ['lint', ...npmRun('lint')],
  ['workflow and action.yml lint', ...npmRun('lint:actions')],
  ['jest', ...npmRun('test:unit', ['--json', `--outputFile=${results}`, ...process.argv.slice(2)])],
];

let failedStage = '';
for (const [name, command, args] of stages) {
  console.log(`\n=== ${name} ===`);
  const started = Date.now();
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  console.log(`--- ${name}: ${run.status === 0 ? 'ok' : `failed (exit ${run.status ?? run.signal})`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (run.status !== 0) {
    failedStage = name;
    if (name !== 'jest') break;
  }
}

let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(results, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.numRuntimeErrorTestSuites ?? 0);
  rmSync(results, { force: true });
} catch {
  if (!failedStage) failedStage = 'jest (no results written)';
}
if (failedStage && failed === 0) failed = 1;
console.log(`\n${passed} passed, ${failed} failed`);
if (failedStage) console.error(`test suite failed at: ${failedStage}`);
process.exit(failedStage ? 1 : 0);
