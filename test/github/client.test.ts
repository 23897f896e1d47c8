import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  GitHubApiError,
  GitHubPermissionError,
  GitHubRateLimitError,
  createGitHubClient,
  repoFromEnv,
  runUrlFromEnv,
  withPermission,
  type GitHubClientOptions,
} from '../../packages/github/client.js';
import { GitHubDeploymentStore } from '../../packages/github/deployments.js';
import { fault, startFakeGitHub, type FakeGitHub } from '../support/fake-github/index.js';

const DEPLOYMENTS = '/repos/{owner}/{repo}/deployments';
const STATUSES = '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
const SHA = 'a'.repeat(40);

let fake: FakeGitHub;

beforeEach(async () => {
  fake = await startFakeGitHub();
});

afterEach(async () => {
  try {
    fake.assertNoViolations();
  } finally {
    await fake.close();
  }
});

function recordingLog(): GitHubClientOptions['log'] & { lines: string[] } {
  const lines: string[] = [];
  return { lines, debug: () => {}, info: (m) => lines.push(m), warning: (m) => lines.push(m) };
}

function client(log = recordingLog(), options: Partial<GitHubClientOptions> = {}) {
  return createGitHubClient({ token: 'test-token', baseUrl: fake.url, log, writeSpacingMs: 0, retryBaseDelayMs: 20, ...options });
}

function store(log = recordingLog(), options: Partial<GitHubClientOptions> = {}) {
  return new GitHubDeploymentStore({ octokit: client(log, options), owner: fake.owner, repo: fake.repo });
}

const deployment = {
  environment: 'staging',
  version: 'v1',
  ref: SHA,
  production: false,
  transient: false,
  autoInactive: true,
  description: 'deploy v1',
};

describe('rate limits', () => {
  it('waits as long as Retry-After says after a secondary rate limit, then succeeds', async () => {
    fake.failNext({ method: 'POST', path: DEPLOYMENTS }, fault.secondaryRateLimit(2));
    const log = recordingLog();
    const started = Date.now();
    const created = await store(log).create(deployment);
    const elapsed = Date.now() - started;
    expect(created.version).toBe('v1');
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect(elapsed).toBeLessThan(5000);
    expect(fake.count({ method: 'POST', path: DEPLOYMENTS })).toBe(2);
    expect(fake.repository.deployments).toHaveLength(1);
    expect(log.lines).toEqual([expect.stringMatching(/secondary rate limit on POST \/repos\/\{owner\}\/\{repo\}\/deployments: waiting 2s/)]);
  });

  it('waits for the reset time after a primary rate limit (x-ratelimit-remaining: 0), then succeeds', async () => {
    fake.failNext({ path: DEPLOYMENTS }, fault.rateLimit(0, 429));
    const log = recordingLog();
    const started = Date.now();
    await store(log).list('staging', 5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.count({ path: DEPLOYMENTS })).toBe(2);
    expect(log.lines[0]).toMatch(/rate limit on GET .*waiting 1s/);
  });

  it('gives up at once when GitHub asks for a longer wait than the budget', async () => {
    fake.failNext({ path: DEPLOYMENTS }, fault.secondaryRateLimit(120));
    const log = recordingLog();
    const started = Date.now();
    const failure = await store(log, { maxRateLimitWaitMs: 60_000 }).list('staging', 5).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(failure).toBeInstanceOf(GitHubRateLimitError);
    expect((failure as Error).message).toMatch(/GitHub rate-limited GET \/repos\/octo-org\/octo-repo\/deployments \(403 "You have exceeded a secondary rate limit/);
    expect(fake.count()).toBe(1);
    expect(log.lines[0]).toMatch(/asks to wait 120s, which would exceed the 60s/);
  });

  it('stops after the configured number of rate-limit retries', async () => {
    fake.failNext({ path: DEPLOYMENTS, times: 2 }, fault.secondaryRateLimit(1));
    const log = recordingLog();
    await expect(store(log, { retries: 1 }).list('staging', 5)).rejects.toBeInstanceOf(GitHubRateLimitError);
    expect(fake.count()).toBe(2);
    expect(log.lines.at(-1)).toMatch(/still limited after 1 retry; giving up/);
  });
});

describe('permission errors', () => {
  it('fails at once on "Resource not accessible by integration", naming deployments: write', async () => {
    fake.failNext({ method: 'POST', path: DEPLOYMENTS }, fault.permission());
    const started = Date.now();
    const failure = await store().create(deployment).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.count()).toBe(1);
    expect(failure).toBeInstanceOf(GitHubPermissionError);
    expect(failure).toMatchObject({ permission: 'deployments: write', status: 403 });
    expect((failure as Error).message).toContain('GitHub refused POST /repos/octo-org/octo-repo/deployments with 403 "Resource not accessible by integration"');
    expect((failure as Error).message).toContain('permissions:\n    deployments: write');
    expect((failure as Error).message).toContain('https://docs.github.com/rest/deployments/deployments#create-a-deployment');
  });

  it('names the permission the caller states for any call', async () => {
    fake.failNext({}, fault.permission('Must have admin rights to Repository.'));
    const octokit = client();
    const failure = await withPermission('issues: write', () => octokit.rest.issues.create({ owner: fake.owner, repo: fake.repo, title: 't' })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GitHubPermissionError);
    expect((failure as Error).message).toContain('"issues: write"');
    expect(fake.count()).toBe(1);
  });
});

describe('server errors', () => {
  it('retries a 5xx answer and succeeds', async () => {
    fake.failNext({ method: 'POST', path: STATUSES }, fault.serverError(502));
    const github = store();
    const created = await github.create(deployment);
    await github.setStatus(created.id, { state: 'success' });
    expect(fake.count({ method: 'POST', path: STATUSES })).toBe(2);
    expect(fake.repository.deployments[0]!.statuses.map((s) => s.state)).toEqual(['success']);
  });

  it('fails with the endpoint and GitHub\'s message once retries are used up', async () => {
    fake.failNext({ path: DEPLOYMENTS, times: 3 }, fault.serverError(503));
    const failure = await store(recordingLog(), { retries: 2 }).list('staging', 5).catch((error: unknown) => error);
    expect(fake.count()).toBe(3);
    expect(failure).toBeInstanceOf(GitHubApiError);
    expect((failure as Error).message).toBe('GitHub answered 503 to GET /repos/octo-org/octo-repo/deployments: "Server Error"');
  });

  it('does not retry a 422: the request itself is wrong', async () => {
    const github = store();
    const created = await github.create(deployment);
    fake.failNext({ path: STATUSES }, fault.custom(422, { message: 'Validation Failed', documentation_url: 'https://docs.github.com/rest' }));
    await expect(github.setStatus(created.id, { state: 'success' })).rejects.toBeInstanceOf(GitHubApiError);
    expect(fake.count({ path: STATUSES })).toBe(1);
  });
});

describe('write spacing', () => {
  it('leaves the configured gap between two writes', async () => {
    const github = store(recordingLog(), { writeSpacingMs: 250 });
    const created = await github.create(deployment);
    await github.setStatus(created.id, { state: 'in_progress' });
    const [first, second] = fake.callsMatching({ method: 'POST' });
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(240);
  });
});

describe('configuration', () => {
  it('refuses to build a client without a token, saying where one comes from', () => {
    expect(() => createGitHubClient({ token: '', log: recordingLog() })).toThrow(/a GitHub token is needed .*github\.token/);
  });
});

describe('run environment', () => {
  it('reads owner and repo from GITHUB_REPOSITORY', () => {
    expect(repoFromEnv({ GITHUB_REPOSITORY: 'octo-org/octo-repo' })).toEqual({ owner: 'octo-org', repo: 'octo-repo' });
    expect(repoFromEnv({})).toBeUndefined();
    expect(repoFromEnv({ GITHUB_REPOSITORY: 'not-a-repo' })).toBeUndefined();
  });

  it('builds the run URL, with the attempt on a re-run', () => {
    const env = { GITHUB_SERVER_URL: 'https://github.example.com', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '123' };
    expect(runUrlFromEnv(env)).toBe('https://github.example.com/o/r/actions/runs/123');
    expect(runUrlFromEnv({ ...env, GITHUB_RUN_ATTEMPT: '1' })).toBe('https://github.example.com/o/r/actions/runs/123');
    expect(runUrlFromEnv({ ...env, GITHUB_RUN_ATTEMPT: '3' })).toBe('https://github.example.com/o/r/actions/runs/123/attempts/3');
    expect(runUrlFromEnv({ GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '9' })).toBe('https://github.com/o/r/actions/runs/9');
    expect(runUrlFromEnv({})).toBeUndefined();
  });
});
