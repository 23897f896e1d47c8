/**
 * One HTTP request with separate connect, first-byte (response headers) and total timeouts, built on undici.
 * Transport problems become a TransportError with a kind the retry policy can name and a message a user can act on.
 */
import { Agent, request as undiciRequest, errors } from 'undici';
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
  const key = `${req.timeouts.connect}|${req.timeouts.firstByte}|${req.insecure ? 1 : 0}|${req.ca ?? ''}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: {
        timeout: req.timeouts.connect,
        ...(req.ca ? { ca: req.ca } : {}),
        ...(req.insecure ? { rejectUnauthorized: false } : {}),
      },
      headersTimeout: req.timeouts.firstByte,
      bodyTimeout: req.timeouts.total,
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

export async function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  const started = performance.now();
  const total = AbortSignal.timeout(req.timeouts.total);
  const signal = req.signal ? AbortSignal.any([req.signal, total]) : total;
  const maxBody = req.maxBodyBytes ?? 4 * 1024 * 1024;
  try {
    const res = await undiciRequest(req.url, {
      method: (req.method ?? 'GET') as 'GET',
      headers: req.headers,
      body: req.body,
      signal,
      dispatcher: agentFor(req),
    });
    const firstByteMs = performance.now() - started;
    const chunks: Buffer[] = [];
    let kept = 0;
    let bodyBytes = 0;
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
    return {
      status: res.statusCode,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
      bodyBytes,
      truncated: bodyBytes > kept,
      firstByteMs,
      totalMs: performance.now() - started,
    };
  } catch (error) {
    throw toTransportError(error, req, performance.now() - started, total.aborted, req.signal?.aborted ?? false);
  }
}

function toTransportError(error: unknown, req: HttpRequest, elapsedMs: number, totalExpired: boolean, outerAborted: boolean): TransportError {
  const where = safeOrigin(req.url);
  if (outerAborted && !totalExpired) return new TransportError('deadline', `${where}: stopped because the run deadline passed`);
  if (totalExpired) {
    return new TransportError('timeout', `${where}: no complete response within the total timeout of ${formatDuration(req.timeouts.total)}`);
  }
  if (error instanceof errors.ConnectTimeoutError) {
    return new TransportError('timeout', `${where}: could not connect within ${formatDuration(req.timeouts.connect)}`);
  }
  if (error instanceof errors.HeadersTimeoutError) {
    return new TransportError('timeout', `${where}: no response headers arrived in ${formatDuration(req.timeouts.firstByte)}`);
  }
  if (error instanceof errors.BodyTimeoutError) {
    return new TransportError('timeout', `${where}: the response body stalled for ${formatDuration(req.timeouts.total)}`);
  }
  const code = (error as { code?: string; cause?: { code?: string } })?.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  const detail = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'ECONNREFUSED':
      return new TransportError('connect', `${where}: connection refused (is the service running and listening on that port?)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new TransportError('dns', `${where}: host name could not be resolved (${code})`);
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new TransportError('reset', `${where}: the connection was closed before a complete response (${code}) after ${formatDuration(elapsedMs)}`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new TransportError('connect', `${where}: host unreachable (${code})`);
    default:
      if (code && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
        return new TransportError('tls', `${where}: TLS failed: ${detail} (${code}); if the server uses a private CA, configure its certificate`);
      }
      return new TransportError('protocol', `${where}: request failed: ${detail}${code ? ` (${code})` : ''}`);
  }
}

/** scheme://host:port of a URL, without credentials, path or query (those may hold secrets). */
export function safeOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
