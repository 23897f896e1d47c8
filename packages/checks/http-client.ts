/**
 * One HTTP request with separate connect, first-byte (response headers) and total timeouts, built on undici.
 * Transport problems become a TransportError with a kind the retry policy can name and a message a user can act on.
 *
 * The first-byte and total timeouts are enforced here with our own timers rather than undici's headersTimeout and
 * bodyTimeout: undici's coarse timers fire up to a second late, and only we know which phase the request was in,
 * which is what the message has to say ("no response headers arrived in 5 s" vs "the body was not complete").
 */
import { Agent, request as undiciRequest, errors } from 'undici';
import { rootCertificates } from 'node:tls';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import type { ErrorKind, ResolvedTimeouts } from './model.js';
import { formatDuration } from '../config/duration.js';

export interface HttpRequest {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeouts: ResolvedTimeouts;
  signal?: AbortSignal;
  /** Extra CA certificates (PEM) to trust. */
  ca?: string;
  /** Skip certificate verification (only for checks that inspect TLS themselves). */
  insecure?: boolean;
  /** Upper bound on the body kept in memory (default 4 MiB); the rest is drained and counted. */
  maxBodyBytes?: number;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyBytes: number;
  truncated: boolean;
  /** Request start to response headers. */
  firstByteMs: number;
  /** Request start to end of body. */
  totalMs: number;
}

export class TransportError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

const agents = new Map<string, Agent>();

function agentFor(req: HttpRequest): Agent {
  const key = `${req.timeouts.connect}|${req.insecure ? 1 : 0}|${req.ca ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: {
        timeout: req.timeouts.connect,
        // An extra CA is trusted alongside the public roots, not instead of them.
        ...(req.ca ? { ca: [...rootCertificates, req.ca] } : {}),
        ...(req.insecure ? { rejectUnauthorized: false } : {}),
      },
      // Enforced by httpRequest's own timers (see the file comment); 0 disables undici's.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes pooled connections (tests and the CLI call this so the process can exit promptly). */
export async function closeHttpAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((agent) => agent.close().catch(() => undefined)));
}

type Phase = 'waiting-for-headers' | 'reading-body';
type Expiry = 'first-byte' | 'total';

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const started = performance.now();
  const maxBody = req.maxBodyBytes ?? 4 * 1024 * 1024;
  const controller = new AbortController();
  let phase: Phase = 'waiting-for-headers';
  let expired: Expiry | undefined;
  let bodyBytes = 0;
  let firstByteMs = 0;

  const expire = (which: Expiry) => () => {
    expired ??= which;
    controller.abort(new Error(`${which} timeout`));
  };
  // The first-byte window cannot outlast the total one; whichever is shorter speaks for "no headers".
  const firstByteTimer = setTimeout(expire('first-byte'), Math.min(req.timeouts.firstByte, req.timeouts.total));
  const totalTimer = setTimeout(expire('total'), req.timeouts.total);
  const onOuterAbort = () => controller.abort(req.signal?.reason);
  if (req.signal?.aborted) onOuterAbort();
  else req.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const { url, headers: requestHeaders } = withUrlCredentials(req.url, req.headers);
  try {
    const res = await undiciRequest(url, {
      method: (req.method ?? 'GET') as 'GET',
      headers: requestHeaders,
      body: req.body,
      signal: controller.signal,
      dispatcher: agentFor(req),
    });
    clearTimeout(firstByteTimer);
    phase = 'reading-body';
    firstByteMs = performance.now() - started;
    const chunks: Buffer[] = [];
    let kept = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      bodyBytes += buf.length;
      if (kept < maxBody) {
        const slice = buf.subarray(0, maxBody - kept);
        chunks.push(slice);
        kept += slice.length;
      }
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    }
    const raw = Buffer.concat(chunks);
    // We never ask for compression, but servers send it anyway; a whole compressed body is unpacked for the checks.
    const decoded = bodyBytes === kept ? decompress(raw, headers['content-encoding']) : raw;
    return {
      status: res.statusCode,
      headers,
      body: decoded.toString('utf8'),
      bodyBytes,
      truncated: bodyBytes > kept,
      firstByteMs,
      totalMs: performance.now() - started,
    };
  } catch (error) {
    throw toTransportError(error, req, {
      elapsedMs: performance.now() - started,
      phase,
      expired,
      outerAborted: req.signal?.aborted ?? false,
      bodyBytes,
      firstByteMs,
    });
  } finally {
    clearTimeout(firstByteTimer);
    clearTimeout(totalTimer);
    req.signal?.removeEventListener('abort', onOuterAbort);
  }
}

interface FailureState {
  elapsedMs: number;
  phase: Phase;
  expired: Expiry | undefined;
  outerAborted: boolean;
  bodyBytes: number;
  firstByteMs: number;
}

function toTransportError(error: unknown, req: HttpRequest, state: FailureState): TransportError {
  const where = safeOrigin(req.url);
  if (state.expired === 'first-byte' || (state.expired === 'total' && state.phase === 'waiting-for-headers')) {
    const limit = Math.min(req.timeouts.firstByte, req.timeouts.total);
    const which = req.timeouts.firstByte <= req.timeouts.total ? 'first-byte timeout' : 'total timeout';
    return new TransportError('timeout', `${where}: no response headers arrived in ${formatDuration(limit)} (${which}); the server accepted the request but did not answer`);
  }
  if (state.expired === 'total') {
    return new TransportError(
      'timeout',
      `${where}: the response body was not complete within the total timeout of ${formatDuration(req.timeouts.total)} ` +
        `(headers after ${formatDuration(state.firstByteMs)}, ${state.bodyBytes} bytes of body received)`,
    );
  }
  if (state.outerAborted) {
    const reason = req.signal?.reason;
    const why = reason instanceof Error && reason.message && reason.message !== 'deadline' ? reason.message : 'the run deadline passed';
    return new TransportError('deadline', `${where}: stopped after ${formatDuration(state.elapsedMs)} because ${why}`);
  }
  if (error instanceof errors.ConnectTimeoutError) {
    return new TransportError('timeout', `${where}: could not connect within ${formatDuration(req.timeouts.connect)} (connect timeout); is the host reachable and the port open?`);
  }
  const code = errorCode(error);
  const detail = innermostMessage(error);
  switch (code) {
    case 'ECONNREFUSED':
      return new TransportError('connect', `${where}: connection refused (is the service running and listening on that port?)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TransportError('dns', `${where}: host name could not be resolved (${code})`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE': {
      const when = state.phase === 'waiting-for-headers' ? 'before sending response headers' : 'while sending the body';
      return new TransportError('reset', `${where}: the server closed the connection ${when} (${code}) after ${formatDuration(state.elapsedMs)}`);
    }
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TransportError('connect', `${where}: host unreachable (${code})`);
    default:
      if (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
        // Node appends advice about --use-system-ca, which rollgate users cannot act on; ours follows instead.
        const reason = detail.replace(/^Error: /, '').replace(/; if the root CA is installed locally.*$/s, '');
        return new TransportError('tls', `${where}: TLS failed: ${reason} (${code}); if the server uses a private or self-signed CA, add its certificate (PEM) with settings.ca in rollgate.yml or NODE_EXTRA_CA_CERTS`);
      }
      return new TransportError('protocol', `${where}: request failed: ${detail}${code ? ` (${code})` : ''}`);
  }
}

/** The first error code found on the error or along its cause chain. */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function innermostMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let e: unknown = (error as { cause?: unknown })?.cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error && e.message) message = e.message;
  }
  return message;
}

/**
 * Credentials in a URL (`https://user:pass@host/`) are not sent by fetch-style clients; a user who wrote them means
 * basic auth. They are moved into an Authorization header (unless one is set) and never kept in the URL.
 */
export function withUrlCredentials(rawUrl: string, headers: Record<string, string> | undefined): { url: string; headers: Record<string, string> | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(rawUrl);
  } catch {
    return { url: rawUrl, headers };
  }
  if (!parsed.username && !parsed.password) return { url: rawUrl, headers };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const hasAuthorization = Object.keys(headers ?? {}).some((name) => name.toLowerCase() === 'authorization');
  return {
    url: parsed.toString(),
    headers: hasAuthorization ? headers : { ...headers, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
  };
}

function decompress(body: Buffer, encoding: string | undefined): Buffer {
  if (!encoding || body.length === 0) return body;
  try {
    switch (encoding.trim().toLowerCase()) {
      case 'gzip':
      case 'x-gzip':
        return gunzipSync(body);
      case 'deflate':
        return inflateSync(body);
      case 'br':
        return brotliDecompressSync(body);
      default:
        return body;
    }
  } catch {
    // A body that claims an encoding it does not have is shown as it came.
    return body;
  }
}

/** scheme://host:port/path of a URL, without credentials, query or fragment (those may hold secrets). */
export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
