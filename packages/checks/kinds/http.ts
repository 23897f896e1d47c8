/**
 * The `http` check: one request, then every expectation becomes an Assertion (status, headers, body conditions,
 * raw text, latency). One attempt only; the runner owns retries, breakers and deadlines.
 */
import type { HeadersSpec, HttpCheckSpec } from '../../config/schema.js';
import { Secrets, redactUrlCredentials, secrets as processSecrets } from '../../config/secrets.js';
import { formatDuration } from '../../config/duration.js';
import { ROLLGATE_VERSION } from '../../version.js';
import { httpRequest, TransportError, type HttpResponse } from '../http-client.js';
import type { Assertion, AttemptResult, CheckExecutor } from '../model.js';
import { checkConditions, clip, compilePattern } from '../conditions.js';
import { describeStatus, describeStatusExpectation, statusMatches } from '../status.js';

const DEFAULT_STATUS = '2xx';

export interface ResolvedHeaders {
  headers: Record<string, string>;
  /** Values of headers marked `secret: true`: never shown anywhere. */
  secretValues: string[];
}

/** Flattens `{value, secret}` header values and adds rollgate's user agent unless one is given. */
export function resolveHeaders(spec: HeadersSpec | undefined): ResolvedHeaders {
  const headers: Record<string, string> = {};
  const secretValues: string[] = [];
  for (const [name, raw] of Object.entries(spec ?? {})) {
    const value = typeof raw === 'string' ? raw : raw.value;
    if (typeof raw !== 'string' && raw.secret) secretValues.push(value);
    headers[name.toLowerCase()] = value;
  }
  headers['user-agent'] ??= `rollgate/${ROLLGATE_VERSION}`;
  return { headers, secretValues };
}

/** A redactor that masks the given values as well as every secret the process knows, and URL credentials. */
export function redactorFor(values: readonly string[]): (text: string) => string {
  const local = new Secrets();
  for (const value of values) local.add(value);
  return (text) => processSecrets.redact(local.redact(text));
}

/** Applies `redact` to every text an attempt result carries. */
export function redactAttempt(result: AttemptResult, redact: (text: string) => string): AttemptResult {
  return {
    ...result,
    message: redact(result.message),
    assertions: result.assertions.map((a) => ({
      expectation: redact(a.expectation),
      passed: a.passed,
      ...(a.observed !== undefined ? { observed: redact(a.observed) } : {}),
      ...(a.message !== undefined ? { message: redact(a.message) } : {}),
    })),
    ...(result.details ? { details: redactDeep(result.details, redact) as Record<string, unknown> } : {}),
  };
}

function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key), redactDeep(item, redact)]));
  }
  return value;
}

/** Serialises a configured body; objects and arrays become JSON with a matching content type. */
export function encodeBody(body: unknown, headers: Record<string, string>): string | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string') return body;
  headers['content-type'] ??= 'application/json';
  return JSON.stringify(body);
}

/** `200 OK in 12 ms`, or the first failure plus how many more. */
export function summarise(assertions: readonly Assertion[], passMessage: string): { outcome: 'pass' | 'fail'; message: string } {
  const failed = assertions.filter((a) => !a.passed);
  if (failed.length === 0) return { outcome: 'pass', message: passMessage };
  const first = failed[0]!;
  const more = failed.length > 1 ? ` (+${failed.length - 1} more)` : '';
  return { outcome: 'fail', message: `${first.message ?? `${first.expectation} failed`}${more}` };
}

export const runHttpCheck: CheckExecutor<HttpCheckSpec> = async (spec, ctx) => {
  const { headers, secretValues } = resolveHeaders(spec.headers);
  const redact = redactorFor(secretValues);
  const method = spec.method ?? 'GET';
  const shownUrl = redactUrlCredentials(spec.url);
  const body = encodeBody(spec.body, headers);
  const started = performance.now();

  let res: HttpResponse;
  try {
    res = await httpRequest({
      url: spec.url,
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      timeouts: ctx.timeouts,
      signal: ctx.signal,
      ...(ctx.ca ? { ca: ctx.ca } : {}),
    });
  } catch (error) {
    const transport = error instanceof TransportError ? error : new TransportError('protocol', `${method} ${shownUrl}: ${(error as Error)?.message ?? String(error)}`);
    ctx.log.debug(redact(`${method} ${transport.message}`));
    return redactAttempt(
      {
        outcome: 'error',
        errorKind: transport.kind,
        message: transport.message,
        assertions: [],
        measurements: {},
        details: { method, url: shownUrl, elapsed_ms: round(performance.now() - started) },
      },
      redact,
    );
  }

  const assertions = [
    statusAssertion(res, spec.expect?.status ?? DEFAULT_STATUS),
    ...headerAssertions(res, spec.expect?.headers ?? {}),
    ...bodyAssertions(res, spec.expect?.body ?? []),
    ...textAssertions(res, spec.expect?.text),
    ...(spec.expect?.maxLatency !== undefined ? [latencyAssertion(res, spec.expect.maxLatency)] : []),
  ];
  const { outcome, message } = summarise(assertions, `${describeStatus(res.status)} in ${Math.round(res.totalMs)} ms`);
  ctx.log.debug(redact(`${method} ${shownUrl} -> ${describeStatus(res.status)} in ${Math.round(res.totalMs)} ms, ${res.bodyBytes} bytes`));
  return redactAttempt(
    {
      outcome,
      message,
      assertions,
      status: res.status,
      ...retryAfter(res),
      measurements: {
        latency_ms: round(res.totalMs),
        first_byte_ms: round(res.firstByteMs),
        status: res.status,
        body_bytes: res.bodyBytes,
      },
      details: {
        method,
        url: shownUrl,
        ...(res.headers['content-type'] ? { contentType: res.headers['content-type'] } : {}),
        ...(res.truncated ? { bodyTruncated: true } : {}),
      },
    },
    redact,
  );
};

function statusAssertion(res: HttpResponse, expected: NonNullable<NonNullable<HttpCheckSpec['expect']>['status']>): Assertion {
  const wanted = describeStatusExpectation(expected);
  const observed = describeStatus(res.status);
  if (statusMatches(res.status, expected)) return { expectation: `status is ${wanted}`, passed: true, observed };
  const snippet = res.body.trim() ? `; body: ${JSON.stringify(clip(res.body.trim(), 100))}` : '';
  return { expectation: `status is ${wanted}`, passed: false, observed, message: `status ${observed}, expected ${wanted}${snippet}` };
}

function headerAssertions(res: HttpResponse, expected: Record<string, string>): Assertion[] {
  return Object.entries(expected).map(([name, want]): Assertion => {
    const key = name.toLowerCase();
    const actual = res.headers[key];
    const isPattern = /^\/.*\/[a-z]*$/s.test(want);
    const expectation = isPattern ? `header ${key} matches ${want}` : `header ${key} is ${JSON.stringify(want)}`;
    if (actual === undefined) {
      const present = Object.keys(res.headers).sort().join(', ') || 'none';
      return { expectation, passed: false, message: `header ${key} is missing from the response (headers present: ${present})` };
    }
    const observed = clip(actual, 200);
    if (isPattern) {
      const pattern = compilePattern(want);
      if (typeof pattern === 'string') return { expectation, passed: false, observed, message: `header ${key}: ${pattern}` };
      return pattern.test(actual)
        ? { expectation, passed: true, observed }
        : { expectation, passed: false, observed, message: `header ${key} is ${JSON.stringify(clip(actual, 120))}, expected it to match ${want}` };
    }
    return actual === want
      ? { expectation, passed: true, observed }
      : { expectation, passed: false, observed, message: `header ${key} is ${JSON.stringify(clip(actual, 120))}, expected ${JSON.stringify(want)}` };
  });
}

/** The media type without parameters, lowercased: `application/json`. */
function mediaType(res: HttpResponse): string | undefined {
  const value = res.headers['content-type'];
  return value ? value.split(';')[0]!.trim().toLowerCase() : undefined;
}

function isJsonMediaType(type: string | undefined): boolean {
  return !!type && (type === 'application/json' || type.endsWith('+json') || type === 'text/json');
}

/** Why a body cannot be read as JSON, or the parsed value. */
function readJson(res: HttpResponse): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (res.bodyBytes === 0) return { ok: false, reason: `empty body (HTTP ${res.status}, expected JSON)` };
  if (!res.body.trim()) return { ok: false, reason: `empty body (only whitespace, HTTP ${res.status}, expected JSON)` };
  const type = mediaType(res);
  if (res.truncated) {
    return { ok: false, reason: `body of ${res.bodyBytes} bytes is larger than rollgate reads (${res.body.length} kept), so JSON conditions cannot be checked` };
  }
  try {
    return { ok: true, value: JSON.parse(res.body.replace(/^\uFEFF/, '')) };
  } catch (error) {
    if (!isJsonMediaType(type)) {
      return { ok: false, reason: `body is ${type ?? 'without a content-type'}, not JSON: ${JSON.stringify(clip(res.body.trim(), 80))}` };
    }
    return { ok: false, reason: `body is ${type} but not valid JSON: ${describeJsonError(error as Error, res.body)}` };
  }
}

/** Where JSON.parse gave up: line, column and the text around it. */
function describeJsonError(error: Error, body: string): string {
  const position = /position (\d+)/.exec(error.message);
  const reason = error.message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
  if (!position) return `${reason} (${body.length} characters read)`;
  const at = Number(position[1]);
  const before = body.slice(0, at);
  const line = before.split('\n').length;
  const column = at - before.lastIndexOf('\n');
  const flat = (text: string) => text.replace(/\r?\n/g, '\\n');
  const near = `${at > 20 ? '…' : ''}${flat(body.slice(Math.max(0, at - 20), at))}»${flat(body.slice(at, at + 20))}${at + 20 < body.length ? '…' : ''}`;
  return `${reason} at line ${line} column ${column}, near \`${near}\``;
}

function bodyAssertions(res: HttpResponse, conditions: readonly string[]): Assertion[] {
  if (conditions.length === 0) return [];
  const json = readJson(res);
  if (!json.ok) {
    const observed = res.body ? JSON.stringify(clip(res.body, 200)) : '(empty)';
    return conditions.map((text) => ({ expectation: text.trim(), passed: false, observed, message: `${text.trim()}: ${json.reason}` }));
  }
  return checkConditions(conditions, json.value);
}

function textAssertions(res: HttpResponse, text: NonNullable<HttpCheckSpec['expect']>['text']): Assertion[] {
  const out: Assertion[] = [];
  if (!text) return out;
  const observed = res.body ? JSON.stringify(clip(res.body, 200)) : '(empty)';
  const empty = res.bodyBytes === 0 ? `empty body (HTTP ${res.status})` : undefined;
  if (text.contains !== undefined) {
    const expectation = `body contains ${JSON.stringify(text.contains)}`;
    if (empty) out.push({ expectation, passed: false, observed, message: `${expectation}: ${empty}` });
    else if (res.body.includes(text.contains)) out.push({ expectation, passed: true, observed });
    else out.push({ expectation, passed: false, observed, message: `body does not contain ${JSON.stringify(text.contains)}; body starts ${JSON.stringify(clip(res.body, 80))}` });
  }
  if (text.matches !== undefined) {
    const pattern = compilePattern(text.matches);
    const expectation = `body matches ${typeof pattern === 'string' ? text.matches : `/${pattern.source}/${pattern.flags}`}`;
    if (typeof pattern === 'string') out.push({ expectation, passed: false, message: `text.matches: ${pattern}` });
    else if (empty) out.push({ expectation, passed: false, observed, message: `${expectation}: ${empty}` });
    else if (pattern.test(res.body)) out.push({ expectation, passed: true, observed });
    else out.push({ expectation, passed: false, observed, message: `body does not match /${pattern.source}/${pattern.flags}; body starts ${JSON.stringify(clip(res.body, 80))}` });
  }
  return out;
}

function latencyAssertion(res: HttpResponse, maxMs: number): Assertion {
  const expectation = `latency <= ${formatDuration(maxMs)}`;
  const observed = `${Math.round(res.totalMs)} ms`;
  return res.totalMs <= maxMs
    ? { expectation, passed: true, observed }
    : { expectation, passed: false, observed, message: `latency ${observed}, expected at most ${formatDuration(maxMs)}` };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** A 429 or 503 may say when to come back (seconds, or an HTTP date); the runner waits at least that long before retrying. */
export function retryAfter(res: Pick<HttpResponse, 'status' | 'headers'>, now = Date.now()): { retryAfterMs?: number } {
  const value = res.headers['retry-after']?.trim();
  if (!value || (res.status !== 429 && res.status !== 503)) return {};
  if (/^\d+$/.test(value)) return { retryAfterMs: Number(value) * 1000 };
  const date = Date.parse(value);
  return Number.isNaN(date) ? {} : { retryAfterMs: Math.max(0, date - now) };
}
