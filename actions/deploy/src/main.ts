/** The deploy action: read inputs, run the deploy engine against GitHub Deployments, publish outputs and summary. */
import * as core from '@actions/core';
import { actionsHost } from '../../../packages/host/actions-host.js';
import { annotateProblems, cancellationSignal } from '../../../packages/host/action-run.js';
import { parseSecretInput } from '../../../packages/host/secret-input.js';
import { parseBoolean } from '../../../packages/host/boolean.js';
import { secrets } from '../../../packages/config/secrets.js';
import { prepareValidation } from '../../../packages/validate/validate.js';
import { runDeploy } from '../../../packages/deploy/deploy.js';
import { publishDeploy } from '../../../packages/deploy/publish.js';
import { providerFor } from '../../../packages/deploy/providers/index.js';
import { deploymentRef, runIdentity, versionProblem } from '../../../packages/deploy/ref.js';
import { storeFor } from '../../../packages/deploy/store.js';

export async function run(): Promise<void> {
  const host = actionsHost(secrets);
  const cancelled = cancellationSignal();
  try {
    const secretInput = parseSecretInput(core.getInput('secrets'), secrets);
    if (!secretInput.ok) return core.setFailed(secretInput.message);
    const dryRun = parseBoolean('dry-run', core.getInput('dry-run'));
    if (!dryRun.ok) return core.setFailed(dryRun.message);
    const token = core.getInput('token');
    secrets.add(token);
    const environment = core.getInput('environment', { required: true });
    const prepared = prepareValidation({
      configPath: core.getInput('config'),
      environment,
      zeroConfig: { urls: [], mcpUrls: [] },
      cwd: process.cwd(),
      env: process.env,
      secretValues: secretInput.values,
      secrets,
      overrides: core.getInput('overrides'),
    });
    if (!prepared.ok) {
      core.setOutput('status', 'error');
      return core.setFailed(annotateProblems(host, prepared.problems));
    }
    const ref = deploymentRef({ input: core.getInput('ref'), env: process.env });
    if (!ref) return core.setFailed('input ref: no commit to deploy (set ref, or run in a workflow where GITHUB_SHA is set)');
    const version = core.getInput('version') || ref;
    const bad = versionProblem('input version', version) ?? versionProblem('input ref', ref);
    if (bad) {
      core.setOutput('status', 'error');
      return core.setFailed(bad);
    }
    const store = await storeFor({ token, env: process.env, cwd: process.cwd(), log: host, ...writeSpacing(process.env) });
    const { plan, deploy, baseDir } = prepared.prepared;
    const outcome = await runDeploy(
      {
        plan,
        deploy,
        version,
        ref,
        ...(core.getInput('deployment-id') ? { existingDeploymentId: core.getInput('deployment-id') } : {}),
        dryRun: dryRun.value,
        ...runIdentity(process.env),
        baseDir,
        hasSecret: (name) => Boolean(secretInput.values[name] ?? process.env[name]),
      },
      { store, provider: providerFor(deploy), log: host, secrets, signal: cancelled, ...(prepared.prepared.ca ? { ca: prepared.prepared.ca } : {}) },
    );
    await publishDeploy(outcome, environment, version, host);
    if (outcome.status !== 'success' && outcome.status !== 'dry-run') core.setFailed(outcome.message);
  } catch (error) {
    core.setOutput('status', 'error');
    core.setFailed(secrets.redact(error instanceof Error ? error.message : String(error)));
  }
}

/** ROLLGATE_GITHUB_WRITE_SPACING_MS overrides GitHub's advised pause between writes (tests against the fake use 0). */
function writeSpacing(env: NodeJS.ProcessEnv): { writeSpacingMs?: number } {
  const value = env.ROLLGATE_GITHUB_WRITE_SPACING_MS;
  return value && /^\d+$/.test(value) ? { writeSpacingMs: Number(value) } : {};
}
