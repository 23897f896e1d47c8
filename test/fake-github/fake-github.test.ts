import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitHubClient, type GitHubClient } from '../../packages/github/client.js';
import { fault, startFakeGitHub, type FakeGitHub } from '../support/fake-github/index.js';
import { examplePayload, pullRequestEvent } from '../support/fake-github/payloads.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const quiet = { debug: () => {}, info: () => {}, warning: () => {} };

let fake: FakeGitHub;
let octokit: GitHubClient;
let owner: string;
let repo: string;

beforeEach(async () => {
  // The fake checks its own answers against the response schemas here: a shape drift shows up as a violation.
  fake = await startFakeGitHub({ validateResponses: true });
  octokit = createGitHubClient({ token: 'test-token', baseUrl: fake.url, log: quiet, retries: 0, writeSpacingMs: 0 });
  ({ owner, repo } = fake);
});

afterEach(async () => {
  try {
    fake.assertNoViolations();
  } finally {
    await fake.close();
  }
});

async function raw(path: string, init: RequestInit = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(`${fake.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function createDeployment(environment: string, extra: Record<string, unknown> = {}): Promise<number> {
  const { data } = await octokit.rest.repos.createDeployment({ owner, repo, ref: SHA_A, environment, auto_merge: false, required_contexts: [], ...extra });
  return (data as { id: number }).id;
}

async function states(id: number): Promise<string[]> {
  const { data } = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: id });
  return data.map((status) => status.state);
}

describe('the fake GitHub judges requests by the OpenAPI description', () => {
  it('answers an endpoint that GitHub does not have with 404 and records a violation', async () => {
    const response = await raw(`/repos/${owner}/${repo}/deploymentz`);
    expect(response.status).toBe(404);
    expect(response.body.message).toBe('Not Found');
    const violations = fake.takeViolations();
    expect(violations).toEqual([expect.objectContaining({ kind: 'unknown-endpoint', method: 'GET', path: `/repos/${owner}/${repo}/deploymentz` })]);
  });

  it('answers a method the path does not have with 404 and records a violation naming the allowed methods', async () => {
    const response = await raw(`/repos/${owner}/${repo}/deployments`, { method: 'PUT', body: '{}' });
    expect(response.status).toBe(404);
    const [violation] = fake.takeViolations();
    expect(violation).toMatchObject({ kind: 'method-not-allowed', template: '/repos/{owner}/{repo}/deployments' });
    expect(violation!.message).toContain('GET, POST');
  });

  it('answers a body that breaks the operation schema with 422 and records which field is wrong', async () => {
    const id = await createDeployment('staging');
    await expect(
      // A route typed as plain string: octokit's types would (rightly) refuse this body.
      octokit.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses' as string, { owner, repo, deployment_id: id, state: 'done' }),
    ).rejects.toMatchObject({ status: 422 });
    const [violation] = fake.takeViolations();
    expect(violation).toMatchObject({ kind: 'invalid-body', template: '/repos/{owner}/{repo}/deployments/{deployment_id}/statuses' });
    expect(violation!.message).toContain('body.state must be equal to one of the allowed values');
    expect(fake.repository.deployments[0]!.statuses).toEqual([]);
  });

  it('answers a missing required field with 422', async () => {
    await expect(octokit.request('POST /repos/{owner}/{repo}/deployments' as string, { owner, repo, environment: 'staging' })).rejects.toMatchObject({ status: 422 });
    expect(fake.takeViolations()[0]!.message).toContain("must have required property 'ref'");
  });

  it('records a body field the operation does not know, since GitHub would silently ignore the typo', async () => {
    const id = await createDeployment('staging');
    await octokit.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', { owner, repo, deployment_id: id, state: 'success', autoInactive: false });
    const [violation] = fake.takeViolations();
    expect(violation).toMatchObject({ kind: 'unknown-body-field' });
    expect(violation!.message).toContain('"autoInactive"');
  });

  it('records an unknown query parameter and rejects a query value of the wrong type', async () => {
    await octokit.request('GET /repos/{owner}/{repo}/deployments', { owner, repo, environmnt: 'staging' });
    expect(fake.takeViolations()[0]).toMatchObject({ kind: 'unknown-query-parameter' });
    const response = await raw(`/repos/${owner}/${repo}/deployments?per_page=lots`);
    expect(response.status).toBe(422);
    expect(fake.takeViolations()[0]).toMatchObject({ kind: 'invalid-query' });
  });

  it('answers a real endpoint it does not implement with 501 and a violation that says where to add it', async () => {
    const response = await raw(`/repos/${owner}/${repo}/releases`);
    expect(response.status).toBe(501);
    expect(fake.takeViolations()[0]!.message).toContain('repos/list-releases');
  });

  it('lists every violation in the error assertNoViolations throws', async () => {
    await raw('/nope');
    await raw(`/repos/${owner}/${repo}/issues`, { method: 'POST', body: JSON.stringify({ body: 'no title' }) });
    expect(() => fake.assertNoViolations()).toThrow(/saw 2 request\(s\)[\s\S]*1\. \[unknown-endpoint\] GET \/nope[\s\S]*2\. \[invalid-body\] POST/);
    fake.takeViolations();
  });

  it('requires the configured token when given one', async () => {
    const strict = await startFakeGitHub({ token: 'right' });
    try {
      const wrong = createGitHubClient({ token: 'wrong', baseUrl: strict.url, log: quiet, retries: 0 });
      await expect(wrong.rest.repos.get({ owner: strict.owner, repo: strict.repo })).rejects.toMatchObject({ status: 401 });
      const right = createGitHubClient({ token: 'right', baseUrl: strict.url, log: quiet, retries: 0 });
      await expect(right.rest.repos.get({ owner: strict.owner, repo: strict.repo })).resolves.toMatchObject({ status: 200 });
    } finally {
      await strict.close();
    }
  });
});

describe('deployments and statuses', () => {
  it('round-trips a deployment and its statuses through octokit, statuses newest first', async () => {
    const { data: created, status } = await octokit.rest.repos.createDeployment({
      owner,
      repo,
      ref: SHA_A,
      environment: 'staging',
      auto_merge: false,
      required_contexts: [],
      payload: { version: 'v1.2.3', runId: '42' },
      description: 'deploy v1.2.3',
      transient_environment: false,
      production_environment: false,
    });
    expect(status).toBe(201);
    const id = (created as { id: number }).id;
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: id, state: 'in_progress', log_url: 'https://github.com/o/r/actions/runs/42' });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: id, state: 'success', environment_url: 'https://staging.example.com' });

    const { data: deployment } = await octokit.rest.repos.getDeployment({ owner, repo, deployment_id: id });
    expect(deployment).toMatchObject({ id, sha: SHA_A, ref: SHA_A, environment: 'staging', payload: { version: 'v1.2.3', runId: '42' }, description: 'deploy v1.2.3', production_environment: false });
    const { data: statuses } = await octokit.rest.repos.listDeploymentStatuses({ owner, repo, deployment_id: id });
    expect(statuses.map((s) => [s.state, s.environment_url, s.log_url])).toEqual([
      ['success', 'https://staging.example.com', ''],
      ['in_progress', '', 'https://github.com/o/r/actions/runs/42'],
    ]);
    expect(statuses[1]!.target_url).toBe('https://github.com/o/r/actions/runs/42');
    const { data: one } = await octokit.rest.repos.getDeploymentStatus({ owner, repo, deployment_id: id, status_id: statuses[0]!.id });
    expect(one.state).toBe('success');
  });

  it('marks the earlier successful deployment of the environment inactive when a new one succeeds', async () => {
    const first = await createDeployment('staging', { production_environment: false });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: first, state: 'success' });
    const second = await createDeployment('staging', { production_environment: false });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: second, state: 'in_progress' });
    expect(await states(first)).toEqual(['success']);
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: second, state: 'success' });
    expect(await states(first)).toEqual(['inactive', 'success']);
    expect(await states(second)).toEqual(['success', 'in_progress']);
  });

  it('leaves earlier deployments alone when the new status says auto_inactive false', async () => {
    const first = await createDeployment('pr-7', { transient_environment: false });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: first, state: 'success' });
    const second = await createDeployment('pr-7');
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: second, state: 'success', auto_inactive: false });
    expect(await states(first)).toEqual(['success']);
  });

  it('never deactivates transient deployments, other environments, failed deployments or (as documented) production ones', async () => {
    const transient = await createDeployment('staging', { transient_environment: true });
    const failed = await createDeployment('staging');
    const elsewhere = await createDeployment('qa');
    const production = await createDeployment('production');
    for (const id of [transient, elsewhere, production]) await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: id, state: 'success' });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: failed, state: 'failure' });
    const next = await createDeployment('staging');
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: next, state: 'success' });
    const nextProduction = await createDeployment('production');
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: nextProduction, state: 'success' });
    expect(await states(transient)).toEqual(['success']);
    expect(await states(failed)).toEqual(['failure']);
    expect(await states(elsewhere)).toEqual(['success']);
    expect(await states(production)).toEqual(['success']);
  });

  it('can also deactivate production deployments, for code that must work either way', async () => {
    const strict = await startFakeGitHub({ autoInactive: 'non-transient' });
    try {
      const first = strict.seedDeployment({ environment: 'production', ref: SHA_A, states: ['success'] });
      strict.seedDeployment({ environment: 'production', ref: SHA_B, states: ['success'] });
      expect(first.statuses.map((s) => s.state)).toEqual(['success', 'inactive']);
    } finally {
      await strict.close();
    }
  });

  it('lists deployments newest first, filtered, one page at a time with Link headers', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createDeployment(i % 2 === 0 ? 'staging' : 'qa', { task: i === 4 ? 'deploy:migrations' : 'deploy' }));
    const { data: staging } = await octokit.rest.repos.listDeployments({ owner, repo, environment: 'staging' });
    expect(staging.map((d) => d.id)).toEqual([ids[4], ids[2], ids[0]]);
    const { data: tasks } = await octokit.rest.repos.listDeployments({ owner, repo, task: 'deploy:migrations' });
    expect(tasks.map((d) => d.id)).toEqual([ids[4]]);
    const { data: bySha } = await octokit.rest.repos.listDeployments({ owner, repo, sha: SHA_B });
    expect(bySha).toEqual([]);
    const firstPage = await octokit.rest.repos.listDeployments({ owner, repo, per_page: 2 });
    expect(firstPage.data.map((d) => d.id)).toEqual([ids[4], ids[3]]);
    expect(firstPage.headers.link).toContain('rel="next"');
    const all = await octokit.paginate(octokit.rest.repos.listDeployments, { owner, repo, per_page: 2 });
    expect(all.map((d) => d.id)).toEqual([...ids].reverse());
  });

  it('creates a deployment from a known branch and refuses an unknown one as GitHub does', async () => {
    fake.seedRef('main', SHA_B);
    const { data } = await octokit.rest.repos.createDeployment({ owner, repo, ref: 'main', auto_merge: false, required_contexts: [] });
    expect(data).toMatchObject({ ref: 'main', sha: SHA_B, environment: 'production', production_environment: true });
    await expect(octokit.rest.repos.createDeployment({ owner, repo, ref: 'no-such-branch' })).rejects.toMatchObject({ status: 422, message: expect.stringContaining('No ref found for: no-such-branch') });
  });

  it('answers 409 when commit status checks fail and required_contexts is left to its default', async () => {
    fake.seedCommitStatus(SHA_A, 'ci/build', 'failure');
    await expect(octokit.rest.repos.createDeployment({ owner, repo, ref: SHA_A, auto_merge: false })).rejects.toMatchObject({ status: 409 });
    await expect(octokit.rest.repos.createDeployment({ owner, repo, ref: SHA_A, auto_merge: false, required_contexts: [] })).resolves.toMatchObject({ status: 201 });
  });

  it('deletes only inactive deployments once there are several, as GitHub does', async () => {
    const first = await createDeployment('staging');
    await createDeployment('staging');
    await expect(octokit.rest.repos.deleteDeployment({ owner, repo, deployment_id: first })).rejects.toMatchObject({ status: 422 });
    await octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: first, state: 'inactive' });
    await expect(octokit.rest.repos.deleteDeployment({ owner, repo, deployment_id: first })).resolves.toMatchObject({ status: 204 });
    expect(fake.repository.deployments).toHaveLength(1);
  });

  it('refuses a status description longer than 140 characters', async () => {
    const id = await createDeployment('staging');
    await expect(octokit.rest.repos.createDeploymentStatus({ owner, repo, deployment_id: id, state: 'failure', description: 'x'.repeat(141) })).rejects.toMatchObject({ status: 422 });
  });

  it('answers 404 for a deployment that does not exist', async () => {
    await expect(octokit.rest.repos.getDeployment({ owner, repo, deployment_id: 999999 })).rejects.toMatchObject({ status: 404 });
  });
});

describe('issues, comments, labels and reactions', () => {
  it('creates, updates and lists issues by state, labels and since', async () => {
    const { data: bug } = await octokit.rest.issues.create({ owner, repo, title: 'Deploy failed', body: 'details', labels: ['rollgate', 'incident'] });
    const { data: other } = await octokit.rest.issues.create({ owner, repo, title: 'Other' });
    expect(bug.labels.map((label) => (typeof label === 'string' ? label : label.name))).toEqual(['rollgate', 'incident']);
    expect(fake.repository.labels.has('incident')).toBe(true);

    const { data: closed } = await octokit.rest.issues.update({ owner, repo, issue_number: other.number, state: 'closed', labels: ['wontfix'] });
    expect(closed).toMatchObject({ state: 'closed', state_reason: 'completed' });
    expect(closed.closed_at).not.toBeNull();

    const open = await octokit.rest.issues.listForRepo({ owner, repo });
    expect(open.data.map((issue) => issue.number)).toEqual([bug.number]);
    const labelled = await octokit.rest.issues.listForRepo({ owner, repo, state: 'all', labels: 'rollgate,incident' });
    expect(labelled.data.map((issue) => issue.number)).toEqual([bug.number]);
    const all = await octokit.rest.issues.listForRepo({ owner, repo, state: 'all' });
    expect(all.data.map((issue) => issue.number)).toEqual([other.number, bug.number]);
    const future = await octokit.rest.issues.listForRepo({ owner, repo, state: 'all', since: '2999-01-01T00:00:00Z' });
    expect(future.data).toEqual([]);
    const { data: fetched } = await octokit.rest.issues.get({ owner, repo, issue_number: bug.number });
    expect(fetched).toMatchObject({ title: 'Deploy failed', body: 'details', comments: 0 });
  });

  it('creates, lists, edits and deletes comments', async () => {
    const { data: issue } = await octokit.rest.issues.create({ owner, repo, title: 'Release' });
    const { data: comment } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: 'phase 1 of 3' });
    await octokit.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: 'second' });
    const { data: edited } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: comment.id, body: 'phase 2 of 3' });
    expect(edited.body).toBe('phase 2 of 3');
    const { data: listed } = await octokit.rest.issues.listComments({ owner, repo, issue_number: issue.number });
    expect(listed.map((c) => c.body)).toEqual(['phase 2 of 3', 'second']);
    await octokit.rest.issues.deleteComment({ owner, repo, comment_id: comment.id });
    await expect(octokit.rest.issues.getComment({ owner, repo, comment_id: comment.id })).rejects.toMatchObject({ status: 404 });
    const { data: after } = await octokit.rest.issues.get({ owner, repo, issue_number: issue.number });
    expect(after.comments).toBe(1);
  });

  it('adds a reaction once per user and content, and shows reactions by other people', async () => {
    const issue = fake.seedIssue({ title: 'Approve rollout?' });
    const comment = fake.seedComment(issue.number, 'React with +1 to continue');
    const first = await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: comment.id, content: 'eyes' });
    const again = await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: comment.id, content: 'eyes' });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(again.data.id).toBe(first.data.id);
    fake.seedReaction(comment.id, '+1', { login: 'maintainer', id: 77, type: 'User' });
    const { data: plusOnes } = await octokit.rest.reactions.listForIssueComment({ owner, repo, comment_id: comment.id, content: '+1' });
    expect(plusOnes.map((reaction) => reaction.user?.login)).toEqual(['maintainer']);
    const { data: withRollup } = await octokit.rest.issues.getComment({ owner, repo, comment_id: comment.id });
    expect(withRollup.reactions).toMatchObject({ total_count: 2, '+1': 1, eyes: 1 });
  });

  it('creates labels, refuses duplicates, adds and removes labels on an issue', async () => {
    await octokit.rest.issues.createLabel({ owner, repo, name: 'rollgate:blocked', color: 'b60205', description: 'a rollout is blocked' });
    await expect(octokit.rest.issues.createLabel({ owner, repo, name: 'rollgate:blocked' })).rejects.toMatchObject({ status: 422 });
    const issue = fake.seedIssue({ title: 'Rollout' });
    const { data: labels } = await octokit.rest.issues.addLabels({ owner, repo, issue_number: issue.number, labels: ['rollgate:blocked', 'new-one'] });
    expect(labels.map((label) => [label.name, label.color])).toEqual([
      ['rollgate:blocked', 'b60205'],
      ['new-one', 'ededed'],
    ]);
    const { data: remaining } = await octokit.rest.issues.removeLabel({ owner, repo, issue_number: issue.number, name: 'rollgate:blocked' });
    expect(remaining.map((label) => label.name)).toEqual(['new-one']);
    await expect(octokit.rest.issues.removeLabel({ owner, repo, issue_number: issue.number, name: 'absent' })).rejects.toMatchObject({ status: 404 });
  });
});

describe('pull requests, commits and the repository', () => {
  it('answers seeded pull requests by number, in lists and by commit', async () => {
    const pull = fake.seedPull({ number: 12, headSha: SHA_A, headRef: 'feature/x', title: 'Add x' });
    fake.seedPull({ number: 13, headSha: 'c'.repeat(40), state: 'closed', merged: true, mergeCommitSha: SHA_B });
    fake.seedCommitPulls('d'.repeat(40), [12]);
    const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: pull.number });
    expect(data).toMatchObject({ number: 12, title: 'Add x', state: 'open', merged: false, head: { sha: SHA_A, ref: 'feature/x' }, base: { ref: 'main' } });
    const { data: open } = await octokit.rest.pulls.list({ owner, repo });
    expect(open.map((p) => p.number)).toEqual([12]);
    const { data: all } = await octokit.rest.pulls.list({ owner, repo, state: 'all' });
    expect(all.map((p) => p.number)).toEqual([13, 12]);
    for (const [sha, expected] of [[SHA_A, [12]], [SHA_B, [13]], ['d'.repeat(40), [12]], ['e'.repeat(40), []]] as const) {
      const { data: pulls } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ owner, repo, commit_sha: sha });
      expect(pulls.map((p) => p.number)).toEqual(expected);
    }
    const { data: asIssue } = await octokit.rest.issues.get({ owner, repo, issue_number: 12 });
    expect(asIssue.pull_request?.url).toContain('/pulls/12');
  });

  it('answers the repository with its default branch, and 404 for another repository', async () => {
    const { data } = await octokit.rest.repos.get({ owner, repo });
    expect(data).toMatchObject({ full_name: `${owner}/${repo}`, default_branch: 'main', private: false });
    await expect(octokit.rest.repos.get({ owner, repo: 'elsewhere' })).rejects.toMatchObject({ status: 404 });
  });
});

describe('fault injection and call counting', () => {
  it('answers the next matching request with the injected fault, then normally', async () => {
    fake.failNext({ method: 'GET', path: '/repos/{owner}/{repo}' }, fault.serverError(503));
    expect((await raw(`/repos/${owner}/${repo}/deployments`)).status).toBe(200);
    expect((await raw(`/repos/${owner}/${repo}`)).status).toBe(503);
    expect((await raw(`/repos/${owner}/${repo}`)).status).toBe(200);
    expect(fake.count({ path: '/repos/{owner}/{repo}' })).toBe(2);
    expect(fake.count({ path: /deployments$/ })).toBe(1);
    expect(fake.count({ status: 503 })).toBe(1);
    expect(fake.count()).toBe(3);
  });

  it('answers rate limits and permission errors the way GitHub does', async () => {
    fake.failNext({ path: /./, times: 3 }, fault.secondaryRateLimit(2));
    const secondary = await raw(`/repos/${owner}/${repo}`);
    expect(secondary.status).toBe(403);
    expect(secondary.headers.get('retry-after')).toBe('2');
    expect(secondary.body.message).toMatch(/^You have exceeded a secondary rate limit/);
    await raw(`/repos/${owner}/${repo}`);
    await raw(`/repos/${owner}/${repo}`);

    fake.failNext({}, fault.rateLimit(30, 429));
    const primary = await raw(`/repos/${owner}/${repo}`);
    expect(primary.status).toBe(429);
    expect(primary.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(primary.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000 + 25);

    fake.failNext({ method: 'POST' }, fault.permission());
    const denied = await raw(`/repos/${owner}/${repo}/deployments`, { method: 'POST', body: JSON.stringify({ ref: SHA_A }) });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ message: 'Resource not accessible by integration', documentation_url: expect.stringContaining('create-a-deployment') });
    expect(fake.repository.deployments).toEqual([]);
  });

  it('delays a slow answer, then answers normally', async () => {
    fake.failNext({ path: '/repos/{owner}/{repo}' }, fault.slow(300));
    const started = Date.now();
    expect((await raw(`/repos/${owner}/${repo}`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('answers a custom fault verbatim', async () => {
    fake.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.custom(202, { message: 'Auto-merged main into topic-branch on deployment.' }));
    const response = await raw(`/repos/${owner}/${repo}/deployments`, { method: 'POST', body: JSON.stringify({ ref: 'topic-branch' }) });
    expect(response).toMatchObject({ status: 202, body: { message: 'Auto-merged main into topic-branch on deployment.' } });
  });
});

describe('webhook payloads', () => {
  it('hands out real example payloads, copied so a test cannot spoil them for the next', () => {
    const opened = examplePayload('pull_request', (payload) => payload.action === 'opened');
    expect(opened.pull_request.head.sha).toMatch(/^[0-9a-f]{40}$/);
    opened.pull_request.head.sha = 'changed';
    expect(examplePayload('pull_request', (payload) => payload.action === 'opened').pull_request.head.sha).not.toBe('changed');
    expect(() => examplePayload('pull_request', () => false)).toThrow(/no "pull_request" example/);
  });

  it('writes a pull_request event whose GITHUB_SHA is the merge commit, not the PR head', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rollgate-event-'));
    try {
      const event = pullRequestEvent(dir, { number: 9, headSha: SHA_A, mergeSha: SHA_B });
      const written = JSON.parse(readFileSync(event.env.GITHUB_EVENT_PATH!, 'utf8')) as { number: number; pull_request: { head: { sha: string } }; repository: { full_name: string } };
      expect(written.pull_request.head.sha).toBe(SHA_A);
      expect(written.number).toBe(9);
      expect(written.repository.full_name).toBe('octo-org/octo-repo');
      expect(event.env).toMatchObject({ GITHUB_EVENT_NAME: 'pull_request', GITHUB_SHA: SHA_B, GITHUB_REF: 'refs/pull/9/merge' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
