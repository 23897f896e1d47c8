/** Presents a deploy outcome through a Host: outputs, a job-summary section, and an error annotation when it failed. */
import type { Host } from '../host/host.js';
import { inert } from '../report/escape.js';
import type { DeployOutcome } from './deploy.js';

export async function publishDeploy(outcome: DeployOutcome, environment: string, version: string, host: Host): Promise<void> {
  host.setOutput('deployment-id', outcome.deploymentId ?? '');
  host.setOutput('environment-url', outcome.environmentUrl ?? '');
  host.setOutput('previous-version', outcome.previousVersion ?? '');
  host.setOutput('status', outcome.status);
  const icon = outcome.status === 'success' || outcome.status === 'dry-run' ? '✅' : '❌';
  const lines = [
    `### ${icon} rollgate deploy: ${inert(version)} to ${inert(environment)}`,
    '',
    `**${inert(outcome.status)}**: ${inert(outcome.message, 1000)}`,
    '',
    '| Pre-deployment check | Result |',
    '|---|---|',
    ...outcome.preflight.map((p) => `| ${inert(p.name)} | ${!p.passed ? '❌' : p.warning ? '⚠️' : '✅'} ${inert(p.message)} |`),
  ];
  if (outcome.previousVersion) lines.push('', `Previous stable version: \`${inert(outcome.previousVersion)}\``);
  if (outcome.deploymentId) lines.push('', `Deployment record: ${inert(outcome.deploymentId)}`);
  await host.appendSummary(`${lines.join('\n')}\n`);
  if (outcome.status !== 'success' && outcome.status !== 'dry-run') host.error(outcome.message, { title: `rollgate deploy ${outcome.status}` });
}
