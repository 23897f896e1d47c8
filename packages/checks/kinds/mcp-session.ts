/**
 * Opens one MCP session for the `mcp` check with the official client (@modelcontextprotocol/client v2), over
 * Streamable HTTP, legacy HTTP+SSE or stdio, and turns every way that can go wrong into a `McpProblem` a user can
 * act on.
 *
 * Version negotiation runs in the client's 'auto' mode: it probes with `server/discover` (2026-07-28 revision) and
 * falls back to the 2025-era `initialize` handshake for older servers, so both generations are checked as they are.
 *
 * Transport 'auto' follows the spec's backwards-compatibility rule (2025-03-26 and later, "Backwards
 * Compatibility"): POST to the URL first; if that answers 400, 404 or 405, the server may be a 2024-11-05 HTTP+SSE
 * server, so GET the same URL and expect an `endpoint` event. Auth refusals (401/403) never trigger the fallback.
 *
 * Everything is bounded by the attempt: the connect and first-byte timeouts go to the HTTP agent, the total timeout
 * and the run deadline abort every request, and closing always reaps stdio children, even when the client library
 * gave up on them (it can drop its handle on a child it is still closing).
 */
import { rootCertificates } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';
import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  SdkHttpError,
  SSEClientTransport,
  SseError,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type FetchLike,
  type Transport,
} from '@modelcontextprotocol/client';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/client/stdio';
import type { McpCheckSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import { secrets } from '../../config/secrets.js';
import type { AttemptContext, ErrorKind } from '../model.js';
import { safeOrigin } from '../http-client.js';
import { ROLLGATE_VERSION } from '../../version.js';

export type McpTransportKind = 'streamable-http' | 'sse' | 'stdio';

/** A problem that ended the attempt before (or while) talking MCP. */
export class McpProblem extends Error {
  constructor(
    readonly outcome: 'fail' | 'error',
    message: string,
    readonly errorKind?: ErrorKind,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'McpProblem';
  }
}

/**
 * The time an attempt may take. `signal` aborts on the total timeout or when the runner aborts the attempt (run
 * deadline); `phase` names what was going on, for messages such as "no answer while listing tools".
 */
export class AttemptBudget {
  readonly signal: AbortSignal;
  phase = 'connecting';
  private readonly started = performance.now();
  private readonly totalSignal: AbortSignal;
  private readonly totalTimer: ReturnType<typeof setTimeout>;

  constructor(private readonly ctx: AttemptContext) {
    // A timer we can clear, not AbortSignal.timeout: that one fires even after the attempt ended and rejects whatever
    // the client library still has attached to the signal, long after anyone listens.
    const total = new AbortController();
    this.totalTimer = setTimeout(() => total.abort(new Error('total timeout')), Math.max(1, ctx.timeouts.total));
    this.totalSignal = total.signal;
    this.signal = AbortSignal.any([ctx.signal, this.totalSignal]);
  }

  /** Stops the total-timeout timer once the attempt is over. */
  dispose(): void {
    clearTimeout(this.totalTimer);
  }

  elapsed(): number {
    return performance.now() - this.started;
  }

  /** Milliseconds left, at least 1 (request options reject 0). */
  remaining(): number {
    return Math.max(1, Math.floor(this.ctx.timeouts.total - this.elapsed()));
  }

  /**
   * The client library's own per-request timeout: a little more than what is left, so the attempt's signal (which
   * says which limit passed) always fires first and the library's timer is only a backstop.
   */
  requestTimeout(): number {
    return this.remaining() + 250;
  }

  /** Rejects with an `AttemptStopped` as soon as the attempt is aborted. */
  race<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => undefined);
    if (this.signal.aborted) return Promise.reject(new AttemptStopped());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new AttemptStopped());
      this.signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => {
          this.signal.removeEventListener('abort', onAbort);
          resolve(value);
        },
        (error: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** The problem to report when the attempt was stopped, or undefined while it runs. */
  stopped(where: string): McpProblem | undefined {
    if (!this.signal.aborted) return undefined;
    const total = this.ctx.timeouts.total;
    if (this.totalSignal.aborted || this.elapsed() >= total - 5) {
      return new McpProblem('error', `${where}: no complete MCP exchange within the total timeout of ${formatDuration(total)} (stopped while ${this.phase})`, 'timeout');
    }
    const reason = this.ctx.signal.reason;
    const why = reason instanceof Error && reason.message && reason.message !== 'deadline' ? reason.message : 'the run deadline passed';
    return new McpProblem('error', `${where}: stopped after ${formatDuration(this.elapsed())} while ${this.phase} because ${why}`, 'deadline');
  }
}

class AttemptStopped extends Error {
  constructor() {
    super('attempt stopped');
    this.name = 'AttemptStopped';
  }
}

export interface McpSession {
  client: Client;
  transport: McpTransportKind;
  /** Where the session went, without credentials or query: the URL, or `stdio: command args`. */
  where: string;
  connectMs: number;
  /** Things worth knowing that are not failures, e.g. the fallback to legacy SSE. */
  notes: string[];
  /** Closes the client and transport; for stdio, makes sure every child process is gone. Never throws. */
  close(): Promise<void>;
}

/** Header values and the values to hide in messages. */
interface ResolvedHeaders {
  values: Record<string, string>;
  secretValues: string[];
}

/** Header names whose values are credentials even when the config does not say `secret: true`. */
const CREDENTIAL_HEADER = /authorization|cookie|token|secret|api[-_]?key|password/i;

export function resolveHeaders(spec: McpCheckSpec): ResolvedHeaders {
  const values: Record<string, string> = {};
  const secretValues: string[] = [];
  for (const [name, header] of Object.entries(spec.headers ?? {})) {
    const value = typeof header === 'string' ? header : header.value;
    values[name] = value;
    const marked = typeof header === 'object' && header.secret === true;
    if (marked || CREDENTIAL_HEADER.test(name)) {
      secretValues.push(value);
      // The bearer token alone can leak in a server's echo of the header.
      const token = /^\s*\S+\s+(\S{3,})\s*$/.exec(value)?.[1];
      if (token) secretValues.push(token);
    }
  }
  return { values, secretValues };
}

/** Builds the redaction used for every text this check produces. */
export function redactorFor(secretValues: readonly string[]): (text: string) => string {
  const sorted = [...new Set(secretValues)].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = text;
    for (const value of sorted) if (out.includes(value)) out = out.split(value).join('***');
    return secrets.redact(out);
  };
}

/** Which transport a spec asks for, or a configuration problem. */
export function plannedTransport(spec: McpCheckSpec): 'http' | 'stdio' {
  const mode = spec.transport ?? 'auto';
  if (mode === 'stdio' || (mode === 'auto' && !spec.url && spec.command)) {
    if (!spec.command) throw new McpProblem('error', `transport is stdio but no command is set (expected command: and optional args:)`);
    return 'stdio';
  }
  if (!spec.url) {
    throw new McpProblem('error', `no MCP endpoint: set url: (Streamable HTTP or legacy SSE) or command: (a local stdio server)`);
  }
  return 'http';
}

export function describeTarget(spec: McpCheckSpec, redact: (s: string) => string): string {
  if (plannedTransportSafe(spec) === 'stdio') return redact(`stdio: ${[spec.command ?? '', ...(spec.args ?? [])].join(' ')}`);
  return spec.url ? safeOrigin(spec.url) : '<no url>';
}

function plannedTransportSafe(spec: McpCheckSpec): 'http' | 'stdio' | undefined {
  try {
    return plannedTransport(spec);
  } catch {
    return undefined;
  }
}

export async function openMcpSession(spec: McpCheckSpec, ctx: AttemptContext, budget: AttemptBudget): Promise<McpSession> {
  const headers = resolveHeaders(spec);
  const redact = redactorFor(headers.secretValues);
  if (plannedTransport(spec) === 'stdio') return openStdio(spec, ctx, budget, redact);
  return openHttp(spec, ctx, budget, headers, redact);
}

function newClient(budget: AttemptBudget, probeTimeoutMs: number, ctx: AttemptContext, redact: (s: string) => string): Client {
  const client = new Client(
    { name: 'rollgate', version: ROLLGATE_VERSION },
    { versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.max(1, Math.min(probeTimeoutMs, budget.requestTimeout())) } } },
  );
  // Background errors (a dropped notification stream, an unparsable line) are worth a debug line, not a failure.
  client.onerror = (error) => ctx.log.debug(`mcp client: ${redact(error.message)}`);
  return client;
}

/** Connects, racing the attempt's signal; on abort the transport is closed and the connect allowed to unwind. */
async function connectClient(client: Client, transport: Transport, budget: AttemptBudget): Promise<void> {
  const connecting = client.connect(transport, { timeout: budget.requestTimeout(), signal: budget.signal });
  try {
    await budget.race(connecting);
  } catch (error) {
    if (budget.signal.aborted) {
      // Not awaited in full: a stuck stdio server makes close() wait seconds before SIGTERM; the session's close
      // reaps the process by pid instead. Closing still tells a running version probe to give up.
      void transport.close().catch(() => undefined);
      await settleWithin(connecting, 3_000);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP: Streamable HTTP, legacy HTTP+SSE

interface HttpExchange {
  method: string;
  status: number;
  statusText: string;
  contentType: string;
  wwwAuthenticate?: string;
  /** The start of the body of an error answer. */
  bodyStart?: string;
}

/** Remembers what the server answered, because the client library's errors do not carry headers. */
class HttpRecorder {
  readonly exchanges: HttpExchange[] = [];
  failure: unknown;

  last(): HttpExchange | undefined {
    return this.exchanges[this.exchanges.length - 1];
  }
}

function httpAgent(ctx: AttemptContext): Agent {
  return new Agent({
    connect: {
      timeout: ctx.timeouts.connect,
      // `ca` replaces the default roots in Node, so the extra CA is added to them rather than passed alone.
      ...(ctx.ca ? { ca: [...rootCertificates, ctx.ca] } : {}),
    },
    headersTimeout: ctx.timeouts.firstByte,
    // SSE streams sit idle between events; the attempt's total timeout bounds them instead.
    bodyTimeout: 0,
  });
}

function recordingFetch(agent: Agent, extraHeaders: Record<string, string>, budget: AttemptBudget, recorder: HttpRecorder): FetchLike {
  return async (input, init) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const headers = new Headers(init?.headers);
    for (const [name, value] of Object.entries(extraHeaders)) if (!headers.has(name)) headers.set(name, value);
    const signal = init?.signal ? AbortSignal.any([init.signal, budget.signal]) : budget.signal;
    try {
      const response = await undiciFetch(input, {
        ...(init as Record<string, unknown>),
        headers: Object.fromEntries(headers.entries()),
        signal,
        dispatcher: agent,
      });
      const exchange: HttpExchange = {
        method,
        status: response.status,
        statusText: response.statusText,
        contentType: response.headers.get('content-type') ?? '',
      };
      const challenge = response.headers.get('www-authenticate');
      if (challenge) exchange.wwwAuthenticate = challenge;
      if (response.status >= 400) exchange.bodyStart = await bodyStart(response.clone());
      recorder.exchanges.push(exchange);
      return response as unknown as Response;
    } catch (error) {
      recorder.failure = error;
      throw error;
    }
  };
}

async function bodyStart(response: { body: ReadableStream<Uint8Array> | null }): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  try {
    const first = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), 500).unref())]);
    return first && !first.done && first.value ? Buffer.from(first.value).toString('utf8', 0, Math.min(first.value.length, 300)) : '';
  } catch {
    return '';
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

async function openHttp(
  spec: McpCheckSpec,
  ctx: AttemptContext,
  budget: AttemptBudget,
  configuredHeaders: ResolvedHeaders,
  configuredRedact: (s: string) => string,
): Promise<McpSession> {
  let headers = configuredHeaders;
  let redact = configuredRedact;
  const mode = spec.transport ?? 'auto';
  let url: URL;
  try {
    url = new URL(spec.url!);
  } catch {
    throw new McpProblem('error', `url ${redact(spec.url!)} is not an absolute URL (expected e.g. https://host/mcp)`);
  }
  if (url.username || url.password) {
    // fetch refuses URLs with credentials; send them the way a browser would, as Basic auth.
    const basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    if (!Object.keys(headers.values).some((name) => name.toLowerCase() === 'authorization')) {
      headers = { values: { ...headers.values, Authorization: `Basic ${basic}` }, secretValues: [...headers.secretValues, basic] };
      redact = redactorFor(headers.secretValues);
    }
    url.username = '';
    url.password = '';
  }
  const where = safeOrigin(url.toString());
  const sentCredentials = Object.keys(headers.values).some((name) => CREDENTIAL_HEADER.test(name));
  const agent = httpAgent(ctx);
  const notes: string[] = [];

  const attempt = async (kind: 'streamable-http' | 'sse'): Promise<McpSession> => {
    const recorder = new HttpRecorder();
    const fetch = recordingFetch(agent, headers.values, budget, recorder);
    const client = newClient(budget, budget.requestTimeout(), ctx, redact);
    const transport =
      kind === 'streamable-http'
        ? new StreamableHTTPClientTransport(url, {
            fetch,
            // One attempt is one attempt: no background reconnection of dropped notification streams.
            reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
          })
        : new SSEClientTransport(url, { fetch });
    const started = performance.now();
    budget.phase = kind === 'sse' ? 'connecting over legacy HTTP+SSE' : 'connecting';
    try {
      await connectClient(client, transport, budget);
    } catch (error) {
      await closeQuietly(client, transport);
      throw new HttpConnectFailure(kind, error, recorder);
    }
    return {
      client,
      transport: kind,
      where,
      connectMs: performance.now() - started,
      notes,
      close: async () => {
        if (transport instanceof StreamableHTTPClientTransport && transport.sessionId) {
          // Be a polite monitor: end the server-side session instead of leaving one behind per run.
          await settleWithin(transport.terminateSession(), 1_000);
        }
        await closeQuietly(client, transport);
        await agent.destroy().catch(() => undefined);
      },
    };
  };

  try {
    if (mode === 'sse') return await attempt('sse');
    try {
      return await attempt('streamable-http');
    } catch (error) {
      if (!(error instanceof HttpConnectFailure)) throw error;
      const status = error.status();
      if (mode !== 'auto' || budget.signal.aborted || status === undefined || ![400, 404, 405].includes(status)) {
        throw classifyHttp(error, where, budget, sentCredentials, redact);
      }
      const why = `POST (Streamable HTTP) answered ${status}${error.statusText() ? ` ${error.statusText()}` : ''}`;
      ctx.log.debug(`${where}: ${why}; trying legacy HTTP+SSE (GET, expecting an endpoint event)`);
      try {
        const session = await attempt('sse');
        notes.push(`${why}; connected over legacy HTTP+SSE instead`);
        return session;
      } catch (sseError) {
        if (!(sseError instanceof HttpConnectFailure)) throw sseError;
        const problem = classifyHttp(sseError, where, budget, sentCredentials, redact);
        if (sseError.status() === 404 || sseError.status() === 405) {
          throw new McpProblem(
            'fail',
            `${where}: no MCP server at this URL: ${why} and GET (legacy HTTP+SSE) answered ${sseError.status()}; ` +
              `check the path (servers usually serve /mcp; legacy SSE servers /sse)`,
            undefined,
            sseError.status(),
          );
        }
        throw new McpProblem(problem.outcome, `${problem.message} (tried after ${why})`, problem.errorKind, problem.status);
      }
    }
  } catch (error) {
    await agent.destroy().catch(() => undefined);
    if (error instanceof McpProblem) throw error;
    if (error instanceof HttpConnectFailure) throw classifyHttp(error, where, budget, sentCredentials, redact);
    throw new McpProblem('error', `${where}: ${redact(innermostMessage(error))}`, 'protocol');
  }
}

class HttpConnectFailure extends Error {
  constructor(
    readonly kind: 'streamable-http' | 'sse',
    readonly error: unknown,
    readonly recorder: HttpRecorder,
  ) {
    super(innermostMessage(error));
  }

  /** The HTTP status that ended the connect: from the error itself, else the last error answer recorded. */
  status(): number | undefined {
    const fromError = httpStatusOf(this.error);
    if (fromError !== undefined) return fromError;
    const last = this.recorder.last();
    return last && last.status >= 400 ? last.status : undefined;
  }

  statusText(): string {
    const status = this.status();
    return [...this.recorder.exchanges].reverse().find((e) => e.status === status)?.statusText ?? '';
  }

  exchange(): HttpExchange | undefined {
    const status = this.status();
    return [...this.recorder.exchanges].reverse().find((e) => e.status === status) ?? this.recorder.last();
  }
}

function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof SdkHttpError) return error.status;
  // The SSE library reports a 200 with the wrong content type as code 200: that is not an HTTP failure.
  if (error instanceof SseError && typeof error.code === 'number' && error.code >= 400) return error.code;
  if (error instanceof UnauthorizedError) return 401;
  return undefined;
}

function classifyHttp(failure: HttpConnectFailure, where: string, budget: AttemptBudget, sentCredentials: boolean, redact: (s: string) => string): McpProblem {
  const stopped = budget.stopped(where);
  if (stopped) return stopped;
  const error = failure.error;
  const transportName = failure.kind === 'sse' ? 'legacy HTTP+SSE' : 'Streamable HTTP';
  const status = failure.status();
  const exchange = failure.exchange();
  if (status === 401) {
    const challenge = exchange?.wwwAuthenticate;
    const advice = sentCredentials
      ? 'the credentials in the check headers were refused; check the token and its scopes'
      : 'add the credentials to the check headers, e.g. Authorization: Bearer ${secret:MCP_TOKEN}';
    return new McpProblem(
      'fail',
      redact(
        `${where}: the server requires authentication (HTTP 401 on ${exchange?.method ?? 'the first request'}); ` +
          `${challenge ? `WWW-Authenticate: ${challenge}` : 'no WWW-Authenticate header was sent (an MCP server should name its resource_metadata there)'}; ${advice}`,
      ),
      undefined,
      401,
    );
  }
  if (status === 403) {
    return new McpProblem('fail', redact(`${where}: access denied (HTTP 403)${exchange?.bodyStart ? `: ${oneLine(exchange.bodyStart)}` : ''}; the credentials lack permission for this server`), undefined, 403);
  }
  if (status !== undefined) {
    const body = exchange?.bodyStart ? `: ${oneLine(exchange.bodyStart)}` : '';
    return new McpProblem('fail', redact(`${where}: ${exchange?.method ?? 'request'} (${transportName}) answered HTTP ${status}${exchange?.statusText ? ` ${exchange.statusText}` : ''}${body}`), undefined, status);
  }
  const contentType = unexpectedContentType(error) ?? (isContentTypeComplaint(error) ? failure.recorder.last()?.contentType : undefined);
  if (contentType !== undefined) {
    const answered = failure.recorder.last()?.status ?? 200;
    const wanted = failure.kind === 'sse' ? 'an event stream (text/event-stream)' : 'JSON-RPC (application/json or text/event-stream)';
    return new McpProblem(
      'error',
      `${where}: the server answered ${answered} but not with ${wanted}: ${contentType || 'no content type'}; is this the MCP endpoint (often /mcp), or a web page or proxy in front of it?`,
      'protocol',
      answered,
    );
  }
  const network = networkProblem(error ?? failure.recorder.failure, where);
  if (network) return network;
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    return new McpProblem('error', `${where}: the server did not answer the MCP handshake (${transportName}) within ${formatDuration(budget.elapsed())}`, 'timeout');
  }
  if (error instanceof ProtocolError) {
    return new McpProblem('error', redact(`${where}: the server refused the MCP handshake with JSON-RPC error ${error.code}: ${error.message}`), 'protocol');
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    return new McpProblem('error', `${where}: the connection closed during the MCP handshake (${transportName})`, 'reset');
  }
  return new McpProblem('error', redact(`${where}: the MCP handshake (${transportName}) failed: ${innermostMessage(error)}`), 'protocol');
}

/** The content type the client library rejected, when that is what went wrong. */
function unexpectedContentType(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof SdkError && e.code === SdkErrorCode.ClientHttpUnexpectedContent) {
      const type = (e.data as { contentType?: unknown } | undefined)?.contentType;
      return typeof type === 'string' ? type : '';
    }
    const data = (e as { data?: { cause?: { code?: string; data?: { contentType?: string } } } }).data;
    if (data?.cause?.code === SdkErrorCode.ClientHttpUnexpectedContent) return data.cause.data?.contentType ?? '';
  }
  return undefined;
}

function isContentTypeComplaint(error: unknown): boolean {
  return /content[- ]type/i.test(innermostMessage(error));
}

// ---------------------------------------------------------------------------------------------------------------
// stdio

/** Keeps the last few KiB of a child's stderr, for "the server exited" messages. */
class TailBuffer {
  private text = '';
  constructor(private readonly max: number) {}

  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.max);
  }

  lastLines(count: number): string {
    return this.text.trim().split(/\r?\n/).slice(-count).join(' | ');
  }
}

async function openStdio(spec: McpCheckSpec, ctx: AttemptContext, budget: AttemptBudget, redact: (s: string) => string): Promise<McpSession> {
  const command = spec.command!;
  const args = spec.args ?? [];
  const where = redact(`stdio: ${[command, ...args].join(' ')}`);
  const stderr = new TailBuffer(4096);
  const pids: number[] = [];
  const transport = new StdioClientTransport({
    command,
    args,
    // Only the SDK's safe default variables (PATH, HOME...) plus the check's own: the runner's secrets stay home.
    env: { ...getDefaultEnvironment(), ...(spec.env ?? {}) },
    cwd: ctx.baseDir,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  // Remember the child's pid as soon as it exists: the library may drop its own handle while still closing it.
  // An own property, not a subclass, so the library still recognises its stdio transport and probes on a sibling.
  const start = transport.start.bind(transport);
  transport.start = async () => {
    await start();
    if (transport.pid) pids.push(transport.pid);
  };
  // On stdio a silent probe means "legacy server", so the probe gets the first-byte timeout, not the whole budget.
  const client = newClient(budget, ctx.timeouts.firstByte, ctx, redact);
  const close = async () => {
    await settleWithin(closeQuietly(client, transport), 1_000);
    await reapProcesses(pids);
  };
  const started = performance.now();
  budget.phase = 'starting the server and connecting';
  try {
    await connectClient(client, transport, budget);
  } catch (error) {
    await close();
    throw classifyStdio(error, where, command, budget, stderr, redact);
  }
  budget.phase = 'connected';
  return { client, transport: 'stdio', where, connectMs: performance.now() - started, notes: [], close };
}

function classifyStdio(error: unknown, where: string, command: string, budget: AttemptBudget, stderr: TailBuffer, redact: (s: string) => string): McpProblem {
  const tail = stderr.lastLines(5);
  const said = tail ? `; its stderr ended with: ${redact(clip(tail, 600))}` : '';
  const stopped = budget.stopped(where);
  if (stopped) return new McpProblem(stopped.outcome, `${stopped.message}${said}`, stopped.errorKind);
  const code = errorCode(error);
  if (code === 'ENOENT') return new McpProblem('error', `${where}: could not start ${redact(command)}: command not found (ENOENT); use an absolute path or a command on PATH`, 'connect');
  if (code === 'EACCES') return new McpProblem('error', `${where}: could not start ${redact(command)}: permission denied (EACCES); is it executable?`, 'connect');
  if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    return new McpProblem('error', `${where}: the server process closed its output before completing the MCP handshake (did it exit?)${said}`, 'connect');
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.RequestTimeout) {
    return new McpProblem('error', `${where}: the server did not answer the MCP handshake within ${formatDuration(budget.elapsed())}${said}`, 'timeout');
  }
  if (error instanceof ProtocolError) {
    return new McpProblem('error', redact(`${where}: the server refused the MCP handshake with JSON-RPC error ${error.code}: ${error.message}`), 'protocol');
  }
  return new McpProblem('error', redact(`${where}: the MCP handshake failed: ${innermostMessage(error)}`) + said, 'protocol');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (isAlive(pid)) {
    if (performance.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** SIGTERM, then SIGKILL, for each child still running; waits until each is gone. */
async function reapProcesses(pids: readonly number[]): Promise<void> {
  await Promise.all(
    pids.map(async (pid) => {
      if (!isAlive(pid)) return;
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      if (await waitForExit(pid, 1_000)) return;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        return;
      }
      await waitForExit(pid, 1_000);
    }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// shared

async function closeQuietly(client: Client, transport: Transport): Promise<void> {
  await client.close().catch(() => undefined);
  await transport.close().catch(() => undefined);
}

async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** Connection-level failures (refused, DNS, TLS, reset, connect timeout) found along the error's cause chain. */
function networkProblem(error: unknown, where: string): McpProblem | undefined {
  const code = errorCode(error);
  if (!code) return undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return new McpProblem('error', `${where}: connection refused (is the MCP server running and listening on that port?)`, 'connect');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new McpProblem('error', `${where}: host name could not be resolved (${code})`, 'dns');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new McpProblem('error', `${where}: host unreachable (${code})`, 'connect');
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new McpProblem('error', `${where}: could not connect within the connect timeout; is the host reachable and the port open?`, 'timeout');
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new McpProblem('error', `${where}: no response headers arrived within the first-byte timeout; the server accepted the request but did not answer`, 'timeout');
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
    case 'EPIPE':
      return new McpProblem('error', `${where}: the server closed the connection (${code})`, 'reset');
    default:
      if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
        return new McpProblem('error', `${where}: TLS failed: ${deepestMessage(error)} (${code}); if the server uses a private CA, configure its certificate`, 'tls');
      }
      return undefined;
  }
}

/** The first string error code along the cause chain (SDK errors carry enum codes, which are skipped). */
function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !(e instanceof SdkError)) return code;
  }
  return undefined;
}

export function innermostMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let e: unknown = (error as { cause?: unknown })?.cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // Duck-typed: errors from Node's core (TLS, sockets) may come from another realm than this module's Error.
    const text = (e as { message?: unknown }).message;
    if (typeof text === 'string' && text && !message.includes(text)) message = `${message}: ${text}`;
  }
  return message;
}

/** The message of the last error along the cause chain: the one closest to what actually happened. */
function deepestMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let e: unknown = (error as { cause?: unknown })?.cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const text = (e as { message?: unknown }).message;
    if (typeof text === 'string' && text) message = text;
  }
  return message;
}

function oneLine(text: string): string {
  return clip(text.replace(/\s+/g, ' ').trim(), 200);
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export { AttemptStopped };
