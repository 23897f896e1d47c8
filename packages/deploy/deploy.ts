/**
 * The deploy engine: pre-deployment checks, one idempotent deployment record, the provider, then readiness with the
 * check engine. It talks to the world only through a DeploymentStore and a DeployProvider.
 *
 * Records and API calls: create (1) + list (1) + latest status of the newest older deployment (1, also gives
 * previous-version) + in_progress (1) + success/failure (1). A re-run of the same run reuses its record and never
 * creates a second one.
 */
import type { DeploySpec } from '../config/schema.js';
import type { ValidationPlan } from '../config/plan.js';
import type { Secrets } from '../config/secrets.js';
import { formatDuration } from '../config/duration.js';
import { runChecks } from '../checks/runner.js';
import { httpRequest, safeOrigin, TransportError } from '../checks/http-client.js';
import { systemClock, type CheckResult, type Clock, type Logger } from '../checks/model.js';
import type { DeployProvider, DeploymentStatus, DeploymentStore, DeploymentSummary } from './model.js';

export interface DeployRequest {
  plan: ValidationPlan;
  deploy: DeploySpec | undefined;
  version: string;
  /** What the record points at: the immutable SHA on GitHub (the PR head SHA on pull_request events). */
  ref: string;
  /** Add statuses to this deployment instead of creating one. */
  existingDeploymentId?: string;
  dryRun: boolean;
  runId?: string;
  /** GITHUB_RUN_ATTEMPT: above 1 the run may already have a record. */
  runAttempt?: number;
  runUrl?: string;
  baseDir: string;
  /** Whether a secret with this name is available (requiredSecrets). */
  hasSecret: (name: string) => boolean;
}

export interface DeployDeps {
  store: DeploymentStore;
  provider: DeployProvider;
  log: Logger;
  secrets: Secrets;
  signal?: AbortSignal;
  clock?: Clock;
  ca?: string;
}

export type DeployStatus = 'success' | 'failure' | 'error' | 'refused' | 'dry-run';

export interface DeployOutcome {
  status: DeployStatus;
  message: string;
  deploymentId?: string;
  environmentUrl?: string;
  previousVersion?: string;
  /** True when a re-run found its own finished deployment and only reconciled it. */
  reconciled?: boolean;
  preflight: PreflightResult[];
  readiness?: CheckResult[];
}

export interface PreflightResult {
  name: string;
  passed: boolean;
  /** Passed only because the config says to go on anyway (deploy.reachable: warn). */
  warning?: boolean;
  message: string;
}

const LIST_LIMIT = 20;

export async function runDeploy(request: DeployRequest, deps: DeployDeps): Promise<DeployOutcome> {
  const { store, log } = deps;
  const clock = deps.clock ?? systemClock;
  const environment = request.plan.environment;
  const spec = request.deploy;
  const preflight: PreflightResult[] = [];

  // Pre-deployment checks that need no API: configuration (already valid to get here) and secrets.
  preflight.push({ name: 'configuration valid', passed: true, message: `environment ${environment} planned with ${request.plan.checks.length} check(s)` });
  const missing = (spec?.requiredSecrets ?? []).filter((name) => !request.hasSecret(name));
  preflight.push({
    name: 'required secrets present',
    passed: missing.length === 0,
    message: missing.length === 0 ? `${spec?.requiredSecrets?.length ?? 0} required secret(s) present` : `missing secret(s): ${missing.join(', ')} (add them to the repository or the ${environment} environment, and pass them to the step)`,
  });
  if (missing.length > 0) return refused(preflight);

  const reach = spec?.reachable ?? 'warn';
  if (reach !== 'skip' && request.plan.baseUrl) {
    const answer = await probe(request.plan.baseUrl, deps);
    const passed = answer.ok || reach === 'warn';
    preflight.push({ name: 'target reachable', passed, ...(answer.ok ? {} : { warning: true }), message: answer.ok ? answer.message : `${answer.message}${reach === 'warn' ? ' (deploy.reachable: warn, so deploying anyway)' : ''}` });
    if (!answer.ok) log.warning(`target not reachable: ${answer.message}`);
    if (!passed) return refused(preflight);
  }

  const createRecord = () =>
    store.create({
      environment,
      version: request.version,
      ref: request.ref,
      production: spec?.production ?? environment === 'production',
      transient: spec?.transient ?? false,
      // Per-PR previews (transient) must not deactivate each other.
      autoInactive: !(spec?.transient ?? false),
      description: `rollgate: ${request.version}`.slice(0, 140),
      ...(request.runId ? { runId: request.runId } : {}),
      ...(request.runUrl ? { runUrl: request.runUrl } : {}),
    });

  // A first attempt records itself before it looks at the others: two deploys started at the same moment then see each
  // other, and the later one yields. A re-run (or an explicit id) looks for its record first.
  const firstAttempt = !request.existingDeploymentId && (request.runAttempt ?? 1) <= 1;
  let created = !request.dryRun && firstAttempt ? await createRecord() : undefined;
  if (created) log.info(`created deployment ${created.id} of ${request.version} to ${environment} in ${store.description}`);
  const recent = await store.list(environment, LIST_LIMIT);
  const found = request.existingDeploymentId
    ? recent.find((d) => d.id === request.existingDeploymentId)
    : !firstAttempt && request.runId
      ? recent.find((d) => d.runId === request.runId && d.version === request.version)
      : undefined;
  if (request.existingDeploymentId && !found) {
    throw new Error(`deployment ${request.existingDeploymentId} was not found among the ${LIST_LIMIT} most recent deployments of ${environment}`);
  }
  if (found && request.existingDeploymentId && found.version !== request.version) {
    preflight.push({ name: 'existing deployment matches', passed: false, message: `deployment ${found.id} is of version ${found.version}, not ${request.version}` });
    return refused(preflight);
  }
  const mine = created ?? found;
  // Our own run never holds the environment against itself (a re-run with another version included).
  const others = recent.filter((d) => d.id !== mine?.id && !(request.runId && d.runId === request.runId));
  const position = (d: DeploymentSummary) => recent.findIndex((r) => r.id === d.id);
  // For a record just made, only older deployments can hold the environment; newer ones will yield to it.
  const contenders = created && position(created) >= 0 ? others.filter((d) => position(d) > position(created!)) : others;

  // The newest other deployment tells both whether someone holds the environment and what the stable version is.
  const { holder, previousVersion } = await inspectOthers(contenders, store, spec, clock, log);
  if (holder) {
    const who = holder.summary.runUrl ? `run ${holder.summary.runUrl}` : `deployment ${holder.summary.id}`;
    if ((spec?.concurrency ?? 'refuse') === 'refuse') {
      const message = `${environment} is being deployed by ${who} (version ${holder.summary.version}, ${holder.status.state}); wait for it or set deploy.concurrency: queue`;
      preflight.push({ name: 'no other deployment in progress', passed: false, message });
      if (created) await store.setStatus(created.id, { state: 'error', description: `refused: ${message}`.slice(0, 140), ...(request.runUrl ? { logUrl: request.runUrl } : {}) });
      return { ...refused(preflight, previousVersion), ...(created ? { deploymentId: created.id } : {}) };
    }
    preflight.push({ name: 'no other deployment in progress', passed: true, message: `queued behind ${who}` });
  } else {
    preflight.push({ name: 'no other deployment in progress', passed: true, message: 'no other deployment of this environment is in progress' });
  }

  if (request.dryRun) {
    const plan = `would deploy ${request.version} (ref ${request.ref}) to ${environment} with the ${deps.provider.kind} provider, then check readiness (${readinessChecks(request).length} check(s), up to ${formatDuration(spec?.readiness?.timeout ?? 300_000)})`;
    return { status: 'dry-run', message: plan, preflight, ...(previousVersion ? { previousVersion } : {}) };
  }

  // One record per run: a re-run (or an explicit id) reuses it.
  let record: DeploymentSummary;
  let reconcile = false;
  if (found) {
    record = found;
    const current = await store.status(found.id);
    reconcile = current.state === 'success';
    const whose = request.existingDeploymentId ? 'the given deployment' : 'this run';
    log.info(`deployment ${found.id} of ${whose} already exists (${current.state}); ${reconcile ? 'reconciling it without deploying again' : 'continuing it'}`);
  } else {
    created ??= await createRecord();
    record = created;
    if (!firstAttempt) log.info(`created deployment ${record.id} of ${request.version} to ${environment} in ${store.description}`);
  }

  const environmentUrl = request.plan.baseUrl;
  const common = { ...(environmentUrl ? { environmentUrl } : {}), ...(request.runUrl ? { logUrl: request.runUrl } : {}) };
  const finish = async (status: DeploymentStatus['state'], message: string, readiness?: CheckResult[]): Promise<DeployOutcome> => {
    await store.setStatus(record.id, { state: status, description: message.slice(0, 140), ...common, autoInactive: !(spec?.transient ?? false) });
    return {
      status: status === 'success' ? 'success' : status === 'error' ? 'error' : 'failure',
      message,
      deploymentId: record.id,
      ...(environmentUrl ? { environmentUrl } : {}),
      ...(previousVersion ? { previousVersion } : {}),
      ...(reconcile ? { reconciled: true } : {}),
      preflight,
      ...(readiness ? { readiness } : {}),
    };
  };

  try {
    if (!reconcile) {
      if (holder) await waitForHolder(holder.summary, store, spec, clock, deps, record.id);
      await store.setStatus(record.id, { state: 'in_progress', description: `deploying ${request.version}`.slice(0, 140), ...common });
      const provided = await deps.provider.deploy({
        version: request.version,
        environment,
        ...(environmentUrl ? { url: environmentUrl } : {}),
        ref: request.ref,
        ...(request.runUrl ? { runUrl: request.runUrl } : {}),
        log,
        signal: deps.signal ?? new AbortController().signal,
        secrets: deps.secrets,
        baseDir: request.baseDir,
      });
      if (!provided.ok) return await finish('failure', provided.message);
      log.info(provided.message);
    }

    const readiness = await waitUntilReady(request, deps, clock);
    if (!readiness.ready) return await finish('failure', readiness.message, readiness.results);
    return await finish('success', reconcile ? `already deployed by this run; ready again: ${readiness.message}` : `deployed ${request.version}; ${readiness.message}`, readiness.results);
  } catch (error) {
    // Never leave a record in progress: whatever broke, say so on the record before giving up.
    const message = `deploy stopped: ${error instanceof Error ? error.message : String(error)}`;
    try {
      return await finish('error', message);
    } catch {
      throw error;
    }
  }
}

/** Any HTTP answer at all counts: a 404 or 503 still proves the target is there; only transport failures do not. */
async function probe(url: string, deps: DeployDeps): Promise<{ ok: boolean; message: string }> {
  try {
    const res = await httpRequest({
      url,
      method: 'GET',
      timeouts: { connect: 5_000, firstByte: 10_000, total: 10_000 },
      maxBodyBytes: 1024,
      ...(deps.ca ? { ca: deps.ca } : {}),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    return { ok: true, message: `${safeOrigin(url)} answered ${res.status}` };
  } catch (error) {
    return { ok: false, message: error instanceof TransportError ? error.message : String(error) };
  }
}

function refused(preflight: PreflightResult[], previousVersion?: string): DeployOutcome {
  const failed = preflight.filter((p) => !p.passed);
  return {
    status: 'refused',
    message: `pre-deployment checks failed: ${failed.map((p) => `${p.name}: ${p.message}`).join('; ')}`,
    preflight,
    ...(previousVersion ? { previousVersion } : {}),
  };
}

const ACTIVE: ReadonlySet<DeploymentStatus['state']> = new Set(['pending', 'queued', 'in_progress']);

async function inspectOthers(
  others: DeploymentSummary[],
  store: DeploymentStore,
  spec: DeploySpec | undefined,
  clock: Clock,
  log: Logger,
): Promise<{ holder?: { summary: DeploymentSummary; status: DeploymentStatus }; previousVersion?: string }> {
  // A deployment left active for longer than a deploy may take is abandoned, not a holder.
  const staleAfter = (spec?.timeout ?? 30 * 60_000) + (spec?.readiness?.timeout ?? 300_000);
  let holder: { summary: DeploymentSummary; status: DeploymentStatus } | undefined;
  // Newest first; stop at the first success (the stable version). Bounded so a long failing streak stays cheap.
  for (const summary of others.slice(0, 5)) {
    const status = await store.status(summary.id);
    // inactive: superseded after it succeeded (auto_inactive), so it was a stable version too.
    if (status.state === 'success' || status.state === 'inactive') return { ...(holder ? { holder } : {}), previousVersion: summary.version };
    if (!holder && ACTIVE.has(status.state) && clock.now() - Date.parse(summary.createdAt) < staleAfter) {
      // A run that finished without finishing its deployment (a killed runner) holds nothing.
      const finished = summary.runId && store.runFinished ? await store.runFinished(summary.runId) : undefined;
      if (finished) log.warning(`deployment ${summary.id} was left ${status.state} by ${summary.runUrl ?? `run ${summary.runId}`}, which has finished; not waiting for it`);
      else holder = { summary, status };
    }
  }
  return holder ? { holder } : {};
}

async function waitForHolder(
  holder: DeploymentSummary,
  store: DeploymentStore,
  spec: DeploySpec | undefined,
  clock: Clock,
  deps: DeployDeps,
  ourId: string,
): Promise<void> {
  await store.setStatus(ourId, { state: 'queued', description: `waiting for deployment ${holder.id}` });
  const until = clock.now() + (spec?.queueTimeout ?? 15 * 60_000);
  for (;;) {
    const status = await store.status(holder.id);
    if (!ACTIVE.has(status.state)) return;
    if (clock.now() > until) throw new Error(`waited ${formatDuration(spec?.queueTimeout ?? 15 * 60_000)} for deployment ${holder.id} (${holder.runUrl ?? 'unknown run'}) to finish`);
    deps.log.info(`waiting for deployment ${holder.id} (${status.state}) to finish`);
    await clock.sleep(5_000, deps.signal);
  }
}

function readinessChecks(request: DeployRequest) {
  const names = request.deploy?.readiness?.checks;
  const checks = names ? request.plan.checks.filter((c) => names.includes(c.name)) : request.plan.checks.filter((c) => !c.optional && c.type !== 'load' && c.type !== 'circuit-breaker');
  return checks;
}

async function waitUntilReady(
  request: DeployRequest,
  deps: DeployDeps,
  clock: Clock,
): Promise<{ ready: boolean; message: string; results: CheckResult[] }> {
  const checks = readinessChecks(request);
  if (checks.length === 0) return { ready: true, message: 'no readiness checks configured', results: [] };
  const timeout = request.deploy?.readiness?.timeout ?? 300_000;
  const interval = request.deploy?.readiness?.interval ?? 5_000;
  const started = clock.now();
  let round = 0;
  for (;;) {
    round++;
    const left = timeout - (clock.now() - started);
    const run = await runChecks(
      { checks, settings: { ...request.plan.settings, deadlineMs: Math.max(1_000, Math.min(request.plan.settings.deadlineMs, left)) } },
      { log: deps.log, baseDir: request.baseDir, secrets: deps.secrets, clock, ...(deps.ca ? { ca: deps.ca } : {}), ...(deps.signal ? { signal: deps.signal } : {}) },
    );
    const failing = run.results.filter((r) => !r.optional && r.outcome !== 'pass');
    if (failing.length === 0 && run.passed) {
      return { ready: true, message: `ready after ${round} round(s), ${formatDuration(clock.now() - started)}: ${run.results.length} readiness check(s) passed`, results: run.results };
    }
    const first = failing[0];
    const reason = first ? `${first.name}: ${first.message}` : 'no readiness check passed';
    if (clock.now() - started + interval >= timeout || deps.signal?.aborted) {
      return { ready: false, message: `not ready within ${formatDuration(timeout)} (${round} round(s)); ${reason}`, results: run.results };
    }
    deps.log.info(`not ready yet (round ${round}): ${reason}; checking again in ${formatDuration(interval)}`);
    await clock.sleep(interval, deps.signal);
  }
}
