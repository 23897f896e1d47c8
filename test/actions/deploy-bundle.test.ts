/**
 * The committed deploy bundle, run as the runner runs it, against the fake GitHub API (every request validated against
 * GitHub's OpenAPI description) and a real local service for readiness.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../support/run-action.js';
import { startHttpServer, type TestServer } from '../support/servers.js';
import { fault, startFakeGitHub, type FakeGitHub } from '../support/fake-github/index.js';
import { pullRequestEvent } from '../support/fake-github/payloads.js';

let github: FakeGitHub;
let service: TestServer;
let dir: string;

beforeAll(async () => {
  service = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
});
afterAll(async () => {
  await service.close();
});
beforeEach(async () => {
  github = await startFakeGitHub({ token: 'ghs_faketoken123456' });
  dir = mkdtempSync(join(tmpdir(), 'rollgate-deploy-bundle-'));
});
afterEach(async () => {
  github.assertNoViolations();
  await github.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(command: string, extra = ''): string {
  const file = join(dir, 'rollgate.yml');
  writeFileSync(
    file,
    [
      'version: 1',
      'checks:',
      '  - { name: health, type: http, url: /health }',
      'environments:',
      '  staging:',
      `    url: ${service.url}`,
      '    deploy:',
      '      provider: command',
      `      command: ${JSON.stringify(command)}`,
      '      readiness: { timeout: 10s, interval: 200ms }',
      ...(extra ? [extra] : []),
    ].join('\n'),
  );
  return file;
}

function runnerEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: `${github.owner}/${github.repo}`,
    GITHUB_API_URL: github.url,
    GITHUB_SERVER_URL: 'https://github.test',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_SHA: 'c'.repeat(40),
    GITHUB_EVENT_NAME: 'push',
    ROLLGATE_GITHUB_WRITE_SPACING_MS: '0',
    ...extra,
  };
}

const inputs = (configFile: string, more: Record<string, string> = {}) => ({ config: configFile, environment: 'staging', token: 'ghs_faketoken123456', ...more });

describe('deploy action bundle', () => {
  it('deploys, waits for readiness and records in_progress then success with the run link, in at most 5 API calls', async () => {
    const file = config('echo "deploying $ROLLGATE_VERSION"');
    const previous = github.seedDeployment({ environment: 'staging', ref: 'd'.repeat(40), sha: 'd'.repeat(40), payload: { version: 'v0' }, states: ['success'] });
    github.resetCalls();
    const run = await runAction('deploy', inputs(file, { version: 'v1' }), { env: runnerEnv(), cwd: dir });
    expect(run.stderr + run.stdout).not.toMatch(/::error/);
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ status: 'success', 'previous-version': 'v0', 'environment-url': `${service.url}/` });
    const created = github.repository.deployments.find((d) => String(d.id) === run.outputs['deployment-id'])!;
    expect(created.sha).toBe('c'.repeat(40));
    expect(created.statuses.filter((s) => !s.automatic).map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(created.statuses.at(-1)).toMatchObject({ logUrl: 'https://github.test/octo-org/octo-repo/actions/runs/4242', environmentUrl: `${service.url}/` });
    expect(github.count()).toBeLessThanOrEqual(5);
    expect(previous.id).not.toBe(created.id);
  });

  it('points the record at the PR head SHA on pull_request events, not the merge commit', async () => {
    const event = pullRequestEvent(dir, { owner: github.owner, repo: github.repo, headSha: 'e'.repeat(40), mergeSha: 'f'.repeat(40) });
    const run = await runAction('deploy', inputs(config('true')), { env: runnerEnv({ ...event.env, GITHUB_REPOSITORY: `${github.owner}/${github.repo}` }), cwd: dir });
    expect(run.code).toBe(0);
    expect(github.repository.deployments.at(-1)!.sha).toBe('e'.repeat(40));
  });

  it('waits about 2 s on a secondary rate limit with Retry-After: 2, then succeeds', async () => {
    github.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.secondaryRateLimit(2));
    const run = await runAction('deploy', inputs(config('true')), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(0);
    expect(run.durationMs).toBeGreaterThanOrEqual(1900);
    expect(github.count({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' })).toBe(2);
  });

  it('fails at once naming deployments: write when the token may not create deployments', async () => {
    github.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.permission());
    const run = await runAction('deploy', inputs(config('true')), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('deployments: write');
    expect(github.count({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' })).toBe(1);
    expect(run.durationMs).toBeLessThan(10_000);
  });

  it('masks a configured secret that the deploy command prints', async () => {
    const run = await runAction(
      'deploy',
      inputs(config('echo "the key is $DEPLOY_KEY"', '      env: { DEPLOY_KEY: "${secret:DEPLOY_KEY}" }'), { secrets: 'DEPLOY_KEY=sk-live-0123456789abcdef' }),
      { env: runnerEnv(), cwd: dir },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('the key is ***');
    expect(run.stdout.replace('::add-mask::sk-live-0123456789abcdef', '')).not.toContain('sk-live-0123456789abcdef');
  });

  it('does not create a second deployment when the step is re-run after the provider succeeded', async () => {
    const file = config('true');
    const first = await runAction('deploy', inputs(file, { version: 'v1' }), { env: runnerEnv(), cwd: dir });
    const second = await runAction('deploy', inputs(file, { version: 'v1' }), { env: runnerEnv({ GITHUB_RUN_ATTEMPT: '2' }), cwd: dir });
    expect(second.code).toBe(0);
    expect(second.outputs['deployment-id']).toBe(first.outputs['deployment-id']);
    expect(github.repository.deployments).toHaveLength(1);
    expect(second.stdout).toContain('reconciling it without deploying again');
  });

  it('marks the deployment failed with the run link and fails the step when the deploy command exits 1', async () => {
    const run = await runAction('deploy', inputs(config('echo broken; exit 1')), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('failure');
    const record = github.repository.deployments.at(-1)!;
    expect(record.statuses.at(-1)).toMatchObject({ state: 'failure', logUrl: 'https://github.test/octo-org/octo-repo/actions/runs/4242' });
    expect(github.repository.deployments).toHaveLength(1);
  });

  it('refuses a second deploy while another run holds the environment, naming that run', async () => {
    github.seedDeployment({ environment: 'staging', ref: 'd'.repeat(40), sha: 'd'.repeat(40), payload: { version: 'v9', runId: '77', runUrl: 'https://github.test/octo-org/octo-repo/actions/runs/77' }, states: ['in_progress'] });
    const run = await runAction('deploy', inputs(config('true')), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(1);
    expect(run.outputs.status).toBe('refused');
    expect(run.stdout).toContain('https://github.test/octo-org/octo-repo/actions/runs/77');
    const ours = github.repository.deployments.find((d) => String(d.id) === run.outputs['deployment-id'])!;
    expect(ours.statuses.map((s) => s.state)).toEqual(['error']);
  });

  it('refuses a version with a line break, so it cannot smuggle workflow commands into the log', async () => {
    const run = await runAction('deploy', inputs(config('true'), { version: '1.0\n::warning title=INJECTED::from version' }), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('contains a line break');
    expect(run.stdout).not.toMatch(/^::warning title=INJECTED/m);
    expect(github.repository.deployments).toHaveLength(0);
  });

  it('finishes when the deploy command leaves a background process holding its output', async () => {
    const run = await runAction('deploy', inputs(config('sleep 8 & echo started')), { env: runnerEnv(), cwd: dir, timeoutMs: 30_000 });
    expect(run.code).toBe(0);
    expect(run.durationMs).toBeLessThan(6_000);
  }, 40_000);

  it('does not wait for a deployment left in progress by a run that has finished (a killed runner)', async () => {
    github.seedRun(77, 'completed', 'cancelled');
    github.seedDeployment({ environment: 'staging', ref: 'd'.repeat(40), sha: 'd'.repeat(40), payload: { version: 'v9', runId: '77', runUrl: 'https://github.test/octo-org/octo-repo/actions/runs/77' }, states: ['in_progress'] });
    const run = await runAction('deploy', inputs(config('true')), { env: runnerEnv(), cwd: dir });
    expect(run.code).toBe(0);
    expect(run.outputs.status).toBe('success');
    expect(run.stdout).toContain('which has finished; not waiting for it');
  });
});
