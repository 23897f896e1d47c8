/**
 * The GitHub API client every rollgate step uses: octokit (REST endpoint methods, as in @actions/github) with the
 * retry and throttling plugins, and errors a user can act on.
 *
 * - 5xx and network failures are retried with growing pauses (plugin-retry).
 * - Rate limits (a 403/429 whose message names a secondary rate limit, or `x-ratelimit-remaining: 0` with a reset
 *   time) wait as GitHub asks (`Retry-After` / the reset time) and retry, within a budget of retries and of total
 *   waiting; every wait is logged. Past the budget the call fails with a `GitHubRateLimitError`.
 * - A permission 403 ("Resource not accessible by integration", "Must have admin rights") is never retried: waiting
 *   does not grant permissions. `withPermission` turns it into a `GitHubPermissionError` naming what the workflow's
 *   `permissions:` block must grant.
 */
import { GitHub } from '@actions/github/lib/utils';
import { retry } from '@octokit/plugin-retry';
import { throttling, type ThrottlingOptions } from '@octokit/plugin-throttling';
import type { Logger } from '../checks/model.js';
import { ROLLGATE_VERSION } from '../version.js';

const RollgateOctokit = GitHub.plugin(retry, throttling);

/** An octokit with `rest.*` endpoint methods, `paginate`, retries and throttling. */
export type GitHubClient = InstanceType<typeof RollgateOctokit>;

export interface GitHubClientOptions {
  token: string;
  /** API base URL; default GITHUB_API_URL's value as @actions/github reads it, else https://api.github.com. */
  baseUrl?: string;
  log: Logger;
  /** Retries after a 5xx/network failure, and after a rate limit. Default 3. */
  retries?: number;
  /** Total time one request may spend waiting for rate limits to pass. Default 60 s. */
  maxRateLimitWaitMs?: number;
  /** Base of the pause between 5xx retries: 1x, 4x, 9x this. Default 1000 ms. */
  retryBaseDelayMs?: number;
  /**
   * Pause between two writes (POST/PATCH/PUT/DELETE). GitHub asks integrations to leave about a second between
   * mutating requests to avoid secondary rate limits; the throttling plugin's default does (1 s, 3 s for requests
   * that notify people). Tests pass 0.
   */
  writeSpacingMs?: number;
  userAgent?: string;
}

/** A call GitHub refused for lack of a permission. `permission` is what the workflow must grant, e.g. `deployments: write`. */
export class GitHubPermissionError extends Error {
  override readonly name = 'GitHubPermissionError';
  constructor(
    message: string,
    readonly permission: string | undefined,
    readonly status: number,
    readonly documentationUrl?: string,
  ) {
    super(message);
  }
}

/** A call that kept meeting rate limits past the retry/wait budget. */
export class GitHubRateLimitError extends Error {
  override readonly name = 'GitHubRateLimitError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Any other error answer from GitHub, with the endpoint and GitHub's own message. */
export class GitHubApiError extends Error {
  override readonly name = 'GitHubApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly githubMessage: string,
    readonly documentationUrl?: string,
  ) {
    super(message);
  }
}

interface RequestErrorLike {
  status: number;
  message: string;
  request?: { method?: string; url?: string };
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number' && 'request' in error;
}

const PERMISSION_MESSAGES = [/resource not accessible by (integration|personal access token)/i, /must have admin rights/i, /must have push access/i];

function githubMessage(error: RequestErrorLike): { message: string; documentationUrl?: string } {
  const data = error.response?.data as { message?: unknown; documentation_url?: unknown } | undefined;
  return {
    message: typeof data?.message === 'string' ? data.message : error.message,
    ...(typeof data?.documentation_url === 'string' ? { documentationUrl: data.documentation_url } : {}),
  };
}

function endpoint(error: RequestErrorLike): string {
  const url = error.request?.url ?? '';
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    // Not absolute: keep as is.
  }
  return `${error.request?.method ?? 'request'} ${path}`.trim();
}

export function isPermissionError(error: unknown): boolean {
  return isRequestError(error) && error.status === 403 && PERMISSION_MESSAGES.some((pattern) => pattern.test(githubMessage(error).message));
}

export function isRateLimitError(error: unknown): boolean {
  if (!isRequestError(error) || (error.status !== 403 && error.status !== 429)) return false;
  return /\bsecondary rate\b/i.test(githubMessage(error).message) || String(error.response?.headers?.['x-ratelimit-remaining']) === '0';
}

/**
 * A user-facing error for anything an octokit call threw: permission and rate-limit refusals become their own
 * classes, other HTTP errors a `GitHubApiError` naming the endpoint; non-HTTP errors pass through.
 */
export function describeGitHubError(error: unknown, permission?: string): unknown {
  if (error instanceof GitHubPermissionError || error instanceof GitHubRateLimitError || error instanceof GitHubApiError) return error;
  if (!isRequestError(error)) return error;
  const { message, documentationUrl } = githubMessage(error);
  const where = endpoint(error);
  const docs = documentationUrl ? ` (${documentationUrl})` : '';
  if (isPermissionError(error)) {
    const grant = permission
      ? `The token lacks the "${permission}" permission: add it to the workflow or job, e.g.\n  permissions:\n    ${permission}`
      : 'The token lacks a permission this call needs: check the workflow\'s "permissions:" block';
    return new GitHubPermissionError(`GitHub refused ${where} with 403 "${message}". ${grant}${docs}`, permission, error.status, documentationUrl);
  }
  if (isRateLimitError(error)) {
    return new GitHubRateLimitError(
      `GitHub rate-limited ${where} (${error.status} "${message}") beyond what rollgate waits for. Re-run the job later, or spread out workflows that use the same token.`,
      error.status,
    );
  }
  return new GitHubApiError(`GitHub answered ${error.status} to ${where}: "${message}"${docs}`, error.status, message, documentationUrl);
}

/**
 * Runs an API call; a permission 403 becomes a `GitHubPermissionError` naming `permission` (e.g. `deployments: write`),
 * other failures are described by `describeGitHubError`.
 */
export async function withPermission<T>(permission: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw describeGitHubError(error, permission);
  }
}

type Schedulable = (...args: unknown[]) => unknown;

/**
 * A stand-in for a Bottleneck group with only a minimum gap between jobs: the throttling plugin's own groups are
 * module-wide and fixed at 1 s (3 s for notifying writes). It uses `group.key(id).schedule([options], fn, ...args)`,
 * Bottleneck's public API.
 */
function spacedGroup(gapMs: number): NonNullable<ThrottlingOptionsBase['write']> {
  let nextStart = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const limiter = {
    schedule(...args: unknown[]): Promise<unknown> {
      const [fn, ...rest] = (typeof args[0] === 'function' ? args : args.slice(1)) as [Schedulable, ...unknown[]];
      const turn = queue.then(async () => {
        const wait = nextStart - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        nextStart = Date.now() + gapMs;
      });
      queue = turn.catch(() => undefined);
      return turn.then(() => fn(...rest));
    },
  };
  return { key: () => limiter } as unknown as NonNullable<ThrottlingOptionsBase['write']>;
}

type ThrottlingOptionsBase = Extract<ThrottlingOptions, { onRateLimit: unknown }>;

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const { log } = options;
  if (!options.token) throw new Error('a GitHub token is needed to call the GitHub API: pass the token input (by default ${{ github.token }})');
  const retries = options.retries ?? 3;
  const maxWaitMs = options.maxRateLimitWaitMs ?? 60_000;
  const waited = new WeakMap<object, number>();

  const onLimit = (kind: string) => (retryAfterSeconds: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
    const where = `${request.method} ${request.url}`;
    const waitMs = Math.max(0, retryAfterSeconds) * 1000;
    const total = (waited.get(request) ?? 0) + waitMs;
    if (retryCount >= retries) {
      log.warning(`GitHub ${kind} on ${where}: still limited after ${retryCount} retr${retryCount === 1 ? 'y' : 'ies'}; giving up`);
      return false;
    }
    if (total > maxWaitMs) {
      log.warning(`GitHub ${kind} on ${where}: GitHub asks to wait ${retryAfterSeconds}s, which would exceed the ${Math.round(maxWaitMs / 1000)}s rollgate waits for rate limits; giving up`);
      return false;
    }
    waited.set(request, total);
    log.warning(`GitHub ${kind} on ${where}: waiting ${retryAfterSeconds}s as GitHub asks, then retrying (${retryCount + 1}/${retries})`);
    return true;
  };

  const throttle: ThrottlingOptionsBase = {
    onSecondaryRateLimit: onLimit('secondary rate limit'),
    onRateLimit: onLimit('rate limit'),
    // Rate limits only ever come from GitHub; the plugin's fallback when a secondary limit names no Retry-After.
    fallbackSecondaryRateRetryAfter: 60,
  };
  if (options.writeSpacingMs !== undefined) {
    throttle.write = spacedGroup(options.writeSpacingMs);
    throttle.notifications = spacedGroup(options.writeSpacingMs * 3);
  }

  return new RollgateOctokit({
    auth: `token ${options.token}`,
    ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, '') } : {}),
    userAgent: options.userAgent ?? `rollgate/${ROLLGATE_VERSION}`,
    log: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.debug(message),
      warn: (message: string) => log.warning(message),
      error: (message: string) => log.warning(message),
    },
    retry: {
      retries,
      retryAfterBaseValue: options.retryBaseDelayMs ?? 1000,
      // 403/429 belong to the throttling plugin (rate limits) or are final (permissions); 409/422 are answers.
      doNotRetry: [400, 401, 403, 404, 409, 410, 422, 429, 451],
    },
    throttle,
  });
}

export { apiUrlFromEnv, repoFromEnv, runUrlFromEnv } from './env.js';
