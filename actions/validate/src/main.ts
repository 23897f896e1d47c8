/** The validate action: read inputs, run the shared engine, publish outputs, summary and annotations. */
import * as core from '@actions/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { actionsHost } from '../../../packages/host/actions-host.js';
import { annotateProblems, cancellationSignal } from '../../../packages/host/action-run.js';
import { parseSecretInput } from '../../../packages/host/secret-input.js';
import { parseMultiline } from '../../../packages/config/zero-config.js';
import { secrets } from '../../../packages/config/secrets.js';
import { executeValidation, prepareValidation, writeJsonReport } from '../../../packages/validate/validate.js';
import { publishValidation } from '../../../packages/validate/publish.js';

export async function run(): Promise<void> {
  const host = actionsHost(secrets);
  const cancelled = cancellationSignal();
  try {
    const secretInput = parseSecretInput(core.getInput('secrets'), secrets);
    if (!secretInput.ok) return core.setFailed(secretInput.message);
    const prepared = prepareValidation({
      configPath: core.getInput('config'),
      environment: core.getInput('environment'),
      zeroConfig: {
        urls: parseMultiline(core.getInput('url')),
        mcpUrls: parseMultiline(core.getInput('mcp-url')),
        expectedStatus: core.getInput('expected-status'),
        maxLatencyMs: core.getInput('max-latency-ms'),
        attempts: core.getInput('attempts'),
        retryDelay: core.getInput('retry-delay'),
      },
      cwd: process.cwd(),
      env: process.env,
      secretValues: secretInput.values,
      secrets,
    });
    if (!prepared.ok) {
      core.setOutput('passed', 'false');
      return core.setFailed(annotateProblems(host, prepared.problems));
    }
    const report = await executeValidation(prepared.prepared, { log: host, secrets, signal: cancelled });
    const reportDir = core.getInput('report-dir') || join(process.env.RUNNER_TEMP || tmpdir(), 'rollgate');
    const written = await writeJsonReport(report, reportDir, secrets);
    if (!written.ok) host.warning(written.message);
    await publishValidation(report, written.ok ? written.path : '', host);
    if (report.verdict !== 'passed') core.setFailed(`validation failed: ${report.summary.requiredNotPassed} required check(s) did not pass`);
  } catch (error) {
    core.setFailed(secrets.redact(error instanceof Error ? error.message : String(error)));
  }
}
