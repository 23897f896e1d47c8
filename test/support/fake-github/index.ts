/**
 * A fake GitHub REST API for tests: a real HTTP server on 127.0.0.1 that keeps repositories, deployments, issues,
 * comments, reactions, labels and pull requests in memory, and judges every request against GitHub's OpenAPI
 * description. An unknown endpoint, a wrong method or an invalid body is answered the way GitHub would (404/422) AND
 * recorded as a violation; `assertNoViolations()` in `afterEach` turns violations into a failing test.
 *
 *   const fake = await startFakeGitHub();
 *   const octokit = createGitHubClient({ token: 't', baseUrl: fake.url, log });
 *   fake.failNext({ method: 'POST', path: '/repos/{owner}/{repo}/deployments' }, fault.secondaryRateLimit(2));
 *   ...
 *   fake.assertNoViolations(); await fake.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { githubApi, type Operation, type Parameter, type Schema } from './openapi.js';
import { HANDLERS, addComment, addDeploymentStatus, addIssue, addReaction, errorBody, type AutoInactiveRule, type FakeResponse, type HandlerContext } from './routes.js';
import { complete } from './shapes.js';
import {
  FakeState,
  GITHUB_ACTIONS_BOT,
  type CommentRecord,
  type DeploymentRecord,
  type DeploymentStatusState,
  type FakeUser,
  type IssueRecord,
  type ReactionContent,
  type ReactionRecord,
  type RepoState,
} from './state.js';

export { GITHUB_ACTIONS_BOT, FakeState } from './state.js';
export type {
  CommentRecord,
  DeploymentRecord,
  DeploymentStatusRecord,
  DeploymentStatusState,
  FakeUser,
  IssueRecord,
  LabelRecord,
  PullData,
  ReactionContent,
  ReactionRecord,
  RepoState,
} from './state.js';
export type { AutoInactiveRule } from './routes.js';

export interface FakeGitHubOptions {
  /** Repositories that exist, "owner/name"; the first is the default. Default: ["octo-org/octo-repo"]. */
  repos?: string[];
  /** When set, every request must carry this token (`token X` or `Bearer X`); otherwise 401 "Bad credentials". */
  token?: string;
  /** Who the token belongs to: creator of deployments, author of comments. Default: github-actions[bot]. */
  actor?: FakeUser;
  /** Clock for created_at/updated_at. */
  now?: () => Date;
  /** Which prior deployments a success status deactivates; see AutoInactiveRule. Default: "documented". */
  autoInactive?: AutoInactiveRule;
  /** Also check the fake's own answers against the response schemas (a mismatch is a violation). Default: false. */
  validateResponses?: boolean;
}

export type ViolationKind =
  | 'unknown-endpoint'
  | 'method-not-allowed'
  | 'malformed-json'
  | 'invalid-body'
  | 'unknown-body-field'
  | 'invalid-query'
  | 'unknown-query-parameter'
  | 'invalid-path-parameter'
  | 'not-implemented'
  | 'fake-response';

export interface Violation {
  kind: ViolationKind;
  method: string;
  /** The path as requested, with its query. */
  path: string;
  template?: string;
  message: string;
}

export interface RecordedCall {
  method: string;
  /** The path as requested, without the query. */
  path: string;
  query: string;
  /** The OpenAPI path template it matched, e.g. `/repos/{owner}/{repo}/deployments`. */
  template?: string;
  operationId?: string;
  status: number;
  /** The parsed JSON request body, if any. */
  body: unknown;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface CallFilter {
  method?: string;
  /** A template (`/repos/{owner}/{repo}/deployments`), an actual path, or a RegExp tested against the actual path. */
  path?: string | RegExp;
  status?: number;
}

export interface FaultMatch extends CallFilter {
  /** How many matching requests get the fault. Default 1. */
  times?: number;
}

export type Fault =
  | { kind: 'secondary-rate-limit'; retryAfterSeconds?: number }
  | { kind: 'rate-limit'; status: 403 | 429; resetInSeconds: number }
  | { kind: 'permission'; message: string }
  | { kind: 'server-error'; status: number }
  | { kind: 'slow'; delayMs: number }
  | { kind: 'custom'; status: number; headers?: Record<string, string>; body?: unknown };

/** Ready-made faults, answered the way GitHub answers them. */
export const fault = {
  /** 403 "You have exceeded a secondary rate limit", with `Retry-After` unless `retryAfterSeconds` is undefined. */
  secondaryRateLimit: (retryAfterSeconds?: number): Fault => ({ kind: 'secondary-rate-limit', retryAfterSeconds }),
  /** 403 (or 429) "API rate limit exceeded" with `x-ratelimit-remaining: 0` and a reset `resetInSeconds` from now. */
  rateLimit: (resetInSeconds = 1, status: 403 | 429 = 403): Fault => ({ kind: 'rate-limit', status, resetInSeconds }),
  /** 403 "Resource not accessible by integration" (a GITHUB_TOKEN without the permission), or another message. */
  permission: (message = 'Resource not accessible by integration'): Fault => ({ kind: 'permission', message }),
  serverError: (status = 502): Fault => ({ kind: 'server-error', status }),
  /** Waits, then answers normally. */
  slow: (delayMs: number): Fault => ({ kind: 'slow', delayMs }),
  custom: (status: number, body?: unknown, headers?: Record<string, string>): Fault => ({ kind: 'custom', status, body, headers }),
};

export interface SeedPull {
  number?: number;
  headSha: string;
  headRef?: string;
  baseRef?: string;
  baseSha?: string;
  title?: string;
  body?: string;
  state?: 'open' | 'closed';
  merged?: boolean;
  mergeCommitSha?: string | null;
  draft?: boolean;
  labels?: string[];
  user?: FakeUser;
}

export interface SeedDeployment {
  environment: string;
  ref: string;
  sha?: string;
  task?: string;
  payload?: Record<string, unknown>;
  description?: string;
  production?: boolean;
  transient?: boolean;
  /** Statuses to add, oldest first (auto_inactive applies to `success` as on GitHub). */
  states?: DeploymentStatusState[];
  creator?: FakeUser;
}

export interface FakeGitHub {
  /** Base URL for octokit's `baseUrl`, e.g. http://127.0.0.1:43121 */
  url: string;
  /** The default repository. */
  owner: string;
  repo: string;
  /** The default repository's state, for assertions. */
  repository: RepoState;
  state: FakeState;
  readonly calls: readonly RecordedCall[];
  readonly violations: readonly Violation[];
  count(filter?: CallFilter): number;
  callsMatching(filter?: CallFilter): RecordedCall[];
  /** Forgets recorded calls (not state): handy to count only the calls of the step under test. */
  resetCalls(): void;
  failNext(match: FaultMatch, fault: Fault): void;
  /** Throws an error listing every violation so far. */
  assertNoViolations(): void;
  /** Returns the violations so far and forgets them (for tests that provoke violations on purpose). */
  takeViolations(): Violation[];
  seedRef(name: string, sha: string): void;
  /** A workflow run of the default repository, for GET /repos/{owner}/{repo}/actions/runs/{run_id}. */
  seedRun(id: number, status: 'queued' | 'in_progress' | 'completed', conclusion?: string | null): void;
  seedCommitStatus(sha: string, context: string, state: 'error' | 'failure' | 'pending' | 'success'): void;
  seedPull(input: SeedPull): IssueRecord;
  seedCommitPulls(sha: string, numbers: number[]): void;
  seedIssue(input: { title: string; body?: string; labels?: string[]; state?: 'open' | 'closed'; user?: FakeUser }): IssueRecord;
  seedComment(issueNumber: number, body: string, user?: FakeUser): CommentRecord;
  seedReaction(commentId: number, content: ReactionContent, user?: FakeUser): ReactionRecord;
  seedDeployment(input: SeedDeployment): DeploymentRecord;
  close(): Promise<void>;
}

const SECONDARY_MESSAGE =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.';
const RATE_LIMIT_DOCS = 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api';

interface PendingFault {
  match: FaultMatch;
  fault: Fault;
  remaining: number;
}

function matches(filter: CallFilter, call: { method: string; path: string; template?: string; status?: number }): boolean {
  if (filter.method && filter.method.toUpperCase() !== call.method) return false;
  if (filter.status !== undefined && filter.status !== call.status) return false;
  if (filter.path instanceof RegExp) return filter.path.test(call.path);
  if (typeof filter.path === 'string') return filter.path === call.path || filter.path === call.template;
  return true;
}

/** Query strings are text; the description's types are not. */
function coerce(value: string, schema: Schema): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  if (type === 'array') return value.split(',');
  return value;
}

/** Property names a body schema knows, or undefined when it accepts anything. */
function knownFields(schema: Schema): Set<string> | undefined {
  const names = new Set<string>();
  const visit = (node: Schema): boolean => {
    if (node.additionalProperties !== undefined && node.additionalProperties !== false) return false;
    for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
      const list = node[key];
      if (Array.isArray(list) && !list.every((sub) => visit(sub as Schema))) return false;
    }
    for (const name of Object.keys((node.properties ?? {}) as Schema)) names.add(name);
    return true;
  };
  if (!visit(schema) || names.size === 0) return undefined;
  return names;
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const api = githubApi();
  const state = new FakeState(options.now ?? (() => new Date()));
  const repoNames = options.repos ?? ['octo-org/octo-repo'];
  for (const name of repoNames) state.addRepo(name);
  const defaultRepo = state.repos.get(repoNames[0]!.toLowerCase())!;
  const calls: RecordedCall[] = [];
  const violations: Violation[] = [];
  const faults: PendingFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const ctx: HandlerContext = { state, apiUrl: '', actor: options.actor ?? GITHUB_ACTIONS_BOT, autoInactive: options.autoInactive ?? 'documented' };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  function takeFault(call: { method: string; path: string; template?: string }): Fault | undefined {
    const pending = faults.find((entry) => entry.remaining > 0 && matches(entry.match, call));
    if (!pending) return undefined;
    pending.remaining--;
    if (pending.remaining === 0) faults.splice(faults.indexOf(pending), 1);
    return pending.fault;
  }

  function faultResponse(found: Fault, operation: Operation | undefined): FakeResponse | undefined {
    const request = { operation };
    const nowSeconds = Math.floor(Date.now() / 1000);
    switch (found.kind) {
      case 'secondary-rate-limit':
        return {
          status: 403,
          headers: found.retryAfterSeconds === undefined ? {} : { 'retry-after': String(found.retryAfterSeconds) },
          body: { message: SECONDARY_MESSAGE, documentation_url: `${RATE_LIMIT_DOCS}#about-secondary-rate-limits`, status: '403' },
        };
      case 'rate-limit':
        return {
          status: found.status,
          headers: {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(nowSeconds + found.resetInSeconds),
            'x-ratelimit-resource': 'core',
          },
          body: { message: 'API rate limit exceeded for installation ID 1.', documentation_url: `${RATE_LIMIT_DOCS}#about-the-primary-rate-limit`, status: String(found.status) },
        };
      case 'permission':
        return { status: 403, body: errorBody(found.message, request, 403) };
      case 'server-error':
        return { status: found.status, body: { message: 'Server Error' } };
      case 'custom':
        return { status: found.status, headers: found.headers, body: found.body };
      case 'slow':
        return undefined;
    }
  }

  async function handle(req: http.IncomingMessage, rawBody: string): Promise<{ response: FakeResponse; call: Omit<RecordedCall, 'status'> }> {
    const url = new URL(req.url ?? '/', 'http://fake.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = url.pathname;
    const fullPath = `${pathname}${url.search}`;
    let body: unknown;
    let malformed = false;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        malformed = true;
      }
    }
    const lookup = api.lookup(method, pathname);
    const operation = lookup.kind === 'found' ? lookup.match.operation : undefined;
    const template = operation?.template;
    const call = { method, path: pathname, query: url.search.replace(/^\?/, ''), template, operationId: operation?.operationId, body, at: Date.now() };
    const violate = (kind: ViolationKind, message: string): void => {
      violations.push({ kind, method, path: fullPath, template: template ?? (lookup.kind === 'method-not-allowed' ? lookup.template : undefined), message });
    };

    if (lookup.kind === 'unknown') {
      violate('unknown-endpoint', `${method} ${pathname} is not an endpoint of the GitHub REST API (no path in the OpenAPI description matches)`);
      return { response: { status: 404, body: errorBody('Not Found', undefined, 404) }, call };
    }
    if (lookup.kind === 'method-not-allowed') {
      violate('method-not-allowed', `${method} is not a method of ${lookup.template} (the description has ${lookup.allowed.join(', ')})`);
      return { response: { status: 404, body: errorBody('Not Found', undefined, 404) }, call };
    }
    const { operation: op, params } = lookup.match;

    if (options.token) {
      const auth = req.headers.authorization ?? '';
      if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) {
        return { response: { status: 401, body: errorBody('Bad credentials', { operation: op }, 401) }, call };
      }
    }

    // Faults come first, as on GitHub: a rate limit answers before the body is looked at.
    const injected = takeFault(call);
    if (injected?.kind === 'slow') await sleep(injected.delayMs);
    else if (injected) return { response: faultResponse(injected, op)!, call };

    for (const parameter of op.parameters.filter((p: Parameter) => p.in === 'path')) {
      const value = params[parameter.name];
      if (value === undefined) continue;
      const problems = api.validate(parameter.schema, coerce(value, parameter.schema));
      if (problems.length > 0) {
        violate('invalid-path-parameter', `path parameter ${parameter.name}=${JSON.stringify(value)} does not match the description (${JSON.stringify(parameter.schema.type)})`);
        return { response: { status: 404, body: errorBody('Not Found', { operation: op }, 404) }, call };
      }
    }
    for (const [name, value] of url.searchParams) {
      const parameter = op.parameters.find((p) => p.in === 'query' && p.name === name);
      if (!parameter) {
        const known = op.parameters.filter((p) => p.in === 'query').map((p) => p.name);
        violate('unknown-query-parameter', `query parameter "${name}" is not one of ${op.operationId}'s (${known.join(', ') || 'none'})`);
        continue;
      }
      const problems = api.validate(parameter.schema, coerce(value, parameter.schema)).map((problem) => problem.replace(/^body/, name));
      if (problems.length > 0) {
        violate('invalid-query', `query parameter ${name}=${JSON.stringify(value)}: ${problems.join('; ')}`);
        return { response: { status: 422, body: errorBody(`Invalid request.\n\n${problems.join('\n')}`, { operation: op }, 422) }, call };
      }
    }

    if (malformed) {
      violate('malformed-json', `the request body is not JSON: ${rawBody.slice(0, 120)}`);
      return { response: { status: 400, body: errorBody('Problems parsing JSON', { operation: op }, 400) }, call };
    }
    if (op.requestBody) {
      const schema = op.requestBody.schema();
      if (body === undefined && op.requestBody.required) {
        violate('invalid-body', `${op.operationId} requires a JSON body and none was sent`);
        return { response: { status: 422, body: errorBody('Invalid request.\n\nA JSON body is required.', { operation: op }, 422) }, call };
      }
      if (body !== undefined) {
        const problems = api.validate(schema, body);
        if (problems.length > 0) {
          violate('invalid-body', `${op.operationId}: ${problems.join('; ')}`);
          return { response: { status: 422, body: errorBody(`Invalid request.\n\n${problems.join('\n')}`, { operation: op }, 422) }, call };
        }
        const fields = knownFields(schema);
        if (fields && body !== null && typeof body === 'object' && !Array.isArray(body)) {
          const unknown = Object.keys(body).filter((name) => !fields.has(name));
          // GitHub ignores unknown fields; a test should not, since such a field is a typo that changes nothing.
          if (unknown.length > 0) violate('unknown-body-field', `${op.operationId} has no body field ${unknown.map((name) => JSON.stringify(name)).join(', ')} (known: ${[...fields].join(', ')})`);
        }
      }
    }

    const handler = HANDLERS[op.operationId];
    if (!handler) {
      violate('not-implemented', `the fake GitHub does not implement ${op.operationId} (${method} ${op.template}) yet; add it to test/support/fake-github/routes.ts`);
      return { response: { status: 501, body: errorBody(`The fake GitHub does not implement ${op.operationId}`, { operation: op }, 501) }, call };
    }
    const repo = params.owner !== undefined && params.repo !== undefined ? state.repo(params.owner, params.repo) : defaultRepo;
    if (!repo) return { response: { status: 404, body: errorBody('Not Found', { operation: op }, 404) }, call };

    const response = handler({ method, pathname, params, query: url.searchParams, body, operation: op }, repo, ctx);
    const schema = op.responses[String(response.status)]?.();
    if (schema && response.body !== undefined) {
      response.body = complete(schema, response.body);
      if (options.validateResponses) {
        const problems = api.validate(schema, response.body).map((problem) => problem.replace(/^body/, 'response'));
        if (problems.length > 0) violate('fake-response', `the fake's ${response.status} answer to ${op.operationId} does not match the description: ${problems.join('; ')}`);
      }
    }
    return { response, call };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks).toString('utf8'))
        .then(({ response, call }) => {
          calls.push({ ...call, status: response.status });
          if (res.destroyed) return;
          const used = calls.length;
          const headers: Record<string, string> = {
            'x-github-request-id': `FAKE:${used}`,
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': String(Math.max(0, 5000 - used)),
            'x-ratelimit-used': String(used),
            'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
            'x-ratelimit-resource': 'core',
            ...(response.headers ?? {}),
          };
          if (response.status === 204 || response.body === undefined) {
            res.writeHead(response.status, headers).end();
          } else {
            res.writeHead(response.status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(response.body));
          }
        })
        .catch((error: unknown) => {
          if (!res.destroyed) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `fake GitHub crashed: ${String(error)}` }));
          violations.push({ kind: 'fake-response', method: req.method ?? '', path: req.url ?? '', message: `the fake GitHub crashed: ${error instanceof Error ? error.stack : String(error)}` });
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ctx.apiUrl = url;

  const requireIssue = (number: number): IssueRecord => {
    const issue = defaultRepo.issues.get(number);
    if (!issue) throw new Error(`fake GitHub: no issue or pull request #${number} in ${defaultRepo.owner}/${defaultRepo.name}`);
    return issue;
  };

  return {
    url,
    owner: defaultRepo.owner,
    repo: defaultRepo.name,
    repository: defaultRepo,
    state,
    calls,
    violations,
    count: (filter = {}) => calls.filter((call) => matches(filter, call)).length,
    callsMatching: (filter = {}) => calls.filter((call) => matches(filter, call)),
    resetCalls: () => {
      calls.length = 0;
    },
    failNext(match, injected) {
      faults.push({ match, fault: injected, remaining: match.times ?? 1 });
    },
    assertNoViolations() {
      if (violations.length === 0) return;
      const lines = violations.map((violation, index) => `  ${index + 1}. [${violation.kind}] ${violation.method} ${violation.path}: ${violation.message}`);
      throw new Error(`The fake GitHub saw ${violations.length} request(s) that the real API would reject or that it cannot answer:\n${lines.join('\n')}`);
    },
    takeViolations: () => violations.splice(0, violations.length),
    seedRun(id, status, conclusion = status === 'completed' ? 'failure' : null) {
      defaultRepo.runs.set(id, { status, conclusion });
    },
    seedRef(name, sha) {
      defaultRepo.refs.set(name, sha.toLowerCase());
    },
    seedCommitStatus(sha, context, commitState) {
      const key = sha.toLowerCase();
      const contexts = defaultRepo.commitStatuses.get(key) ?? new Map();
      contexts.set(context, commitState);
      defaultRepo.commitStatuses.set(key, contexts);
    },
    seedPull(input) {
      const merged = input.merged ?? false;
      return addIssue(ctx, defaultRepo, {
        number: input.number,
        title: input.title ?? `Pull request for ${input.headRef ?? input.headSha.slice(0, 7)}`,
        body: input.body ?? null,
        labels: input.labels,
        state: input.state ?? (merged ? 'closed' : 'open'),
        user: input.user ?? { login: 'octocat', id: 583231, type: 'User' },
        pull: {
          headSha: input.headSha.toLowerCase(),
          headRef: input.headRef ?? 'feature',
          baseRef: input.baseRef ?? defaultRepo.defaultBranch,
          baseSha: (input.baseSha ?? '0'.repeat(40)).toLowerCase(),
          mergeCommitSha: input.mergeCommitSha ?? null,
          merged,
          mergedAt: merged ? state.timestamp() : null,
          draft: input.draft ?? false,
        },
      });
    },
    seedCommitPulls(sha, numbers) {
      defaultRepo.commitPulls.set(sha.toLowerCase(), [...numbers]);
    },
    seedIssue: (input) => addIssue(ctx, defaultRepo, input),
    seedComment: (issueNumber, body, user) => addComment(ctx, defaultRepo, requireIssue(issueNumber), body, user),
    seedReaction(commentId, content, user) {
      const comment = defaultRepo.comments.find((candidate) => candidate.id === commentId);
      if (!comment) throw new Error(`fake GitHub: no issue comment ${commentId}`);
      return addReaction(ctx, comment, content, user ?? { login: 'octocat', id: 583231, type: 'User' }).reaction;
    },
    seedDeployment(input) {
      const now = state.timestamp();
      const deployment: DeploymentRecord = {
        id: state.id(),
        sha: (input.sha ?? defaultRepo.refs.get(input.ref) ?? input.ref).toLowerCase(),
        ref: input.ref,
        task: input.task ?? 'deploy',
        payload: input.payload ?? {},
        environment: input.environment,
        originalEnvironment: input.environment,
        description: input.description ?? '',
        creator: input.creator ?? ctx.actor,
        createdAt: now,
        updatedAt: now,
        transient: input.transient ?? false,
        production: input.production ?? input.environment === 'production',
        statuses: [],
      };
      defaultRepo.deployments.push(deployment);
      for (const deploymentState of input.states ?? []) addDeploymentStatus(ctx, defaultRepo, deployment, { state: deploymentState });
      return deployment;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
