/**
 * From a loaded configuration to the checks one environment runs: shared checks plus the environment's own, minus
 * the skipped ones, with relative URLs resolved against the environment url and settings merged
 * (defaults <- top-level settings <- environment settings <- check).
 */
import type { z } from 'zod';
import type { CheckSpec, RollgateConfig, RunSettingsSpec, TimeoutsSpec, RetriesSpec, StatusPattern, RetryErrorKind } from './schema.js';
import { redactUrlCredentials } from './secrets.js';
import { NO_SOURCE, didYouMean, formatPath, problemAt, quote, sortProblems, type ConfigProblem, type KeyPath, type ProblemSource } from './errors.js';

export type StatusPatternSpec = z.output<typeof StatusPattern>;
export type RetryErrorKindSpec = z.output<typeof RetryErrorKind>;

/** Milliseconds. */
export interface ResolvedTimeouts {
  connect: number;
  firstByte: number;
  total: number;
}

export interface ResolvedRetries {
  attempts: number;
  delayMs: number;
  backoff: number;
  maxDelayMs: number;
  /** undefined: the engine's default policy decides which statuses are retried. */
  onStatus: StatusPatternSpec[] | undefined;
  /** undefined: every transport error is retried. */
  onErrors: RetryErrorKindSpec[] | undefined;
}

export interface ResolvedSettings {
  concurrency: number;
  deadlineMs: number;
  timeouts: ResolvedTimeouts;
  retries: ResolvedRetries;
  breaker: { failures: number; halfOpenAfterMs: number };
  logLevel: 'debug' | 'info' | 'warning';
  /** settings.ca as written (relative to the config file); the validate engine reads it. */
  caFile?: string;
}

export function defaultSettings(): ResolvedSettings {
  return {
    concurrency: 16,
    deadlineMs: 300_000,
    timeouts: { connect: 5_000, firstByte: 10_000, total: 30_000 },
    retries: { attempts: 1, delayMs: 1_000, backoff: 1, maxDelayMs: 30_000, onStatus: undefined, onErrors: undefined },
    breaker: { failures: 5, halfOpenAfterMs: 30_000 },
    logLevel: 'info',
  };
}

/** Applies each layer of settings over the defaults, later layers winning field by field. */
export function resolveSettings(...layers: (RunSettingsSpec | undefined)[]): ResolvedSettings {
  const settings = defaultSettings();
  for (const layer of layers) {
    if (!layer) continue;
    if (layer.concurrency !== undefined) settings.concurrency = layer.concurrency;
    if (layer.deadline !== undefined) settings.deadlineMs = layer.deadline;
    if (layer.logLevel !== undefined) settings.logLevel = layer.logLevel;
    if (layer.ca !== undefined) settings.caFile = layer.ca;
    if (layer.breaker?.failures !== undefined) settings.breaker.failures = layer.breaker.failures;
    if (layer.breaker?.halfOpenAfter !== undefined) settings.breaker.halfOpenAfterMs = layer.breaker.halfOpenAfter;
    settings.timeouts = mergeTimeouts(settings.timeouts, layer.timeouts);
    settings.retries = mergeRetries(settings.retries, layer.retries);
  }
  return settings;
}

function mergeTimeouts(base: ResolvedTimeouts, layer: TimeoutsSpec | undefined): ResolvedTimeouts {
  return {
    connect: layer?.connect ?? base.connect,
    firstByte: layer?.firstByte ?? base.firstByte,
    total: layer?.total ?? base.total,
  };
}

function mergeRetries(base: ResolvedRetries, layer: RetriesSpec | undefined): ResolvedRetries {
  return {
    attempts: layer?.attempts ?? base.attempts,
    delayMs: layer?.delay ?? base.delayMs,
    backoff: layer?.backoff ?? base.backoff,
    maxDelayMs: layer?.maxDelay ?? base.maxDelayMs,
    onStatus: layer?.onStatus ? [...layer.onStatus] : base.onStatus,
    onErrors: layer?.onErrors ? [...layer.onErrors] : base.onErrors,
  };
}

/** Effective timeouts and retries for one check: the check's own fields win over the run settings. */
export function resolveCheckSettings(settings: Pick<ResolvedSettings, 'timeouts' | 'retries'>, check: Pick<CheckSpec, 'timeouts' | 'retries'>): {
  timeouts: ResolvedTimeouts;
  retries: ResolvedRetries;
} {
  return { timeouts: mergeTimeouts(settings.timeouts, check.timeouts), retries: mergeRetries(settings.retries, check.retries) };
}

export interface ValidationPlan {
  environment: string;
  /** The environment url, when configured. */
  baseUrl?: string;
  settings: ResolvedSettings;
  checks: CheckSpec[];
}

export type PlanResult = { ok: true; plan: ValidationPlan } | { ok: false; problems: ConfigProblem[] };

/**
 * The checks `environment` runs. `source` (from the loader) lets problems point into the file; without it they
 * carry key paths only.
 */
export function planChecks(config: RollgateConfig, environment: string, source: ProblemSource = NO_SOURCE): PlanResult {
  const names = Object.keys(config.environments);
  const env = Object.hasOwn(config.environments, environment) ? config.environments[environment] : undefined;
  if (!env) {
    const configured = names.length > 0 ? `configured: ${names.join(', ')}` : 'no environments are configured; add one under `environments`';
    return {
      ok: false,
      problems: [problemAt(source, ['environments'], `unknown environment ${quote(environment)} (${configured})`, didYouMean(environment, names), 'key')],
    };
  }

  const problems: ConfigProblem[] = [];
  const envPath: KeyPath = ['environments', environment];
  let base: URL | undefined;
  if (env.url !== undefined) {
    base = parseHttpUrl(env.url);
    if (!base) {
      problems.push(problemAt(source, [...envPath, 'url'], 'not an absolute http(s) URL (expected e.g. https://staging.example.com)'));
    }
  }

  const shared = (config.checks ?? []).map((check, index) => ({ check, path: ['checks', index] as KeyPath }));
  const own = (env.checks ?? []).map((check, index) => ({ check, path: [...envPath, 'checks', index] as KeyPath }));

  const skip = env.skipChecks ?? [];
  const sharedNames = shared.map(({ check }) => check.name);
  skip.forEach((name, index) => {
    if (!sharedNames.includes(name)) {
      const known = sharedNames.length > 0 ? `shared checks: ${sharedNames.join(', ')}` : 'there are no shared checks';
      problems.push(problemAt(source, [...envPath, 'skipChecks', index], `no shared check is named ${quote(name)} (${known})`, didYouMean(name, sharedNames)));
    }
  });

  const selected = [...shared.filter(({ check }) => !skip.includes(check.name)), ...own];
  const firstByName = new Map<string, KeyPath>();
  const checks: CheckSpec[] = [];
  for (const { check, path } of selected) {
    const first = firstByName.get(check.name);
    if (first) {
      problems.push(
        problemAt(
          source,
          [...path, 'name'],
          `duplicate check name ${quote(check.name)} (first used at ${formatPath([...first, 'name'])}; names must be unique in environment ${environment})`,
          first[0] === 'checks' && path[0] !== 'checks' ? `add ${quote(check.name)} to ${formatPath([...envPath, 'skipChecks'])} to replace the shared check` : undefined,
        ),
      );
      continue;
    }
    firstByName.set(check.name, path);
    checks.push(resolveUrls(check, path, { base, configured: env.url !== undefined, environment }, source, problems));
  }

  if (problems.length > 0) return { ok: false, problems: sortProblems(problems) };
  const settings = resolveSettings(config.settings, env.settings);
  const plan: ValidationPlan = { environment, settings, checks };
  if (base) plan.baseUrl = base.href;
  return { ok: true, plan };
}

function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function isRelative(url: string): boolean {
  return url.startsWith('/');
}

/**
 * `/health` against `https://api.example.com/v1` gives `https://api.example.com/v1/health`: the environment url's
 * path is kept as a prefix (what people mean by "relative to the base"), unlike WHATWG resolution which would drop /v1.
 */
export function joinUrl(base: URL, relative: string): string {
  // `//host/path` names another host on the base's scheme (RFC 3986 network-path reference), not a path.
  if (relative.startsWith('//')) return new URL(relative, base).href;
  const target = new URL(relative, 'http://placeholder.invalid');
  const out = new URL(base.href);
  out.pathname = base.pathname.replace(/\/+$/, '') + target.pathname;
  out.search = target.search;
  out.hash = target.hash;
  return out.href;
}

function resolveUrls(
  check: CheckSpec,
  path: KeyPath,
  target: { base: URL | undefined; configured: boolean; environment: string },
  source: ProblemSource,
  problems: ConfigProblem[],
): CheckSpec {
  const { base, configured, environment } = target;
  const resolve = (url: string, urlPath: KeyPath, mustBeHttp: boolean): string => {
    if (isRelative(url)) {
      // An unreadable environment url is already reported once; do not repeat it for every check.
      if (!base && configured) return url;
      if (!base) {
        problems.push(
          problemAt(
            source,
            urlPath,
            `relative URL ${quote(url)} needs a base, but environment ${environment} has no url`,
            `set environments.${environment}.url or write an absolute URL`,
          ),
        );
        return url;
      }
      return joinUrl(base, url);
    }
    if (mustBeHttp && !parseHttpUrl(url)) {
      problems.push(
        problemAt(source, urlPath, `${quote(redactUrlCredentials(url))} is not an http(s) URL (expected https://host/path, or a path like /health relative to the environment url)`),
      );
    }
    return url;
  };

  switch (check.type) {
    case 'http':
    case 'auth':
    case 'load':
      return { ...check, url: resolve(check.url, [...path, 'url'], true) };
    case 'tls':
      // host:port is allowed here, so only paths are resolved.
      return { ...check, url: resolve(check.url, [...path, 'url'], false) };
    case 'mcp': {
      if (check.url === undefined && check.command === undefined) {
        problems.push(problemAt(source, path, 'an mcp check needs `url` (Streamable HTTP or SSE) or `command` (stdio)'));
        return check;
      }
      if (check.url !== undefined && check.command !== undefined) {
        // Pointed at `command`: with a url the check would connect over HTTP and never start the command.
        problems.push(
          problemAt(
            source,
            [...path, 'command'],
            `an mcp check takes \`url\` (Streamable HTTP or SSE) or \`command\` (stdio), not both; it has url ${quote(redactUrlCredentials(check.url))} and command ${quote(check.command)}`,
            'remove `command` (and `args`, `env`) to check the server at the url, or remove `url` to start the command over stdio',
          ),
        );
        return check;
      }
      return check.url === undefined ? check : { ...check, url: resolve(check.url, [...path, 'url'], true) };
    }
    case 'circuit-breaker':
      return {
        ...check,
        url: resolve(check.url, [...path, 'url'], true),
        faultOn: { ...check.faultOn, url: resolve(check.faultOn.url, [...path, 'faultOn', 'url'], true) },
        faultOff: { ...check.faultOff, url: resolve(check.faultOff.url, [...path, 'faultOff', 'url'], true) },
      };
    default:
      return assertNever(check);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled check kind: ${JSON.stringify(value)}`);
}
