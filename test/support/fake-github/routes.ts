/**
 * What the fake GitHub does for each operation it implements, keyed by the OpenAPI operationId. Handlers return the
 * fields that carry state; the server completes the rest from the response schema (see shapes.ts).
 * GitHub's documented semantics that tests rely on are reproduced: newest-first lists with Link pagination,
 * deployment auto-inactivation, deletion rules, label auto-creation, reaction idempotence.
 */
import type { Operation } from './openapi.js';
import {
  type CommentRecord,
  type DeploymentRecord,
  type DeploymentStatusRecord,
  type DeploymentStatusState,
  type FakeState,
  type FakeUser,
  type IssueRecord,
  type LabelRecord,
  type ReactionContent,
  type ReactionRecord,
  type RepoState,
  latestStatus,
} from './state.js';

export interface FakeRequest {
  method: string;
  pathname: string;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  operation: Operation;
}

export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * Which prior deployments a new `success` status marks inactive (auto_inactive). `documented` follows the API
 * description word for word: "all prior non-transient, non-production environment deployments with the same repository
 * and environment name [...] only added to deployments that had a success state". `non-transient` also deactivates
 * production deployments, for tests that must not depend on that detail.
 */
export type AutoInactiveRule = 'documented' | 'non-transient';

export interface HandlerContext {
  state: FakeState;
  /** The fake's own base URL, used for API URLs in responses. */
  apiUrl: string;
  actor: FakeUser;
  autoInactive: AutoInactiveRule;
}

type Handler = (request: FakeRequest, repo: RepoState, ctx: HandlerContext) => FakeResponse;

const HTML = 'https://github.com';

// ---------- response helpers ----------

export function errorBody(message: string, request: { operation?: Operation } | undefined, status: number, extra: Record<string, unknown> = {}): unknown {
  return { message, documentation_url: request?.operation?.documentationUrl ?? 'https://docs.github.com/rest', status: String(status), ...extra };
}

function notFound(request: FakeRequest): FakeResponse {
  return { status: 404, body: errorBody('Not Found', request, 404) };
}

function validationFailed(request: FakeRequest, errors: Record<string, unknown>[], message = 'Validation Failed'): FakeResponse {
  return { status: 422, body: errorBody(message, request, 422, errors.length ? { errors } : {}) };
}

function ok(body: unknown, status = 200): FakeResponse {
  return { status, body };
}

const noContent: FakeResponse = { status: 204 };

/** One page of `items` (already in answer order) with GitHub's Link header. */
function page(request: FakeRequest, ctx: HandlerContext, items: unknown[]): FakeResponse {
  const perPage = Math.min(100, Math.max(1, Number(request.query.get('per_page') ?? 30) || 30));
  const current = Math.max(1, Number(request.query.get('page') ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const slice = items.slice((current - 1) * perPage, current * perPage);
  const link = (n: number, rel: string): string => {
    const query = new URLSearchParams(request.query);
    query.set('per_page', String(perPage));
    query.set('page', String(n));
    return `<${ctx.apiUrl}${request.pathname}?${query}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (current > 1) links.push(link(current - 1, 'prev'), link(1, 'first'));
  if (current < last) links.push(link(current + 1, 'next'), link(last, 'last'));
  return { status: 200, body: slice, headers: links.length ? { link: links.join(', ') } : {} };
}

function nodeId(prefix: string, id: number): string {
  return `${prefix}_fake${Buffer.from(String(id)).toString('base64url')}`;
}

function repoUrl(ctx: HandlerContext, repo: RepoState): string {
  return `${ctx.apiUrl}/repos/${repo.owner}/${repo.name}`;
}

function repoHtml(repo: RepoState): string {
  return `${HTML}/${repo.owner}/${repo.name}`;
}

function int(value: string | undefined): number {
  return /^\d+$/.test(value ?? '') ? Number(value) : NaN;
}

// ---------- JSON shapes ----------

export function userJson(ctx: HandlerContext, user: FakeUser): Record<string, unknown> {
  const login = encodeURIComponent(user.login);
  return {
    login: user.login,
    id: user.id,
    node_id: nodeId(user.type === 'Bot' ? 'BOT' : 'U', user.id),
    avatar_url: `https://avatars.githubusercontent.com/u/${user.id}?v=4`,
    gravatar_id: '',
    url: `${ctx.apiUrl}/users/${login}`,
    html_url: user.type === 'Bot' ? `${HTML}/apps/${user.login.replace(/\[bot\]$/, '')}` : `${HTML}/${login}`,
    type: user.type,
    site_admin: false,
  };
}

function repoJson(ctx: HandlerContext, repo: RepoState): Record<string, unknown> {
  const url = repoUrl(ctx, repo);
  return {
    id: repo.id,
    node_id: nodeId('R', repo.id),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: userJson(ctx, { login: repo.owner, id: repo.id + 1_000_000, type: 'Organization' }),
    private: repo.private,
    visibility: repo.private ? 'private' : 'public',
    html_url: repoHtml(repo),
    url,
    deployments_url: `${url}/deployments`,
    issues_url: `${url}/issues{/number}`,
    pulls_url: `${url}/pulls{/number}`,
    labels_url: `${url}/labels{/name}`,
    clone_url: `${repoHtml(repo)}.git`,
    git_url: `git://github.com/${repo.owner}/${repo.name}.git`,
    ssh_url: `git@github.com:${repo.owner}/${repo.name}.git`,
    svn_url: repoHtml(repo),
    default_branch: repo.defaultBranch,
    has_issues: true,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2020-01-01T00:00:00Z',
    pushed_at: '2020-01-01T00:00:00Z',
  };
}

function deploymentJson(ctx: HandlerContext, repo: RepoState, deployment: DeploymentRecord): Record<string, unknown> {
  const url = `${repoUrl(ctx, repo)}/deployments/${deployment.id}`;
  return {
    url,
    id: deployment.id,
    node_id: nodeId('DE', deployment.id),
    sha: deployment.sha,
    ref: deployment.ref,
    task: deployment.task,
    payload: deployment.payload,
    original_environment: deployment.originalEnvironment,
    environment: deployment.environment,
    description: deployment.description,
    creator: userJson(ctx, deployment.creator),
    created_at: deployment.createdAt,
    updated_at: deployment.updatedAt,
    statuses_url: `${url}/statuses`,
    repository_url: repoUrl(ctx, repo),
    transient_environment: deployment.transient,
    production_environment: deployment.production,
    performed_via_github_app: null,
  };
}

function statusJson(ctx: HandlerContext, repo: RepoState, deployment: DeploymentRecord, status: DeploymentStatusRecord): Record<string, unknown> {
  const deploymentUrl = `${repoUrl(ctx, repo)}/deployments/${deployment.id}`;
  return {
    url: `${deploymentUrl}/statuses/${status.id}`,
    id: status.id,
    node_id: nodeId('DES', status.id),
    state: status.state,
    creator: userJson(ctx, status.creator),
    description: status.description,
    environment: status.environment,
    target_url: status.targetUrl,
    log_url: status.logUrl,
    environment_url: status.environmentUrl,
    created_at: status.createdAt,
    updated_at: status.createdAt,
    deployment_url: deploymentUrl,
    repository_url: repoUrl(ctx, repo),
    performed_via_github_app: null,
  };
}

function labelJson(ctx: HandlerContext, repo: RepoState, label: LabelRecord): Record<string, unknown> {
  return {
    id: label.id,
    node_id: nodeId('LA', label.id),
    url: `${repoUrl(ctx, repo)}/labels/${encodeURIComponent(label.name)}`,
    name: label.name,
    description: label.description,
    color: label.color,
    default: label.default,
  };
}

function reactionRollup(url: string, reactions: ReactionRecord[]): Record<string, unknown> {
  const counts: Record<string, number> = { '+1': 0, '-1': 0, laugh: 0, confused: 0, heart: 0, hooray: 0, eyes: 0, rocket: 0 };
  for (const reaction of reactions) counts[reaction.content] = (counts[reaction.content] ?? 0) + 1;
  return { url: `${url}/reactions`, total_count: reactions.length, ...counts };
}

function issueJson(ctx: HandlerContext, repo: RepoState, issue: IssueRecord): Record<string, unknown> {
  const url = `${repoUrl(ctx, repo)}/issues/${issue.number}`;
  const kind = issue.pull ? 'pull' : 'issues';
  const json: Record<string, unknown> = {
    id: issue.id,
    node_id: nodeId(issue.pull ? 'PR' : 'I', issue.id),
    url,
    repository_url: repoUrl(ctx, repo),
    labels_url: `${url}/labels{/name}`,
    comments_url: `${url}/comments`,
    events_url: `${url}/events`,
    html_url: `${repoHtml(repo)}/${kind}/${issue.number}`,
    number: issue.number,
    state: issue.state,
    state_reason: issue.stateReason,
    title: issue.title,
    body: issue.body,
    user: userJson(ctx, issue.user),
    labels: issue.labels.map((name) => labelJson(ctx, repo, labelOf(repo, name))),
    assignee: issue.assignees[0] ? userJson(ctx, { login: issue.assignees[0], id: loginId(issue.assignees[0]), type: 'User' }) : null,
    assignees: issue.assignees.map((login) => userJson(ctx, { login, id: loginId(login), type: 'User' })),
    milestone: null,
    locked: issue.locked,
    active_lock_reason: null,
    comments: repo.comments.filter((comment) => comment.issueNumber === issue.number).length,
    closed_at: issue.closedAt,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    author_association: 'NONE',
  };
  if (issue.pull) {
    json.pull_request = {
      url: `${repoUrl(ctx, repo)}/pulls/${issue.number}`,
      html_url: `${repoHtml(repo)}/pull/${issue.number}`,
      diff_url: `${repoHtml(repo)}/pull/${issue.number}.diff`,
      patch_url: `${repoHtml(repo)}/pull/${issue.number}.patch`,
      merged_at: issue.pull.mergedAt,
    };
    json.draft = issue.pull.draft;
  }
  return json;
}

function pullJson(ctx: HandlerContext, repo: RepoState, issue: IssueRecord): Record<string, unknown> {
  const pull = issue.pull!;
  const url = `${repoUrl(ctx, repo)}/pulls/${issue.number}`;
  const issueUrl = `${repoUrl(ctx, repo)}/issues/${issue.number}`;
  const html = `${repoHtml(repo)}/pull/${issue.number}`;
  const side = (ref: string, sha: string): Record<string, unknown> => ({
    label: `${repo.owner}:${ref}`,
    ref,
    sha,
    repo: repoJson(ctx, repo),
    user: userJson(ctx, { login: repo.owner, id: repo.id + 1_000_000, type: 'Organization' }),
  });
  const statusesUrl = `${repoUrl(ctx, repo)}/statuses/${pull.headSha}`;
  return {
    url,
    id: issue.id,
    node_id: nodeId('PR', issue.id),
    html_url: html,
    diff_url: `${html}.diff`,
    patch_url: `${html}.patch`,
    issue_url: issueUrl,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    review_comment_url: `${repoUrl(ctx, repo)}/pulls/comments{/number}`,
    comments_url: `${issueUrl}/comments`,
    statuses_url: statusesUrl,
    number: issue.number,
    state: issue.state,
    locked: issue.locked,
    title: issue.title,
    user: userJson(ctx, issue.user),
    body: issue.body,
    labels: issue.labels.map((name) => labelJson(ctx, repo, labelOf(repo, name))),
    milestone: null,
    active_lock_reason: null,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    closed_at: issue.closedAt,
    merged_at: pull.mergedAt,
    merge_commit_sha: pull.mergeCommitSha,
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    head: side(pull.headRef, pull.headSha),
    base: side(pull.baseRef, pull.baseSha),
    _links: {
      self: { href: url },
      html: { href: html },
      issue: { href: issueUrl },
      comments: { href: `${issueUrl}/comments` },
      review_comments: { href: `${url}/comments` },
      review_comment: { href: `${repoUrl(ctx, repo)}/pulls/comments{/number}` },
      commits: { href: `${url}/commits` },
      statuses: { href: statusesUrl },
    },
    author_association: 'CONTRIBUTOR',
    auto_merge: null,
    draft: pull.draft,
    merged: pull.merged,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: null,
    comments: repo.comments.filter((comment) => comment.issueNumber === issue.number).length,
    review_comments: 0,
    maintainer_can_modify: false,
    commits: 1,
    additions: 0,
    deletions: 0,
    changed_files: 0,
  };
}

function commentJson(ctx: HandlerContext, repo: RepoState, comment: CommentRecord): Record<string, unknown> {
  const url = `${repoUrl(ctx, repo)}/issues/comments/${comment.id}`;
  const issue = repo.issues.get(comment.issueNumber);
  return {
    id: comment.id,
    node_id: nodeId('IC', comment.id),
    url,
    body: comment.body,
    html_url: `${repoHtml(repo)}/${issue?.pull ? 'pull' : 'issues'}/${comment.issueNumber}#issuecomment-${comment.id}`,
    issue_url: `${repoUrl(ctx, repo)}/issues/${comment.issueNumber}`,
    user: userJson(ctx, comment.user),
    created_at: comment.createdAt,
    updated_at: comment.updatedAt,
    author_association: 'NONE',
    reactions: reactionRollup(url, comment.reactions),
    performed_via_github_app: null,
  };
}

function reactionJson(ctx: HandlerContext, reaction: ReactionRecord): Record<string, unknown> {
  return { id: reaction.id, node_id: nodeId('REA', reaction.id), user: userJson(ctx, reaction.user), content: reaction.content, created_at: reaction.createdAt };
}

/** A stable fake id for a login that only appears as an assignee. */
function loginId(login: string): number {
  let hash = 7;
  for (const char of login) hash = (hash * 31 + char.charCodeAt(0)) % 9_000_000;
  return 1_000_000 + hash;
}

function labelOf(repo: RepoState, name: string): LabelRecord {
  return repo.labels.get(name.toLowerCase()) ?? { id: 0, name, color: 'ededed', description: null, default: false };
}

// ---------- deployments ----------

function findDeployment(repo: RepoState, request: FakeRequest): DeploymentRecord | undefined {
  const id = int(request.params.deployment_id);
  return repo.deployments.find((deployment) => deployment.id === id);
}

const listDeployments: Handler = (request, repo, ctx) => {
  const filters = ['sha', 'ref', 'task', 'environment'] as const;
  const matches = repo.deployments.filter((deployment) =>
    filters.every((name) => {
      const wanted = request.query.get(name);
      if (wanted === null || wanted === 'none') return true;
      return { sha: deployment.sha, ref: deployment.ref, task: deployment.task, environment: deployment.environment }[name] === wanted;
    }),
  );
  return page(request, ctx, matches.reverse().map((deployment) => deploymentJson(ctx, repo, deployment)));
};

const createDeployment: Handler = (request, repo, ctx) => {
  const body = request.body as Record<string, unknown>;
  const ref = String(body.ref);
  const sha = /^[0-9a-f]{7,40}$/i.test(ref) ? ref.toLowerCase() : repo.refs.get(ref.replace(/^refs\/(heads|tags)\//, ''));
  if (!sha) return { status: 422, body: errorBody(`No ref found for: ${ref}`, request, 422) };
  const statuses = repo.commitStatuses.get(sha) ?? new Map<string, string>();
  const required = Array.isArray(body.required_contexts) ? (body.required_contexts as string[]) : [...statuses.keys()];
  const failing = required.filter((context) => statuses.get(context) !== 'success');
  if (failing.length > 0) {
    return {
      status: 409,
      body: errorBody(`Conflict: Commit status checks failed for ${ref}.`, request, 409, {
        errors: [{ contexts: failing.map((context) => ({ context, state: statuses.get(context) ?? 'missing' })), resource: 'Deployment', field: 'required_contexts', code: 'invalid' }],
      }),
    };
  }
  const environment = typeof body.environment === 'string' ? body.environment : 'production';
  const now = ctx.state.timestamp();
  const deployment: DeploymentRecord = {
    id: ctx.state.id(),
    sha,
    ref,
    task: typeof body.task === 'string' ? body.task : 'deploy',
    payload: body.payload ?? {},
    environment,
    originalEnvironment: environment,
    description: typeof body.description === 'string' ? body.description : body.description === null ? null : '',
    creator: ctx.actor,
    createdAt: now,
    updatedAt: now,
    transient: body.transient_environment === true,
    production: typeof body.production_environment === 'boolean' ? body.production_environment : environment === 'production',
    statuses: [],
  };
  repo.deployments.push(deployment);
  return ok(deploymentJson(ctx, repo, deployment), 201);
};

const getDeployment: Handler = (request, repo, ctx) => {
  const deployment = findDeployment(repo, request);
  return deployment ? ok(deploymentJson(ctx, repo, deployment)) : notFound(request);
};

const deleteDeployment: Handler = (request, repo) => {
  const deployment = findDeployment(repo, request);
  if (!deployment) return notFound(request);
  // "If the repository has more than one deployment, you can only delete inactive deployments."
  if (repo.deployments.length > 1 && latestStatus(deployment)?.state !== 'inactive') {
    return validationFailed(request, [], 'We cannot delete an active deployment unless it is the only deployment in a given environment.');
  }
  repo.deployments.splice(repo.deployments.indexOf(deployment), 1);
  return noContent;
};

const listDeploymentStatuses: Handler = (request, repo, ctx) => {
  const deployment = findDeployment(repo, request);
  if (!deployment) return notFound(request);
  return page(request, ctx, [...deployment.statuses].reverse().map((status) => statusJson(ctx, repo, deployment, status)));
};

const getDeploymentStatus: Handler = (request, repo, ctx) => {
  const deployment = findDeployment(repo, request);
  const status = deployment?.statuses.find((candidate) => candidate.id === int(request.params.status_id));
  return deployment && status ? ok(statusJson(ctx, repo, deployment, status)) : notFound(request);
};

export function addDeploymentStatus(
  ctx: HandlerContext,
  repo: RepoState,
  deployment: DeploymentRecord,
  input: { state: DeploymentStatusState; description?: string; environment?: string; logUrl?: string; environmentUrl?: string; autoInactive?: boolean; creator?: FakeUser },
): DeploymentStatusRecord {
  const environment = input.environment ?? latestStatus(deployment)?.environment ?? deployment.environment;
  deployment.environment = environment;
  const now = ctx.state.timestamp();
  const status: DeploymentStatusRecord = {
    id: ctx.state.id(),
    state: input.state,
    description: input.description ?? '',
    environment,
    targetUrl: input.logUrl ?? '',
    logUrl: input.logUrl ?? '',
    environmentUrl: input.environmentUrl ?? '',
    creator: input.creator ?? ctx.actor,
    createdAt: now,
    automatic: false,
  };
  deployment.statuses.push(status);
  deployment.updatedAt = now;
  if (input.state === 'success' && input.autoInactive !== false) {
    for (const prior of repo.deployments) {
      if (prior.id >= deployment.id || prior.environment !== environment || prior.transient) continue;
      if (ctx.autoInactive === 'documented' && prior.production) continue;
      if (latestStatus(prior)?.state !== 'success') continue;
      prior.statuses.push({ ...status, id: ctx.state.id(), state: 'inactive', description: '', targetUrl: '', logUrl: '', environmentUrl: '', environment: prior.environment, automatic: true });
      prior.updatedAt = now;
    }
  }
  return status;
}

const createDeploymentStatus: Handler = (request, repo, ctx) => {
  const deployment = findDeployment(repo, request);
  if (!deployment) return notFound(request);
  const body = request.body as Record<string, unknown>;
  const description = typeof body.description === 'string' ? body.description : undefined;
  if (description !== undefined && description.length > 140) {
    return validationFailed(request, [{ resource: 'DeploymentStatus', code: 'custom', field: 'description', message: 'description is too long (maximum is 140 characters)' }]);
  }
  const logUrl = typeof body.log_url === 'string' ? body.log_url : typeof body.target_url === 'string' ? body.target_url : undefined;
  const status = addDeploymentStatus(ctx, repo, deployment, {
    state: body.state as DeploymentStatusState,
    description,
    environment: typeof body.environment === 'string' ? body.environment : undefined,
    logUrl,
    environmentUrl: typeof body.environment_url === 'string' ? body.environment_url : undefined,
    autoInactive: typeof body.auto_inactive === 'boolean' ? body.auto_inactive : undefined,
  });
  return ok(statusJson(ctx, repo, deployment, status), 201);
};

// ---------- issues, comments, labels, reactions ----------

function findIssue(repo: RepoState, request: FakeRequest): IssueRecord | undefined {
  return repo.issues.get(int(request.params.issue_number));
}

function labelNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map((entry) => (typeof entry === 'string' ? entry : String((entry as { name?: unknown }).name ?? ''))).filter((name) => name !== '');
}

function setIssueLabels(ctx: HandlerContext, repo: RepoState, issue: IssueRecord, names: string[]): void {
  const labels: string[] = [];
  for (const name of names) {
    const label = ctx.state.ensureLabel(repo, name);
    if (!labels.some((existing) => existing.toLowerCase() === label.name.toLowerCase())) labels.push(label.name);
  }
  issue.labels = labels;
}

const listIssues: Handler = (request, repo, ctx) => {
  const state = request.query.get('state') ?? 'open';
  const wantedLabels = (request.query.get('labels') ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  const since = request.query.get('since');
  const creator = request.query.get('creator');
  const sort = request.query.get('sort') ?? 'created';
  const direction = request.query.get('direction') ?? 'desc';
  const issues = [...repo.issues.values()].filter(
    (issue) =>
      (state === 'all' || issue.state === state) &&
      wantedLabels.every((name) => issue.labels.some((label) => label.toLowerCase() === name)) &&
      (!since || issue.updatedAt >= since) &&
      (!creator || issue.user.login === creator),
  );
  const key = (issue: IssueRecord): string | number =>
    sort === 'updated' ? issue.updatedAt : sort === 'comments' ? repo.comments.filter((comment) => comment.issueNumber === issue.number).length : issue.number;
  issues.sort((a, b) => {
    const order = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.number - b.number;
    return direction === 'asc' ? order : -order;
  });
  return page(request, ctx, issues.map((issue) => issueJson(ctx, repo, issue)));
};

export function addIssue(ctx: HandlerContext, repo: RepoState, input: { title: string; body?: string | null; labels?: string[]; assignees?: string[]; user?: FakeUser; pull?: IssueRecord['pull']; number?: number; state?: 'open' | 'closed' }): IssueRecord {
  const number = input.number ?? repo.nextNumber;
  repo.nextNumber = Math.max(repo.nextNumber, number + 1);
  const now = ctx.state.timestamp();
  const issue: IssueRecord = {
    id: ctx.state.id(),
    number,
    title: input.title,
    body: input.body ?? null,
    state: input.state ?? 'open',
    stateReason: null,
    labels: [],
    assignees: input.assignees ?? [],
    user: input.user ?? ctx.actor,
    createdAt: now,
    updatedAt: now,
    closedAt: input.state === 'closed' ? now : null,
    locked: false,
    pull: input.pull,
  };
  setIssueLabels(ctx, repo, issue, input.labels ?? []);
  repo.issues.set(number, issue);
  return issue;
}

const createIssue: Handler = (request, repo, ctx) => {
  const body = request.body as Record<string, unknown>;
  const issue = addIssue(ctx, repo, {
    title: String(body.title),
    body: typeof body.body === 'string' ? body.body : null,
    labels: labelNames(body.labels),
    assignees: Array.isArray(body.assignees) ? body.assignees.map(String) : typeof body.assignee === 'string' ? [body.assignee] : [],
  });
  return ok(issueJson(ctx, repo, issue), 201);
};

const getIssue: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  return issue ? ok(issueJson(ctx, repo, issue)) : notFound(request);
};

const updateIssue: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  const body = request.body as Record<string, unknown>;
  if (body.title !== undefined && body.title !== null) issue.title = String(body.title);
  if (body.body !== undefined) issue.body = body.body === null ? null : String(body.body);
  if (body.labels !== undefined) setIssueLabels(ctx, repo, issue, labelNames(body.labels));
  if (Array.isArray(body.assignees)) issue.assignees = body.assignees.map((entry) => (typeof entry === 'string' ? entry : String((entry as { login?: unknown }).login)));
  if (body.state === 'closed' && issue.state !== 'closed') {
    issue.state = 'closed';
    issue.closedAt = ctx.state.timestamp();
    issue.stateReason = typeof body.state_reason === 'string' ? body.state_reason : 'completed';
  } else if (body.state === 'open' && issue.state !== 'open') {
    issue.state = 'open';
    issue.closedAt = null;
    issue.stateReason = 'reopened';
  }
  issue.updatedAt = ctx.state.timestamp();
  return ok(issueJson(ctx, repo, issue));
};

function findComment(repo: RepoState, request: FakeRequest): CommentRecord | undefined {
  const id = int(request.params.comment_id);
  return repo.comments.find((comment) => comment.id === id);
}

export function addComment(ctx: HandlerContext, repo: RepoState, issue: IssueRecord, body: string, user?: FakeUser): CommentRecord {
  const now = ctx.state.timestamp();
  const comment: CommentRecord = { id: ctx.state.id(), issueNumber: issue.number, body, user: user ?? ctx.actor, createdAt: now, updatedAt: now, reactions: [] };
  repo.comments.push(comment);
  issue.updatedAt = now;
  return comment;
}

const listComments: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  const since = request.query.get('since');
  const comments = repo.comments.filter((comment) => comment.issueNumber === issue.number && (!since || comment.updatedAt >= since));
  return page(request, ctx, comments.map((comment) => commentJson(ctx, repo, comment)));
};

const listCommentsForRepo: Handler = (request, repo, ctx) => {
  const since = request.query.get('since');
  const comments = repo.comments.filter((comment) => !since || comment.updatedAt >= since);
  if (request.query.get('direction') === 'desc') comments.reverse();
  return page(request, ctx, comments.map((comment) => commentJson(ctx, repo, comment)));
};

const createComment: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  const comment = addComment(ctx, repo, issue, String((request.body as { body: unknown }).body));
  return ok(commentJson(ctx, repo, comment), 201);
};

const getComment: Handler = (request, repo, ctx) => {
  const comment = findComment(repo, request);
  return comment ? ok(commentJson(ctx, repo, comment)) : notFound(request);
};

const updateComment: Handler = (request, repo, ctx) => {
  const comment = findComment(repo, request);
  if (!comment) return notFound(request);
  comment.body = String((request.body as { body: unknown }).body);
  comment.updatedAt = ctx.state.timestamp();
  return ok(commentJson(ctx, repo, comment));
};

const deleteComment: Handler = (request, repo) => {
  const comment = findComment(repo, request);
  if (!comment) return notFound(request);
  repo.comments.splice(repo.comments.indexOf(comment), 1);
  return noContent;
};

export function addReaction(ctx: HandlerContext, comment: CommentRecord, content: ReactionContent, user?: FakeUser): { reaction: ReactionRecord; created: boolean } {
  const who = user ?? ctx.actor;
  const existing = comment.reactions.find((reaction) => reaction.content === content && reaction.user.id === who.id);
  if (existing) return { reaction: existing, created: false };
  const reaction: ReactionRecord = { id: ctx.state.id(), content, user: who, createdAt: ctx.state.timestamp() };
  comment.reactions.push(reaction);
  return { reaction, created: true };
}

const listReactions: Handler = (request, repo, ctx) => {
  const comment = findComment(repo, request);
  if (!comment) return notFound(request);
  const content = request.query.get('content');
  return page(request, ctx, comment.reactions.filter((reaction) => !content || reaction.content === content).map((reaction) => reactionJson(ctx, reaction)));
};

const createReaction: Handler = (request, repo, ctx) => {
  const comment = findComment(repo, request);
  if (!comment) return notFound(request);
  // "Using content that already exists on the issue comment returns 200" (the same reaction, not a new one).
  const { reaction, created } = addReaction(ctx, comment, (request.body as { content: ReactionContent }).content);
  return ok(reactionJson(ctx, reaction), created ? 201 : 200);
};

const deleteReaction: Handler = (request, repo) => {
  const comment = findComment(repo, request);
  const index = comment?.reactions.findIndex((reaction) => reaction.id === int(request.params.reaction_id)) ?? -1;
  if (!comment || index < 0) return notFound(request);
  comment.reactions.splice(index, 1);
  return noContent;
};

const listLabels: Handler = (request, repo, ctx) => page(request, ctx, [...repo.labels.values()].map((label) => labelJson(ctx, repo, label)));

const createLabel: Handler = (request, repo, ctx) => {
  const body = request.body as { name: string; color?: string; description?: string };
  if (repo.labels.has(body.name.toLowerCase())) return validationFailed(request, [{ resource: 'Label', code: 'already_exists', field: 'name' }]);
  const label: LabelRecord = { id: ctx.state.id(), name: body.name, color: (body.color ?? 'ededed').replace(/^#/, ''), description: body.description ?? null, default: false };
  repo.labels.set(label.name.toLowerCase(), label);
  return ok(labelJson(ctx, repo, label), 201);
};

const getLabel: Handler = (request, repo, ctx) => {
  const label = repo.labels.get((request.params.name ?? '').toLowerCase());
  return label ? ok(labelJson(ctx, repo, label)) : notFound(request);
};

const updateLabel: Handler = (request, repo, ctx) => {
  const label = repo.labels.get((request.params.name ?? '').toLowerCase());
  if (!label) return notFound(request);
  const body = request.body as { new_name?: string; color?: string; description?: string };
  if (body.new_name) {
    repo.labels.delete(label.name.toLowerCase());
    for (const issue of repo.issues.values()) issue.labels = issue.labels.map((name) => (name.toLowerCase() === label.name.toLowerCase() ? body.new_name! : name));
    label.name = body.new_name;
    repo.labels.set(label.name.toLowerCase(), label);
  }
  if (body.color) label.color = body.color.replace(/^#/, '');
  if (body.description !== undefined) label.description = body.description;
  return ok(labelJson(ctx, repo, label));
};

const deleteLabel: Handler = (request, repo) => {
  const name = (request.params.name ?? '').toLowerCase();
  if (!repo.labels.delete(name)) return notFound(request);
  for (const issue of repo.issues.values()) issue.labels = issue.labels.filter((label) => label.toLowerCase() !== name);
  return noContent;
};

function issueLabels(ctx: HandlerContext, repo: RepoState, issue: IssueRecord): FakeResponse {
  return ok(issue.labels.map((name) => labelJson(ctx, repo, labelOf(repo, name))));
}

const listIssueLabels: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  return issue ? page(request, ctx, issue.labels.map((name) => labelJson(ctx, repo, labelOf(repo, name)))) : notFound(request);
};

const addLabels: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  setIssueLabels(ctx, repo, issue, [...issue.labels, ...labelNames((request.body as { labels?: unknown }).labels)]);
  issue.updatedAt = ctx.state.timestamp();
  return issueLabels(ctx, repo, issue);
};

const setLabels: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  setIssueLabels(ctx, repo, issue, labelNames((request.body as { labels?: unknown } | undefined)?.labels));
  issue.updatedAt = ctx.state.timestamp();
  return issueLabels(ctx, repo, issue);
};

const removeLabel: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  const name = (request.params.name ?? '').toLowerCase();
  if (!issue.labels.some((label) => label.toLowerCase() === name)) return { status: 404, body: errorBody('Label does not exist', request, 404) };
  issue.labels = issue.labels.filter((label) => label.toLowerCase() !== name);
  issue.updatedAt = ctx.state.timestamp();
  return issueLabels(ctx, repo, issue);
};

const removeAllLabels: Handler = (request, repo, ctx) => {
  const issue = findIssue(repo, request);
  if (!issue) return notFound(request);
  issue.labels = [];
  issue.updatedAt = ctx.state.timestamp();
  return noContent;
};

// ---------- pulls, commits, repository ----------

const getPull: Handler = (request, repo, ctx) => {
  const issue = repo.issues.get(int(request.params.pull_number));
  return issue?.pull ? ok(pullJson(ctx, repo, issue)) : notFound(request);
};

const listPulls: Handler = (request, repo, ctx) => {
  const state = request.query.get('state') ?? 'open';
  const head = request.query.get('head');
  const base = request.query.get('base');
  const pulls = [...repo.issues.values()]
    .filter((issue) => issue.pull && (state === 'all' || issue.state === state))
    .filter((issue) => !head || `${repo.owner}:${issue.pull!.headRef}` === head || issue.pull!.headRef === head)
    .filter((issue) => !base || issue.pull!.baseRef === base)
    .sort((a, b) => (request.query.get('direction') === 'asc' ? a.number - b.number : b.number - a.number));
  return page(request, ctx, pulls.map((issue) => pullJson(ctx, repo, issue)));
};

const pullsForCommit: Handler = (request, repo, ctx) => {
  const sha = (request.params.commit_sha ?? '').toLowerCase();
  const linked = new Set(repo.commitPulls.get(sha) ?? []);
  const pulls = [...repo.issues.values()]
    .filter((issue) => issue.pull && (linked.has(issue.number) || issue.pull.headSha === sha || issue.pull.mergeCommitSha === sha))
    .sort((a, b) => b.number - a.number);
  return page(request, ctx, pulls.map((issue) => pullJson(ctx, repo, issue)));
};

const getRepo: Handler = (_request, repo, ctx) => ok(repoJson(ctx, repo));

const getWorkflowRun: Handler = (request, repo, ctx) => {
  const id = int(request.params.run_id);
  const run = repo.runs.get(id);
  if (!run) return notFound(request);
  return ok({ id, name: 'release', status: run.status, conclusion: run.conclusion, run_attempt: 1, html_url: `${repoHtml(repo)}/actions/runs/${id}`, repository: repoJson(ctx, repo) });
};

export const HANDLERS: Record<string, Handler> = {
  'repos/get': getRepo,
  'actions/get-workflow-run': getWorkflowRun,
  'repos/list-deployments': listDeployments,
  'repos/create-deployment': createDeployment,
  'repos/get-deployment': getDeployment,
  'repos/delete-deployment': deleteDeployment,
  'repos/list-deployment-statuses': listDeploymentStatuses,
  'repos/create-deployment-status': createDeploymentStatus,
  'repos/get-deployment-status': getDeploymentStatus,
  'repos/list-pull-requests-associated-with-commit': pullsForCommit,
  'issues/list-for-repo': listIssues,
  'issues/create': createIssue,
  'issues/get': getIssue,
  'issues/update': updateIssue,
  'issues/list-comments': listComments,
  'issues/list-comments-for-repo': listCommentsForRepo,
  'issues/create-comment': createComment,
  'issues/get-comment': getComment,
  'issues/update-comment': updateComment,
  'issues/delete-comment': deleteComment,
  'issues/list-labels-for-repo': listLabels,
  'issues/create-label': createLabel,
  'issues/get-label': getLabel,
  'issues/update-label': updateLabel,
  'issues/delete-label': deleteLabel,
  'issues/list-labels-on-issue': listIssueLabels,
  'issues/add-labels': addLabels,
  'issues/set-labels': setLabels,
  'issues/remove-label': removeLabel,
  'issues/remove-all-labels': removeAllLabels,
  'reactions/list-for-issue-comment': listReactions,
  'reactions/create-for-issue-comment': createReaction,
  'reactions/delete-for-issue-comment': deleteReaction,
  'pulls/get': getPull,
  'pulls/list': listPulls,
};
