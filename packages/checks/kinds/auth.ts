/**
 * The `auth` check: a protected endpoint must refuse a request without credentials and one with a wrong token, and
 * accept the valid token. With `mcp: true` it also follows the MCP authorization discovery a client would:
 * the 401 must carry `WWW-Authenticate: ... resource_metadata="<url>"`, and that URL must serve the OAuth 2.0
 * Protected Resource Metadata document (RFC 9728) naming this server as its `resource` and listing
 * `authorization_servers`.
 *
 * For MCP endpoints the requests are what a client sends first: a JSON-RPC `initialize` POST with
 * `Accept: application/json, text/event-stream`. Every Streamable HTTP server answers it without a session, so the
 * valid-token request reaches the MCP handler instead of stopping at a missing-session error. If the server opens a
 * session, it is closed again with DELETE.
 *
 * All requests share the attempt's total timeout (the runner gives the whole attempt that budget).
 * The valid token never appears in a message, an observed value or a detail.
 */
import { randomBytes } from 'node:crypto';
import type { AuthCheckSpec } from '../../config/schema.js';
import { redactUrlCredentials } from '../../config/secrets.js';
import { formatDuration } from '../../config/duration.js';
import { ROLLGATE_VERSION } from '../../version.js';
import { httpRequest, safeOrigin, TransportError, type HttpResponse } from '../http-client.js';
import type { AttemptContext, Assertion, AttemptResult, CheckExecutor } from '../model.js';
import { clip } from '../conditions.js';
import { describeStatus, describeStatusExpectation, statusMatches } from '../status.js';
import { encodeBody, redactAttempt, redactorFor, summarise } from './http.js';

const DEFAULT_REJECT = [401, 403];
const DEFAULT_ACCEPT = '2xx';
/** The revision rollgate announces in its probe; servers answer with the one they speak. */
const MCP_PROBE_PROTOCOL_VERSION = '2025-06-18';

type Label = 'without credentials' | 'with a wrong token' | 'with the valid token';

interface Exchange {
  label: Label;
  res: HttpResponse;
}

export const runAuthCheck: CheckExecutor<AuthCheckSpec> = async (spec, ctx) => {
  const headerName = (spec.header ?? 'Authorization').toLowerCase();
  const scheme = spec.scheme ?? 'Bearer';
  const credential = (token: string) => (scheme ? `${scheme} ${token}` : token);
  const redact = redactorFor([spec.token, credential(spec.token)]);
  const mcp = spec.mcp ?? false;
  const method = spec.method ?? (mcp ? 'POST' : 'GET');
  const reject = spec.rejectStatus ?? DEFAULT_REJECT;
  const accept = spec.acceptStatus ?? DEFAULT_ACCEPT;
  const shownUrl = redactUrlCredentials(spec.url);
  const budget = new Budget(ctx);

  const baseHeaders: Record<string, string> = { 'user-agent': `rollgate/${ROLLGATE_VERSION}` };
  if (mcp) baseHeaders.accept = 'application/json, text/event-stream';
  const body = spec.body !== undefined ? encodeBody(spec.body, baseHeaders) : mcp ? mcpInitializeBody(baseHeaders) : undefined;

  let wrongToken = `rollgate-wrong-${randomBytes(16).toString('hex')}`;
  while (wrongToken === spec.token) wrongToken = `rollgate-wrong-${randomBytes(16).toString('hex')}`;

  const assertions: Assertion[] = [];
  const exchanges: Exchange[] = [];
  const details: Record<string, unknown> = { method, url: shownUrl, header: headerName, scheme };
  const finish = (result: Omit<AttemptResult, 'details'>): AttemptResult =>
    redactAttempt(
      {
        ...result,
        details: { ...details, requests: exchanges.map((e) => ({ request: e.label, status: e.res.status, latency_ms: round(e.res.totalMs) })) },
      },
      redact,
    );

  const attempts: Array<{ label: Label; headers: Record<string, string> }> = [
    { label: 'without credentials', headers: { ...baseHeaders } },
    { label: 'with a wrong token', headers: { ...baseHeaders, [headerName]: credential(wrongToken) } },
    { label: 'with the valid token', headers: { ...baseHeaders, [headerName]: credential(spec.token) } },
  ];
  for (const attempt of attempts) {
    try {
      const res = await budget.request({ url: spec.url, method, headers: attempt.headers, ...(body !== undefined ? { body } : {}) });
      exchanges.push({ label: attempt.label, res });
    } catch (error) {
      const transport = asTransportError(error, spec.url);
      return finish({
        outcome: 'error',
        errorKind: transport.kind,
        message: `request ${attempt.label}: ${transport.message}`,
        assertions,
        measurements: {},
      });
    }
  }
  const [anonymous, wrong, valid] = exchanges as [Exchange, Exchange, Exchange];

  const rejectText = describeList(reject);
  assertions.push(refusalAssertion(anonymous, reject, rejectText, 'the endpoint answers without any credentials'));
  assertions.push(refusalAssertion(wrong, reject, rejectText, 'the server does not verify the token'));
  assertions.push(acceptAssertion(valid, accept, headerName, scheme));

  if (mcp) {
    const sessionId = valid.res.headers['mcp-session-id'];
    if (sessionId && statusMatches(valid.res.status, accept)) {
      await budget
        .request({ url: spec.url, method: 'DELETE', headers: { ...attempts[2]!.headers, 'mcp-session-id': sessionId } }, 2_000)
        .catch(() => undefined);
    }
    assertions.push(...(await mcpDiscoveryAssertions(anonymous.res, spec.url, budget, details)));
  }

  const firstFailed = assertions.findIndex((a) => !a.passed);
  const status = firstFailed >= 0 && firstFailed < exchanges.length ? exchanges[firstFailed]!.res.status : valid.res.status;
  const passMessage =
    `refused without credentials (${anonymous.res.status}) and with a wrong token (${wrong.res.status}); ` +
    `accepted the valid token (${describeStatus(valid.res.status)})` +
    (mcp && typeof details.resource === 'string' ? `; protected-resource metadata names ${details.resource}` : '');
  const { outcome, message } = summarise(assertions, passMessage);
  return finish({
    outcome,
    message,
    assertions,
    status,
    measurements: { latency_ms: round(valid.res.totalMs), status: valid.res.status },
  });
};

function refusalAssertion(exchange: Exchange, reject: readonly number[], rejectText: string, acceptedHint: string): Assertion {
  const expectation = `request ${exchange.label} is refused (${rejectText})`;
  const observed = describeStatus(exchange.res.status);
  if (reject.includes(exchange.res.status)) return { expectation, passed: true, observed };
  const hint = exchange.res.status < 300 ? `; ${acceptedHint}` : '';
  return { expectation, passed: false, observed, message: `the request ${exchange.label} got ${observed}, expected a refusal (${rejectText})${hint}` };
}

function acceptAssertion(exchange: Exchange, accept: NonNullable<AuthCheckSpec['acceptStatus']>, headerName: string, scheme: string): Assertion {
  const wanted = describeStatusExpectation(accept);
  const expectation = `request ${exchange.label} is accepted (${wanted})`;
  const observed = describeStatus(exchange.res.status);
  if (statusMatches(exchange.res.status, accept)) return { expectation, passed: true, observed };
  const refused = exchange.res.status === 401 || exchange.res.status === 403;
  const hint = refused ? `; check the token and that the server expects it as \`${headerName}: ${scheme ? `${scheme} ` : ''}<token>\`` : '';
  return { expectation, passed: false, observed, message: `the request ${exchange.label} got ${observed}, expected ${wanted}${hint}` };
}

/**
 * RFC 9728 discovery as an MCP client performs it. Each expectation is one assertion; expectations that depend on
 * an earlier one are left out when it fails (the check has failed already, and "not checked" would only be noise).
 */
async function mcpDiscoveryAssertions(anonymous: HttpResponse, checkUrl: string, budget: Budget, details: Record<string, unknown>): Promise<Assertion[]> {
  const out: Assertion[] = [];
  const challengeExpectation = '401 without credentials carries WWW-Authenticate with resource_metadata';
  const challenge = anonymous.headers['www-authenticate'];
  if (anonymous.status !== 401) {
    out.push({
      expectation: challengeExpectation,
      passed: false,
      observed: describeStatus(anonymous.status),
      message: `the request without credentials got ${describeStatus(anonymous.status)}; an MCP server must answer 401 with WWW-Authenticate so clients can discover how to authorize`,
    });
    return out;
  }
  if (!challenge) {
    out.push({ expectation: challengeExpectation, passed: false, observed: '(no WWW-Authenticate header)', message: 'the 401 without credentials has no WWW-Authenticate header; MCP clients need its resource_metadata parameter to find the authorization server' });
    return out;
  }
  const metadataRef = resourceMetadataParam(challenge);
  if (metadataRef === undefined) {
    out.push({
      expectation: challengeExpectation,
      passed: false,
      observed: clip(challenge, 200),
      message: `WWW-Authenticate on the 401 has no resource_metadata parameter (got ${JSON.stringify(clip(challenge, 120))}); add resource_metadata="<protected-resource metadata URL>" (RFC 9728 §5.1)`,
    });
    return out;
  }
  let metadataUrl: URL;
  try {
    metadataUrl = new URL(metadataRef, checkUrl);
  } catch {
    out.push({ expectation: challengeExpectation, passed: false, observed: clip(challenge, 200), message: `resource_metadata ${JSON.stringify(clip(metadataRef, 120))} is not a URL` });
    return out;
  }
  details.resourceMetadataUrl = metadataUrl.href;
  out.push({ expectation: challengeExpectation, passed: true, observed: metadataUrl.href });

  const servedExpectation = 'protected-resource metadata is served as JSON';
  let res: HttpResponse;
  try {
    res = await budget.request({ url: metadataUrl.href, method: 'GET', headers: { accept: 'application/json', 'user-agent': `rollgate/${ROLLGATE_VERSION}` } });
  } catch (error) {
    out.push({ expectation: servedExpectation, passed: false, message: `fetching the protected-resource metadata failed: ${asTransportError(error, metadataUrl.href).message}` });
    return out;
  }
  if (res.status !== 200) {
    const snippet = res.body.trim() ? `; body: ${JSON.stringify(clip(res.body.trim(), 100))}` : '';
    out.push({ expectation: servedExpectation, passed: false, observed: describeStatus(res.status), message: `the protected-resource metadata at ${safeOrigin(metadataUrl.href)} answered ${describeStatus(res.status)}, expected 200${snippet}` });
    return out;
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(res.body);
  } catch {
    const type = res.headers['content-type'] ?? 'no content-type';
    const what = res.body.trim() ? `not JSON (${type}): ${JSON.stringify(clip(res.body.trim(), 80))}` : 'an empty body';
    out.push({ expectation: servedExpectation, passed: false, observed: clip(res.body, 200), message: `the protected-resource metadata at ${safeOrigin(metadataUrl.href)} is ${what}` });
    return out;
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    out.push({ expectation: servedExpectation, passed: false, observed: clip(res.body, 200), message: `the protected-resource metadata at ${safeOrigin(metadataUrl.href)} is not a JSON object` });
    return out;
  }
  out.push({ expectation: servedExpectation, passed: true, observed: clip(res.body, 200) });
  const doc = metadata as Record<string, unknown>;

  const expectedResource = canonicalResource(checkUrl);
  const resourceExpectation = `metadata resource names ${expectedResource}`;
  const resource = doc.resource;
  if (typeof resource !== 'string' || !resource) {
    out.push({ expectation: resourceExpectation, passed: false, observed: JSON.stringify(resource ?? null), message: 'the protected-resource metadata has no "resource" string (RFC 9728 §2 requires it)' });
  } else {
    details.resource = resource;
    const problem = resourceMismatch(resource, checkUrl);
    out.push(
      problem
        ? { expectation: resourceExpectation, passed: false, observed: resource, message: `the protected-resource metadata names resource ${JSON.stringify(resource)}, ${problem}; MCP clients refuse metadata whose resource does not match the server URL` }
        : { expectation: resourceExpectation, passed: true, observed: resource },
    );
  }

  const serversExpectation = 'metadata lists authorization_servers';
  const servers = doc.authorization_servers;
  const valid = Array.isArray(servers) ? servers.filter((s): s is string => typeof s === 'string' && isAbsoluteUrl(s)) : [];
  if (!Array.isArray(servers) || servers.length === 0) {
    out.push({ expectation: serversExpectation, passed: false, observed: JSON.stringify(servers ?? null), message: 'the protected-resource metadata lists no authorization_servers; MCP clients need at least one to obtain a token' });
  } else if (valid.length !== servers.length) {
    out.push({ expectation: serversExpectation, passed: false, observed: clip(JSON.stringify(servers), 200), message: `authorization_servers must be absolute URLs (got ${clip(JSON.stringify(servers), 120)})` });
  } else {
    details.authorizationServers = valid;
    out.push({ expectation: serversExpectation, passed: true, observed: clip(valid.join(', '), 200) });
  }
  return out;
}

/** The `resource_metadata` parameter of a WWW-Authenticate value (quoted or token form), if present. */
export function resourceMetadataParam(challenge: string): string | undefined {
  const match = /(?:^|[\s,])resource_metadata\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))/i.exec(challenge);
  if (!match) return undefined;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2];
}

/** The check URL as an MCP resource identifier: scheme, host, port and path; no query, fragment or trailing slash. */
function canonicalResource(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, '');
  return `${u.origin}${path}`;
}

/**
 * Why `resource` does not name the server at `checkUrl`, or undefined when it does. Matches the rule MCP clients
 * apply (the official TypeScript SDK's checkResourceAllowed): same origin, and the server's path equal to or
 * below the resource's path, compared segment by segment and ignoring a trailing slash.
 */
function resourceMismatch(resource: string, checkUrl: string): string | undefined {
  let r: URL;
  try {
    r = new URL(resource);
  } catch {
    return 'which is not an absolute URL';
  }
  if (r.hash) return 'which has a fragment (not allowed in a resource identifier)';
  const server = new URL(checkUrl);
  if (r.origin !== server.origin) return `but the checked server is at ${server.origin} (origins differ)`;
  const withSlash = (path: string) => (path.endsWith('/') ? path : `${path}/`);
  if (!withSlash(server.pathname).startsWith(withSlash(r.pathname))) return `but the checked endpoint's path is ${server.pathname}`;
  return undefined;
}

function isAbsoluteUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

function mcpInitializeBody(headers: Record<string, string>): string {
  headers['content-type'] ??= 'application/json';
  return JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: MCP_PROBE_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'rollgate', version: ROLLGATE_VERSION } },
  });
}

/** `401 or 403`. */
function describeList(statuses: readonly number[]): string {
  if (statuses.length <= 1) return String(statuses[0] ?? 'none');
  return `${statuses.slice(0, -1).join(', ')} or ${statuses[statuses.length - 1]}`;
}

function asTransportError(error: unknown, url: string): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError('protocol', `${safeOrigin(url)}: ${error instanceof Error ? error.message : String(error)}`);
}

/** One total timeout shared by every request of the attempt. */
class Budget {
  private readonly endsAt: number;

  constructor(private readonly ctx: AttemptContext) {
    this.endsAt = performance.now() + ctx.timeouts.total;
  }

  async request(req: { url: string; method: string; headers: Record<string, string>; body?: string }, cap = Infinity): Promise<HttpResponse> {
    const remaining = Math.min(this.endsAt - performance.now(), cap);
    if (remaining <= 0) {
      throw new TransportError('timeout', `${safeOrigin(req.url)}: the total timeout of ${formatDuration(this.ctx.timeouts.total)} ran out before this request`);
    }
    return httpRequest({
      ...req,
      // connect stays as configured: it keys the pooled agent, and the total timer bounds it anyway.
      timeouts: { connect: this.ctx.timeouts.connect, firstByte: Math.min(this.ctx.timeouts.firstByte, remaining), total: remaining },
      signal: this.ctx.signal,
      ...(this.ctx.ca ? { ca: this.ctx.ca } : {}),
    });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
