import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeploy, type DeployRequest } from '../../packages/deploy/deploy.js';
import { LocalDeploymentStore } from '../../packages/deploy/local-store.js';
import { providerFor } from '../../packages/deploy/providers/index.js';
import { defaultSettings } from '../../packages/config/plan.js';
import { Deploy, type CheckSpec, type DeploySpec } from '../../packages/config/schema.js';
import { Secrets } from '../../packages/config/secrets.js';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import type { Logger } from '../../packages/checks/model.js';
import { startHttpServer, type TestServer } from '../support/servers.js';

let dir: string;
let server: TestServer;
let ready = true;

beforeAll(async () => {
  server = await startHttpServer((req, res) => {
    if (req.url === '/ready') res.writeHead(ready ? 200 : 503).end(ready ? 'ready' : 'warming up');
    else res.writeHead(200).end('ok');
  });
});
afterAll(async () => {
  await server.close();
  await closeHttpAgents();
});
afterEach(() => {
  ready = true;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function log(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: (m) => lines.push(m), info: (m) => lines.push(m), warning: (m) => lines.push(m) };
}

function request(deploy: Record<string, unknown>, overrides: Partial<DeployRequest> = {}): DeployRequest {
  const checks: CheckSpec[] = [{ name: 'ready', type: 'http', url: `${server.url}/ready` }];
  return {
    plan: { environment: 'staging', baseUrl: server.url, settings: defaultSettings(), checks },
    deploy: Deploy.parse(deploy) as DeploySpec,
    version: 'v1',
    ref: 'a'.repeat(40),
    dryRun: false,
    runId: '101',
    runUrl: 'https://github.test/o/r/actions/runs/101',
    baseDir: dir,
    hasSecret: () => true,
    ...overrides,
  };
}

function deps(store: LocalDeploymentStore, spec: Record<string, unknown>, logger = log()) {
  return { store, provider: providerFor(Deploy.parse(spec) as DeploySpec), log: logger, secrets: new Secrets() };
}

describe('deploy engine', () => {
  it('records the deployment, runs the provider, waits for readiness and marks it successful', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'command', command: 'echo "deploying $ROLLGATE_VERSION to $ROLLGATE_ENVIRONMENT"' };
    const logger = log();
    const outcome = await runDeploy(request(spec), deps(store, spec, logger));
    expect(outcome.status).toBe('success');
    expect(logger.lines).toContain('deploying v1 to staging');
    const [record] = await store.list('staging', 10);
    expect(record).toMatchObject({ version: 'v1', runId: '101' });
    expect((await store.status(record!.id)).state).toBe('success');
    expect(outcome.environmentUrl).toBe(server.url);
  });

  it('waits until the readiness checks pass', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    ready = false;
    setTimeout(() => (ready = true), 1200);
    const spec = { provider: 'none', readiness: { interval: '300ms', timeout: '10s' } };
    const logger = log();
    const outcome = await runDeploy(request(spec), deps(new LocalDeploymentStore(dir), spec, logger));
    expect(outcome.status).toBe('success');
    expect(logger.lines.some((l) => l.startsWith('not ready yet (round 1)'))).toBe(true);
  });

  it('marks the deployment failed with the failing check\'s own message when it never becomes ready', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    ready = false;
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'none', readiness: { interval: '200ms', timeout: '1s' } };
    const outcome = await runDeploy(request(spec), deps(store, spec));
    expect(outcome.status).toBe('failure');
    expect(outcome.message).toMatch(/not ready within 1 s .*ready: .*503/);
    expect((await store.status(outcome.deploymentId!)).state).toBe('failure');
  });

  it('marks the deployment failed with the run link when the deploy command exits 1, and changes nothing else', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const good = { provider: 'none' };
    await runDeploy(request(good, { runId: '1', version: 'v0' }), deps(store, good));
    const bad = { provider: 'command', command: 'echo boom; exit 1' };
    const outcome = await runDeploy(request(bad, { runId: '2', version: 'v1' }), deps(store, bad));
    expect(outcome.status).toBe('failure');
    expect(outcome.message).toContain('exited with 1');
    const status = await store.status(outcome.deploymentId!);
    expect(status).toMatchObject({ state: 'failure', logUrl: 'https://github.test/o/r/actions/runs/101' });
    const [, earlier] = await store.list('staging', 10);
    expect((await store.status(earlier!.id)).state).toBe('success');
  });

  it('does not create a second deployment when the step is re-run after it succeeded; it reconciles the status', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'command', command: 'echo ran >> runs.txt' };
    const first = await runDeploy(request(spec), deps(store, spec));
    const second = await runDeploy(request(spec, { runAttempt: 2 }), deps(store, spec));
    expect(second).toMatchObject({ status: 'success', reconciled: true, deploymentId: first.deploymentId });
    expect(await store.list('staging', 10)).toHaveLength(1);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('reports the last successful version as previous-version', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'none' };
    await runDeploy(request(spec, { runId: '1', version: 'v1' }), deps(store, spec));
    const failing = { provider: 'command', command: 'exit 3' };
    await runDeploy(request(failing, { runId: '2', version: 'v2' }), deps(store, failing));
    const outcome = await runDeploy(request(spec, { runId: '3', version: 'v3' }), deps(store, spec));
    expect(outcome.previousVersion).toBe('v1');
  });

  it('refuses a second deployment while another run holds the environment, naming that run', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const holder = await store.create({ environment: 'staging', version: 'v9', ref: 'b'.repeat(40), production: false, transient: false, autoInactive: true, description: 'x', runId: '77', runUrl: 'https://github.test/o/r/actions/runs/77' });
    await store.setStatus(holder.id, { state: 'in_progress' });
    const spec = { provider: 'command', command: 'echo ran >> runs.txt' };
    const outcome = await runDeploy(request(spec), deps(store, spec));
    expect(outcome.status).toBe('refused');
    expect(outcome.message).toContain('https://github.test/o/r/actions/runs/77');
    // Its own record (made first, so simultaneous starts see each other) says why it stopped; nothing was deployed.
    expect((await store.status(outcome.deploymentId!)).state).toBe('error');
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(dir, 'runs.txt'))).toBe(false);
  });

  it('lets only one of two deploys started at the same moment run', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'command', command: 'sleep 0.3; echo "$ROLLGATE_VERSION" >> runs.txt' };
    const [a, b] = await Promise.all([
      runDeploy(request(spec, { runId: '1', version: 'r1' }), deps(store, spec)),
      runDeploy(request(spec, { runId: '2', version: 'r2' }), deps(store, spec)),
    ]);
    expect([a.status, b.status].sort()).toEqual(['refused', 'success']);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'runs.txt'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('does not let a re-run of the same run with another version be refused by its own earlier record', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const stuck = await store.create({ environment: 'staging', version: 'v1', ref: 'a'.repeat(40), production: false, transient: false, autoInactive: true, description: 'x', runId: '101' });
    await store.setStatus(stuck.id, { state: 'in_progress' });
    const spec = { provider: 'none' };
    const outcome = await runDeploy(request(spec, { version: 'v2', runAttempt: 2 }), deps(store, spec));
    expect(outcome.status).toBe('success');
  });

  it('still reports previous-version when the step is re-run after it succeeded (the older one is inactive by then)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'none' };
    await runDeploy(request(spec, { runId: '1', version: 'v1' }), deps(store, spec));
    const first = await runDeploy(request(spec, { runId: '2', version: 'v2' }), deps(store, spec));
    const rerun = await runDeploy(request(spec, { runId: '2', version: 'v2', runAttempt: 2 }), deps(store, spec));
    expect(first.previousVersion).toBe('v1');
    expect(rerun).toMatchObject({ reconciled: true, previousVersion: 'v1' });
  });

  it('refuses before touching anything when a required secret is missing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'none', requiredSecrets: ['DEPLOY_KEY'] };
    const outcome = await runDeploy(request(spec, { hasSecret: () => false }), deps(store, spec));
    expect(outcome.status).toBe('refused');
    expect(outcome.message).toContain('DEPLOY_KEY');
    expect(await store.list('staging', 10)).toHaveLength(0);
  });

  it('refuses when the target is unreachable and deploy.reachable is require, and only warns by default', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const { closedPort } = await import('../support/servers.js');
    const port = await closedPort();
    const plan = { environment: 'staging', baseUrl: `http://127.0.0.1:${port}/`, settings: defaultSettings(), checks: [] };
    const strict = { provider: 'none', reachable: 'require' };
    const refusedOutcome = await runDeploy(request(strict, { plan }), deps(store, strict));
    expect(refusedOutcome.status).toBe('refused');
    expect(refusedOutcome.message).toMatch(/target reachable: .*connection refused/);
    const lenient = { provider: 'none' };
    const warned = await runDeploy(request(lenient, { plan }), deps(store, lenient));
    expect(warned.status).toBe('success');
    expect(warned.preflight.find((p) => p.name === 'target reachable')!.message).toContain('deploying anyway');
  });

  it('only adds statuses to an existing deployment when given its id', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const existing = await store.create({ environment: 'staging', version: 'v1', ref: 'a'.repeat(40), production: false, transient: false, autoInactive: true, description: 'made elsewhere' });
    const spec = { provider: 'none' };
    const outcome = await runDeploy(request(spec, { existingDeploymentId: existing.id, runId: undefined }), deps(store, spec));
    expect(outcome).toMatchObject({ status: 'success', deploymentId: existing.id });
    expect(await store.list('staging', 10)).toHaveLength(1);
  });

  it('queues behind a deployment in progress when deploy.concurrency is queue, then deploys', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const holder = await store.create({ environment: 'staging', version: 'v0', ref: 'b'.repeat(40), production: false, transient: false, autoInactive: true, description: 'x', runId: '9', runUrl: 'https://github.test/o/r/actions/runs/9' });
    await store.setStatus(holder.id, { state: 'in_progress' });
    setTimeout(() => void store.setStatus(holder.id, { state: 'success' }), 300);
    // Waits are real but short: the clock's sleep is scaled down so the 5 s poll takes 50 ms.
    const { systemClock } = await import('../../packages/checks/model.js');
    const clock = { now: systemClock.now, sleep: (ms: number, signal?: AbortSignal) => systemClock.sleep(ms / 100, signal) };
    const spec = { provider: 'none', concurrency: 'queue' };
    const logger = log();
    const outcome = await runDeploy(request(spec), { ...deps(store, spec, logger), clock });
    expect(outcome.status).toBe('success');
    expect(logger.lines.some((l) => l.includes('waiting for deployment'))).toBe(true);
    expect(outcome.preflight.find((p) => p.name === 'no other deployment in progress')!.message).toContain('queued behind');
  });

  it('marks the record as error instead of leaving it in progress when something breaks mid-deploy', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'none' };
    const broken = { kind: 'none' as const, deploy: async () => { throw new Error('provider blew up'); } };
    const outcome = await runDeploy(request(spec), { ...deps(store, spec), provider: broken });
    expect(outcome).toMatchObject({ status: 'error', message: 'deploy stopped: provider blew up' });
    expect((await store.status(outcome.deploymentId!)).state).toBe('error');
  });

  it('plans without recording anything on a dry run', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-'));
    const store = new LocalDeploymentStore(dir);
    const spec = { provider: 'command', command: 'touch should-not-exist' };
    const outcome = await runDeploy(request(spec, { dryRun: true }), deps(store, spec));
    expect(outcome.status).toBe('dry-run');
    expect(outcome.message).toContain('would deploy v1');
    expect(await store.list('staging', 10)).toHaveLength(0);
  });
});
