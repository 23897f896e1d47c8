/**
 * The `http` deploy provider: POSTs a JSON payload {version, environment, ref, url, phase, runUrl} to a deploy hook,
 * signed with HMAC-SHA256 over the exact body bytes when a secret is configured, then (optionally) polls a status URL
 * until it reports success or failure.
 *
 * The hook POST is never retried: a deploy is not idempotent, and a hook that timed out may still be deploying. Polling
 * is a GET and rides out transient trouble (5xx, resets) until the provider's timeout. The status is first asked one
 * poll interval after the hook accepted, so an answer about the previous deployment is less likely to be taken as ours.
 */
import { createHmac } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpDeploySpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import { Secrets, redactUrlCredentials } from '../../config/secrets.js';
import { httpRequest, safeOrigin, type HttpResponse } from '../../checks/http-client.js';
import type { ResolvedTimeouts } from '../../checks/model.js';
import { resolveHeaders } from '../../checks/kinds/http.js';
import type { DeployContext, DeployProvider, ProviderResult } from '../model.js';

const DEFAULT_TIMEOUT_MS = 30 * 60_000;
const DEFAULT_POLL_INTERVAL_MS = 5_000;
/**
 * A deploy hook may do real work before answering; a status endpoint should answer at once. deploy.timeout is enforced
 * by aborting the request instead, so a poll cut short by it reports the last real answer, not a truncated request.
 */
const HOOK_TIMEOUTS: ResolvedTimeouts = { connect: 10_000, firstByte: 120_000, total: 120_000 };
const POLL_TIMEOUTS: ResolvedTimeouts = { connect: 10_000, firstByte: 30_000, total: 30_000 };
const QUOTED_BODY = 300;

export const SIGNATURE_HEADER = 'x-rollgate-signature-256';

/** The JSON body a deploy hook receives. Optional fields are left out when unknown. */
export interface DeployHookPayload {
  version: string;
  environment: string;
  ref?: string;
  url?: string;
  phase?: string;
  runUrl?: string;
}

export function httpProvider(spec: HttpDeploySpec): DeployProvider {
  return { kind: 'http', deploy: (ctx) => deployOverHttp(spec, ctx) };
}

/** `sha256=<hex>`: the value of X-Rollgate-Signature-256 for a body (the exact bytes sent) and key. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex')}`;
}

async function deployOverHttp(spec: HttpDeploySpec, ctx: DeployContext): Promise<ProviderResult> {
  const resolved = resolveHeaders(spec.headers);
  const local = new Secrets();
  for (const value of resolved.secretValues) local.add(value);
  local.add(spec.secret);
  const redact = (text: string) => ctx.secrets.redact(local.redact(text));

  const timeoutMs = spec.timeout ?? DEFAULT_TIMEOUT_MS;
  const pollMs = spec.pollInterval ?? DEFAULT_POLL_INTERVAL_MS;
  const hook = safeOrigin(spec.url);
  if (ctx.signal.aborted) return { ok: false, message: `deploy hook ${hook} was not called because ${abortReason(ctx.signal)}` };

  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort(new Error('deploy.timeout passed'));
  }, timeoutMs);
  const onAbort = () => stop.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const stoppedMessage = (what: string, last?: string) => {
    const tail = last ? `; last answer: ${last}` : '';
    return timedOut
      ? `${what} did not finish within ${formatDuration(timeoutMs)} (deploy.timeout)${tail}. If the deployment needs longer, raise deploy.timeout in rollgate.yml`
      : `${what} was stopped because ${abortReason(ctx.signal)}${tail}`;
  };

  try {
    const payload: DeployHookPayload = {
      version: ctx.version,
      environment: ctx.environment,
      ref: ctx.ref,
      url: ctx.url,
      phase: ctx.phase,
      runUrl: ctx.runUrl,
    };
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { ...resolved.headers };
    headers['content-type'] ??= 'application/json';
    if (spec.secret) headers[SIGNATURE_HEADER] = signBody(body, spec.secret);

    ctx.log.info(`calling deploy hook ${hook} (POST, version ${redact(ctx.version)})`);
    let response: HttpResponse;
    try {
      response = await httpRequest({ url: spec.url, method: 'POST', headers, body, timeouts: HOOK_TIMEOUTS, signal: stop.signal });
    } catch (error) {
      if (stop.signal.aborted) return { ok: false, message: stoppedMessage(`deploy hook ${hook}`) };
      return {
        ok: false,
        message: `deploy hook ${hook} failed: ${redact(errorText(error))}; it was not retried because a deploy hook may not be safe to call twice`,
      };
    }
    if (response.status < 200 || response.status > 299) {
      return {
        ok: false,
        message: `deploy hook ${hook} answered ${response.status} (expected 2xx): ${quoteBody(response.body, redact)}${authHint(response.status)}`,
      };
    }
    const accepted = parseJson(response.body);
    const environmentUrl = environmentUrlOf(accepted);
    ctx.log.info(`deploy hook ${hook} accepted the deployment (${response.status})`);
    if (!spec.statusUrl) {
      return {
        ok: true,
        message: `deploy hook ${hook} accepted the deployment (${response.status}); no statusUrl is configured, so readiness checks decide`,
        ...(environmentUrl ? { environmentUrl } : {}),
      };
    }

    const statusUrl = resolveStatusUrl(spec.statusUrl, spec.url, accepted);
    if ('error' in statusUrl) return { ok: false, message: redact(statusUrl.error) };
    const result = await pollStatus(statusUrl.url, {
      headers: resolved.headers,
      pollMs,
      signal: stop.signal,
      redact,
      log: ctx.log,
      stoppedMessage,
    });
    if (result.ok && !result.environmentUrl && environmentUrl) return { ...result, environmentUrl };
    return result;
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

interface PollOptions {
  headers: Record<string, string>;
  pollMs: number;
  signal: AbortSignal;
  redact: (text: string) => string;
  log: DeployContext['log'];
  stoppedMessage: (what: string, last?: string) => string;
}

const WAITING = new Set(['in_progress', 'queued', 'pending']);

async function pollStatus(url: string, options: PollOptions): Promise<ProviderResult> {
  const where = safeOrigin(url);
  const what = `deploy status at ${where}`;
  let last: string | undefined;
  let lastLogged: string | undefined;
  const note = (observation: string, level: 'info' | 'warning') => {
    last = observation;
    if (observation !== lastLogged) options.log[level](`${what}: ${observation}`);
    lastLogged = observation;
  };

  for (;;) {
    try {
      await sleep(options.pollMs, undefined, { signal: options.signal });
    } catch {
      return { ok: false, message: options.stoppedMessage(what, last) };
    }
    let response: HttpResponse;
    try {
      response = await httpRequest({ url, method: 'GET', headers: options.headers, timeouts: POLL_TIMEOUTS, signal: options.signal });
    } catch (error) {
      if (options.signal.aborted) return { ok: false, message: options.stoppedMessage(what, last) };
      note(`request failed: ${options.redact(errorText(error))}`, 'warning');
      continue;
    }
    if (response.status === 401 || response.status === 403) {
      return { ok: false, message: `${what} answered ${response.status}: ${quoteBody(response.body, options.redact)}${authHint(response.status)}` };
    }
    if (response.status < 200 || response.status > 299) {
      note(`answered ${response.status}: ${quoteBody(response.body, options.redact)}`, 'warning');
      continue;
    }
    const answer = parseJson(response.body);
    const raw = isObject(answer) ? (answer.status ?? answer.state) : undefined;
    if (typeof raw !== 'string') {
      note(`answered without a "status" (or "state") field: ${quoteBody(response.body, options.redact)} ` +
        '(expected JSON such as {"status": "in_progress"}, "success", "failure" or "error")', 'warning');
      continue;
    }
    const status = raw.trim().toLowerCase();
    const detail = isObject(answer) ? detailOf(answer, options.redact) : undefined;
    if (status === 'success') {
      const environmentUrl = environmentUrlOf(answer);
      return {
        ok: true,
        message: `${what} reported success${detail ? `: ${detail}` : ''}`,
        ...(environmentUrl ? { environmentUrl } : {}),
      };
    }
    if (status === 'failure' || status === 'error') {
      return { ok: false, message: `${what} reported ${status}: ${detail ?? '(no message or description given)'}` };
    }
    if (WAITING.has(status)) {
      note(`${status}${detail ? ` (${detail})` : ''}`, 'info');
      continue;
    }
    note(`unknown status ${JSON.stringify(options.redact(clip(raw, 60)))} (expected success, failure, error, in_progress or queued)`, 'warning');
  }
}

/** Replaces `{id}` with the hook response's id and resolves a relative status URL against the hook URL. */
function resolveStatusUrl(template: string, hookUrl: string, accepted: unknown): { url: string } | { error: string } {
  let text = template;
  if (template.includes('{id}')) {
    const id = isObject(accepted) ? accepted.id : undefined;
    if (typeof id !== 'string' && typeof id !== 'number') {
      return {
        error: 'deploy.statusUrl contains {id}, ' +
          'but the deploy hook response had no "id" field (string or number) to put there; have the hook answer JSON ' +
          'such as {"id": "123"} or remove {id} from statusUrl',
      };
    }
    text = template.replaceAll('{id}', encodeURIComponent(String(id)));
  }
  try {
    return { url: new URL(text, hookUrl).toString() };
  } catch {
    return { error: `deploy.statusUrl is not a valid URL (expected e.g. https://deploy.example.com/status/{id})` };
  }
}

function detailOf(answer: Record<string, unknown>, redact: (text: string) => string): string | undefined {
  for (const key of ['message', 'description', 'error']) {
    const value = answer[key];
    if (typeof value === 'string' && value.trim() !== '') return clip(redact(value.trim()), QUOTED_BODY);
  }
  return undefined;
}

function environmentUrlOf(answer: unknown): string | undefined {
  if (!isObject(answer)) return undefined;
  const value = answer.environmentUrl ?? answer.environment_url;
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value)) return undefined;
  return redactUrlCredentials(value);
}

function quoteBody(body: string, redact: (text: string) => string): string {
  const text = body.trim();
  return text === '' ? '(empty body)' : JSON.stringify(clip(redact(text), QUOTED_BODY));
}

function authHint(status: number): string {
  if (status === 401) return '; the endpoint wants credentials: check deploy.headers (e.g. an Authorization header) in rollgate.yml';
  if (status === 403) return '; the endpoint refused the credentials or the signature: check deploy.headers and deploy.secret in rollgate.yml';
  return '';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.message && reason.name !== 'AbortError') return reason.message;
  if (typeof reason === 'string' && reason) return reason;
  return 'the run was cancelled';
}
