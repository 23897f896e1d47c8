import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { CreateDeployment, DeploymentStore } from '../../packages/deploy/model.js';
import { LocalDeploymentStore } from '../../packages/deploy/local-store.js';
import { deploymentRef } from '../../packages/deploy/ref.js';
import { createGitHubClient } from '../../packages/github/client.js';
import { GitHubDeploymentStore } from '../../packages/github/deployments.js';
import { fault, startFakeGitHub, type FakeGitHub } from '../support/fake-github/index.js';
import { pullRequestEvent } from '../support/fake-github/payloads.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const quiet = { debug: () => {}, info: () => {}, warning: () => {} };

function input(overrides: Partial<CreateDeployment> = {}): CreateDeployment {
  return {
    environment: 'staging',
    version: 'v1',
    ref: SHA_A,
    production: false,
    transient: false,
    autoInactive: true,
    description: 'deploy v1',
    runId: '101',
    runUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101',
    ...overrides,
  };
}

interface StoreUnderTest {
  store: DeploymentStore;
  /** An id the store has never handed out. */
  unknownId: string;
  done(): Promise<void>;
}

async function localStore(): Promise<StoreUnderTest> {
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-store-'));
  return { store: new LocalDeploymentStore(join(dir, '.rollgate')), unknownId: 'local-999', done: async () => rmSync(dir, { recursive: true, force: true }) };
}

async function githubStore(): Promise<StoreUnderTest> {
  const fake = await startFakeGitHub();
  const octokit = createGitHubClient({ token: 'test-token', baseUrl: fake.url, log: quiet, writeSpacingMs: 0, retries: 0 });
  return {
    store: new GitHubDeploymentStore({ octokit, owner: fake.owner, repo: fake.repo }),
    unknownId: '999999',
    done: async () => {
      try {
        fake.assertNoViolations();
      } finally {
        await fake.close();
      }
    },
  };
}

// The contract every DeploymentStore keeps, written once and run against each implementation.
describe.each([
  ['LocalDeploymentStore', localStore],
  ['GitHubDeploymentStore (fake GitHub)', githubStore],
])('%s', (_name, make) => {
  let subject: StoreUnderTest;
  let store: DeploymentStore;

  beforeEach(async () => {
    subject = await make();
    store = subject.store;
  });

  afterEach(async () => {
    await subject.done();
  });

  it('creates a record that lists with its version, ref, run and flags', async () => {
    const created = await store.create(input({ production: true, environment: 'production' }));
    expect(created).toMatchObject({
      environment: 'production',
      version: 'v1',
      ref: SHA_A,
      runId: '101',
      runUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101',
      production: true,
      transient: false,
    });
    expect(Date.parse(created.createdAt)).not.toBeNaN();
    expect(await store.list('production', 10)).toEqual([created]);
  });

  it("lists an environment's deployments newest first, up to the limit", async () => {
    const first = await store.create(input({ version: 'v1' }));
    const second = await store.create(input({ version: 'v2' }));
    const third = await store.create(input({ version: 'v3' }));
    await store.create(input({ environment: 'qa', version: 'v9' }));
    expect((await store.list('staging', 10)).map((d) => d.id)).toEqual([third.id, second.id, first.id]);
    expect((await store.list('staging', 2)).map((d) => d.version)).toEqual(['v3', 'v2']);
    expect((await store.list('qa', 10)).map((d) => d.version)).toEqual(['v9']);
    expect(await store.list('nowhere', 10)).toEqual([]);
  });

  it('reports pending for a deployment without a status, then always the latest status', async () => {
    const created = await store.create(input());
    expect(await store.status(created.id)).toEqual({ state: 'pending' });
    await store.setStatus(created.id, { state: 'queued', description: 'waiting' });
    await store.setStatus(created.id, { state: 'in_progress', description: 'deploying v1', logUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101' });
    await store.setStatus(created.id, { state: 'success', description: 'v1 is ready', environmentUrl: 'https://staging.example.com', logUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101' });
    expect(await store.status(created.id)).toMatchObject({
      state: 'success',
      description: 'v1 is ready',
      environmentUrl: 'https://staging.example.com',
      logUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101',
    });
  });

  it('marks the earlier successful deployment of the environment inactive when a new one succeeds', async () => {
    const old = await store.create(input({ version: 'v1' }));
    await store.setStatus(old.id, { state: 'success' });
    const failed = await store.create(input({ version: 'v2' }));
    await store.setStatus(failed.id, { state: 'failure' });
    const next = await store.create(input({ version: 'v3' }));
    await store.setStatus(next.id, { state: 'success' });
    expect((await store.status(old.id)).state).toBe('inactive');
    expect((await store.status(failed.id)).state).toBe('failure');
    expect((await store.status(next.id)).state).toBe('success');
  });

  it('leaves earlier deployments successful when the new status says autoInactive false (per-PR previews)', async () => {
    const one = await store.create(input({ environment: 'preview', version: 'pr-1' }));
    await store.setStatus(one.id, { state: 'success', autoInactive: false });
    const two = await store.create(input({ environment: 'preview', version: 'pr-2' }));
    await store.setStatus(two.id, { state: 'success', autoInactive: false });
    expect((await store.status(one.id)).state).toBe('success');
  });

  it('follows GitHub\'s documented rule: transient and production deployments are not deactivated', async () => {
    const transient = await store.create(input({ transient: true }));
    await store.setStatus(transient.id, { state: 'success' });
    const production = await store.create(input({ environment: 'production', production: true }));
    await store.setStatus(production.id, { state: 'success' });
    for (const environment of ['staging', 'production']) {
      const next = await store.create(input({ environment, production: environment === 'production' }));
      await store.setStatus(next.id, { state: 'success' });
    }
    expect((await store.status(transient.id)).state).toBe('success');
    expect((await store.status(production.id)).state).toBe('success');
  });

  it('refuses a status for a deployment it does not know', async () => {
    await expect(store.status(subject.unknownId)).rejects.toThrow();
    await expect(store.setStatus(subject.unknownId, { state: 'success' })).rejects.toThrow();
  });
});

describe('GitHubDeploymentStore', () => {
  let fake: FakeGitHub;
  let store: GitHubDeploymentStore;

  beforeEach(async () => {
    fake = await startFakeGitHub();
    const octokit = createGitHubClient({ token: 'test-token', baseUrl: fake.url, log: quiet, writeSpacingMs: 0, retries: 0 });
    store = new GitHubDeploymentStore({ octokit, owner: fake.owner, repo: fake.repo });
  });

  afterEach(async () => {
    try {
      fake.assertNoViolations();
    } finally {
      await fake.close();
    }
  });

  it('creates the deployment for the SHA without auto-merge or commit status checks, rollgate facts in the payload', async () => {
    await store.create(input({ payload: { image: 'app:v1', version: 'not-this' } }));
    const [call] = fake.callsMatching({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' });
    expect(call!.body).toEqual({
      ref: SHA_A,
      environment: 'staging',
      task: 'deploy',
      auto_merge: false,
      required_contexts: [],
      production_environment: false,
      transient_environment: false,
      payload: { image: 'app:v1', version: 'v1', runId: '101', runUrl: 'https://github.com/octo-org/octo-repo/actions/runs/101' },
      description: 'deploy v1',
    });
    expect(store.description).toBe('GitHub Deployments of octo-org/octo-repo');
  });

  it('deploys despite failing commit statuses, since rollgate checks are the gate', async () => {
    fake.seedCommitStatus(SHA_A, 'ci/flaky', 'failure');
    await expect(store.create(input())).resolves.toMatchObject({ ref: SHA_A });
  });

  it('makes one API call per store method', async () => {
    const created = await store.create(input());
    await store.setStatus(created.id, { state: 'success', autoInactive: false });
    await store.status(created.id);
    await store.list('staging', 10);
    expect(fake.calls.map((call) => `${call.method} ${call.template}`)).toEqual([
      'POST /repos/{owner}/{repo}/deployments',
      'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
      'GET /repos/{owner}/{repo}/deployments',
    ]);
    expect(fake.calls[2]!.query).toBe('per_page=1');
    expect(fake.calls[3]!.query).toBe('environment=staging&per_page=10');
    expect(fake.calls[1]!.body).toEqual({ state: 'success', auto_inactive: false });
  });

  it("shortens a status description to GitHub's 140 characters instead of failing the step", async () => {
    const created = await store.create(input({ description: 'd'.repeat(300) }));
    await store.setStatus(created.id, { state: 'failure', description: `readiness failed: ${'x'.repeat(200)}` });
    const status = await store.status(created.id);
    expect(status.description).toHaveLength(140);
    expect(status.description!.endsWith('…')).toBe(true);
  });

  it('points a pull_request deployment at the PR head SHA, not the merge commit in GITHUB_SHA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollgate-event-'));
    try {
      const event = pullRequestEvent(dir, { number: 7, headSha: SHA_A, mergeSha: SHA_B });
      fake.seedPull({ number: 7, headSha: SHA_A });
      const ref = deploymentRef({ env: event.env });
      expect(ref).toBe(SHA_A);
      await store.create(input({ ref: ref!, environment: 'pr-7', transient: true }));
      expect(fake.repository.deployments[0]).toMatchObject({ sha: SHA_A, ref: SHA_A });
      expect(fake.repository.deployments[0]!.sha).not.toBe(event.env.GITHUB_SHA);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads deployments other tools made: a JSON string payload, or none (the version is then the SHA)', async () => {
    const octokit = createGitHubClient({ token: 't', baseUrl: fake.url, log: quiet, writeSpacingMs: 0 });
    await octokit.rest.repos.createDeployment({ owner: fake.owner, repo: fake.repo, ref: SHA_B, environment: 'staging', auto_merge: false, required_contexts: [] });
    await octokit.rest.repos.createDeployment({ owner: fake.owner, repo: fake.repo, ref: SHA_A, environment: 'staging', auto_merge: false, required_contexts: [], payload: '{"version":"2.0.0"}' });
    const [withString, withNone] = await store.list('staging', 10);
    expect(withString).toMatchObject({ version: '2.0.0', ref: SHA_A });
    expect(withString!.runId).toBeUndefined();
    expect(withNone).toMatchObject({ version: SHA_B, ref: SHA_B });
  });

  it('treats an auto-merge answer (202) as no deployment', async () => {
    fake.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.custom(202, { message: 'Auto-merged main into topic on deployment.' }));
    await expect(store.create(input())).rejects.toThrow(/did not create a deployment of a{40} to staging \(202: Auto-merged main/);
  });

  it('explains a 409 conflict', async () => {
    fake.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.custom(409, { message: 'Conflict: Commit status checks failed for main.' }));
    await expect(store.create(input())).rejects.toThrow(/GitHub refused to create a deployment of a{40} to staging \(409: Conflict/);
  });

  it('rejects a deployment id that is not a number before calling GitHub', async () => {
    await expect(store.status('local-3')).rejects.toThrow('"local-3" is not a GitHub deployment id');
    expect(fake.count()).toBe(0);
  });
});

describe('LocalDeploymentStore', () => {
  let dir: string;
  let stateDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'rollgate-local-'));
    stateDir = join(dir, '.rollgate');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps records in deployments.json under the state folder, with ids like local-1, and no temporary files', async () => {
    const store = new LocalDeploymentStore(stateDir);
    const first = await store.create(input());
    const second = await store.create(input({ version: 'v2' }));
    expect([first.id, second.id]).toEqual(['local-1', 'local-2']);
    expect(readdirSync(stateDir)).toEqual(['deployments.json']);
    const saved = JSON.parse(readFileSync(join(stateDir, 'deployments.json'), 'utf8')) as { deployments: { version: string }[] };
    expect(saved.deployments.map((d) => d.version)).toEqual(['v1', 'v2']);
    expect(store.file).toBe(join(stateDir, 'deployments.json'));
  });

  it('describes itself by a path relative to the working directory when it can', () => {
    expect(new LocalDeploymentStore(resolve('.rollgate')).description).toBe(join('.rollgate', 'deployments.json'));
    expect(new LocalDeploymentStore(stateDir).description).toBe(join(stateDir, 'deployments.json'));
  });

  it('loses no record when many writers in one process create deployments at once', async () => {
    const stores = [new LocalDeploymentStore(stateDir), new LocalDeploymentStore(stateDir)];
    const created = await Promise.all(Array.from({ length: 24 }, (_, i) => stores[i % 2]!.create(input({ version: `v${i}` }))));
    expect(new Set(created.map((d) => d.id)).size).toBe(24);
    expect(await stores[0]!.list('staging', 100)).toHaveLength(24);
  });

  it('loses no record when two processes write at once', async () => {
    const script = join(dir, 'writer.mts');
    const storeModule = new URL('../../packages/deploy/local-store.ts', import.meta.url).href;
    writeFileSync(
      script,
      `import { LocalDeploymentStore } from ${JSON.stringify(storeModule)};\n` +
        'const store = new LocalDeploymentStore(process.argv[2]);\n' +
        "await Promise.all(Array.from({ length: 10 }, (_, i) => store.create({ environment: 'staging', version: process.argv[3] + '-' + i, ref: 'a'.repeat(40), production: false, transient: false, autoInactive: true, description: 'x' })));\n",
    );
    const run = promisify(execFile);
    const root = resolve(import.meta.dirname, '../..');
    await Promise.all(['p1', 'p2'].map((name) => run(process.execPath, ['--import', 'tsx', script, stateDir, name], { cwd: root })));
    const records = await new LocalDeploymentStore(stateDir).list('staging', 100);
    expect(records).toHaveLength(20);
    expect(new Set(records.map((d) => d.id)).size).toBe(20);
    expect(existsSync(join(stateDir, 'deployments.json.lock'))).toBe(false);
  });

  it('breaks a lock left behind by a process that died', async () => {
    mkdirSync(stateDir, { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(stateDir, 'deployments.json.lock'), JSON.stringify({ pid: dead, host: hostname(), token: 'old', since: '2020-01-01T00:00:00Z' }));
    const store = new LocalDeploymentStore(stateDir, { lockTimeoutMs: 2000 });
    await expect(store.create(input())).resolves.toMatchObject({ id: 'local-1' });
  });

  it('breaks a lock older than the stale limit even if its owner cannot be checked', async () => {
    mkdirSync(stateDir, { recursive: true });
    const lock = join(stateDir, 'deployments.json.lock');
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'another-machine', token: 'old', since: '2020-01-01T00:00:00Z' }));
    const old = new Date(Date.now() - 120_000);
    utimesSync(lock, old, old);
    await expect(new LocalDeploymentStore(stateDir, { lockTimeoutMs: 2000 }).create(input())).resolves.toMatchObject({ id: 'local-1' });
  });

  it('waits for a live lock, then names its holder and the file to delete', async () => {
    mkdirSync(stateDir, { recursive: true });
    const lock = join(stateDir, 'deployments.json.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: 'busy', since: '2024-05-01T10:00:00.000Z' }));
    const started = Date.now();
    const failure = (await new LocalDeploymentStore(stateDir, { lockTimeoutMs: 300 }).create(input()).catch((error: unknown) => error)) as Error;
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(failure.message).toContain(`process ${process.pid} on ${hostname()} since 2024-05-01T10:00:00.000Z holds ${lock}`);
    expect(failure.message).toContain('If no rollgate is running, delete that file.');
    expect(existsSync(lock)).toBe(true);
  });

  it('refuses a damaged file instead of starting a new history over it', async () => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(join(stateDir, 'deployments.json'), '{"deployments": [');
    const store = new LocalDeploymentStore(stateDir);
    await expect(store.list('staging', 5)).rejects.toThrow(/deployments\.json is not a rollgate deployment record .*fix it or move it away/);
    await expect(store.create(input())).rejects.toThrow(/not a rollgate deployment record/);
    expect(readFileSync(join(stateDir, 'deployments.json'), 'utf8')).toBe('{"deployments": [');
  });
});
