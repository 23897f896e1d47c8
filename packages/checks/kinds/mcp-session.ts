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
 * and the run deadline abort every request, and closing always reaps the stdio server and every process it started,
 * even when the client library gave up on them (it can drop its handle on a child it is still closing). An HTTP
 * server that answers something unusable (not JSON-RPC, another request's id, a stream closed before the answer)
 * ends the attempt at once instead of leaving the client library waiting for the total timeout.
 *
 * Whatever the client library reports (errors, console warnings) goes to the debug log as one short line; messages
 * for users are one line, whatever the server sent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { rootCertificates } from 'node:tls';
import { format } from 'node:util';
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
import type { AttemptContext, ErrorKind, Logger } from '../model.js';
import { safeOrigin } from '../http-client.js';
import { ROLLGATE_VERSION } from '../../version.js';
import { ServerProcesses } from './mcp-processes.js';

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
  private readonly faultController = new AbortController();
  private fault: McpProblem | undefined;

  constructor(private readonly ctx: AttemptContext) {
    // A timer we can clear, not AbortSignal.timeout: that one fires even after the attempt ended and rejects whatever
    // the client library still has attached to the signal, long after anyone listens.
    const total = new AbortController();
    this.totalTimer = setTimeout(() => total.abort(new Error('total timeout')), Math.max(1, ctx.timeouts.total));
    this.totalSignal = total.signal;
    this.signal = AbortSignal.any([ctx.signal, this.totalSignal, this.faultController.signal]);
  }

  /**
   * Ends the attempt now with `problem`: the server did something after which the answer being waited for cannot come
   * (garbage instead of JSON-RPC, a response for another request, a stream closed before answering). Without this the
   * client library would wait for the total timeout. The first fault wins; once the attempt is stopped, faults are
   * ignored.
   */
  fail(problem: McpProblem): void {
    if (this.fault || this.signal.aborted) return;
    this.fault = problem;
    this.faultController.abort(problem);
  }

  /** True once `fail` ended the attempt. */
  get faulted(): boolean {
    return this.fault !== undefined;
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
    if (this.fault) return this.fault;
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
  if (spec.url && spec.command) {
    // The config planner reports this too; a check built in code must not silently drop one of them either.
    throw new McpProblem('error', `both url: and command: are set; an mcp check talks to a server at a url or starts a command over stdio, not both (remove one)`);
  }
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
  if (plannedTransportSafe(spec) === 'stdio') return clip(redact(`stdio: ${[spec.command ?? '', ...(spec.args ?? [])].join(' ')}`), 150);
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

function newClient(budget: AttemptBudget, probeTimeoutMs: number, logError: (error: unknown) => void): Client {
  const client = new Client(
    { name: 'rollgate', version: ROLLGATE_VERSION },
    { versionNegotiation: { mode: 'auto', probe: { timeoutMs: Math.max(1, Math.min(probeTimeoutMs, budget.requestTimeout())) } } },
  );
  client.onerror = logError;
  return client;
}

/**
 * Where the client library's background errors go: one short debug line each (its errors can hold pages of schema
 * output), never the console. The library reports a transport error to both the transport's and the client's
 * handler, so each error is logged once.
 */
function sdkErrorLog(ctx: AttemptContext, redact: (s: string) => string): (error: unknown) => void {
  const seen = new WeakSet<object>();
  return (error) => {
    if (typeof error === 'object' && error !== null) {
      if (seen.has(error)) return;
      seen.add(error);
    }
    ctx.log.debug(`mcp client: ${innermostMessage(error, 300, redact)}`);
  };
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
      // After a fault the server has already misbehaved; some transports never settle a connect they gave up on.
      await settleWithin(connecting, budget.faulted ? 250 : 3_000);
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

/**
 * Remembers what the server answered, because the client library's errors do not carry headers, and reads every
 * JSON-RPC answer before the library does. The library drops what it cannot use (a body that is not JSON-RPC, a
 * response for an id nobody asked about, a stream that ends before the answer) and keeps waiting for the total
 * timeout, or throws pages of schema errors; here each of those ends the attempt at once with one readable line.
 */
class HttpRecorder {
  readonly exchanges: HttpExchange[] = [];
  failure: unknown;
  /** Requests sent and not answered yet: JSON-RPC id -> method. */
  private readonly outstanding = new Map<string | number, string>();
  /** Off once the session is closing: what the server does then no longer matters. */
  private watching = true;
  /** Set once the legacy transport's event stream is open; failures to open it are classified the usual way. */
  private sseStreamOpen = false;

  constructor(
    private readonly kind: 'streamable-http' | 'sse',
    private readonly where: string,
    private readonly budget: AttemptBudget,
    private readonly redact: (s: string) => string,
  ) {}

  last(): HttpExchange | undefined {
    return this.exchanges[this.exchanges.length - 1];
  }

  stopWatching(): void {
    this.watching = false;
  }

  /** The request a POST carries, when it is one that expects an answer. */
  sent(body: unknown): SentRequest | undefined {
    if (typeof body !== 'string') return undefined;
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (!isRecord(message) || typeof message.method !== 'string' || !isJsonRpcId(message.id)) return undefined;
    this.outstanding.set(message.id, message.method);
    return { id: message.id, method: message.method };
  }

  /** A complete application/json answer to a POST. */
  jsonAnswer(text: string, status: number, request: SentRequest | undefined): void {
    if (!text.trim()) return;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      this.fault(`the server answered ${status} with a body that is not JSON although it said application/json (${this.snippet(text)})`);
      return;
    }
    const messages = Array.isArray(data) ? data : [data];
    if (messages.length === 0 || !messages.every(isJsonRpcMessage)) {
      this.fault(`the server answered ${status} with JSON that is not a JSON-RPC response (${this.snippet(text)})`);
      return;
    }
    for (const message of messages) this.received(message, text, request);
  }

  /** One `message` event of an event stream; `request` is the POST the stream answers (none for a GET stream). */
  event(data: string, request: SentRequest | undefined): void {
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      this.streamGarbage(`an SSE event that is not JSON (${this.snippet(data)})`, request);
      return;
    }
    if (!isJsonRpcMessage(message)) {
      this.streamGarbage(`an SSE event that is not a JSON-RPC message (${this.snippet(data)})`, request);
      return;
    }
    this.received(message, data, request);
  }

  /** An event stream ended normally (the server closed it). */
  streamEnded(method: string, request: SentRequest | undefined): void {
    if (request && this.outstanding.has(request.id)) {
      this.fault(`the server closed the response stream to ${request.method} without answering it`, 'reset');
    } else if (this.kind === 'sse' && method === 'GET') {
      this.fault(`the server closed the legacy SSE event stream while ${this.budget.phase}`, 'reset');
    }
  }

  streamOpened(method: string): void {
    if (method === 'GET') this.sseStreamOpen = true;
  }

  /** An error the legacy SSE transport reports: its open event stream broke, or could not be reopened. */
  sseStreamError(error: unknown): void {
    if (this.kind !== 'sse' || !this.sseStreamOpen || !(error instanceof SseError)) return;
    const code = typeof error.code === 'number' ? `HTTP ${error.code}` : undefined;
    const detail = /^SSE error: (undefined)?$/.test(error.message) ? code : [code, error.message.replace(/^SSE error: /, '')].filter(Boolean).join(', ');
    this.fault(`the legacy SSE event stream ${detail ? `failed (${oneLine(this.redact(detail), 120)})` : 'closed'} while ${this.budget.phase}`, 'reset');
  }

  private received(message: Record<string, unknown>, raw: string, request: SentRequest | undefined): void {
    if (!('result' in message || 'error' in message)) return; // a request or notification from the server
    const id = message.id;
    if (isJsonRpcId(id) && this.outstanding.has(id)) {
      this.outstanding.delete(id);
      return;
    }
    const asked = request ?? this.onlyOutstanding();
    const question = asked ? `${asked.method} (JSON-RPC id ${JSON.stringify(asked.id)})` : 'a request';
    const error = isRecord(message.error) ? message.error : undefined;
    if (error && (id === null || id === undefined)) {
      this.fault(`the server answered ${question} with JSON-RPC error ${String(error.code)} without an id: ${oneLine(this.redact(String(error.message)), 150)}`);
      return;
    }
    this.fault(`the server answered ${question} with a response for id ${oneLine(JSON.stringify(id) ?? 'none', 40)}, which no request used (${this.snippet(raw)})`);
  }

  private onlyOutstanding(): SentRequest | undefined {
    const only = this.outstanding.size === 1 ? [...this.outstanding][0] : undefined;
    return only ? { id: only[0], method: only[1] } : undefined;
  }

  /** Garbage on a POST's stream, or on the legacy transport's only stream, loses the answer; elsewhere it is noise. */
  private streamGarbage(what: string, request: SentRequest | undefined): void {
    if (request || this.kind === 'sse') this.fault(`the server sent ${what} while ${this.budget.phase}`);
  }

  /** The start of what the server sent, on one line, for quoting in a message. */
  private snippet(text: string): string {
    return oneLine(this.redact(text), 120);
  }

  private fault(message: string, errorKind: ErrorKind = 'protocol'): void {
    if (!this.watching) return;
    this.budget.fail(new McpProblem('error', this.redact(`${this.where}: ${message}`), errorKind));
  }
}

interface SentRequest {
  id: string | number;
  method: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJsonRpcId(value: unknown): value is string | number {
  return typeof value === 'string' || typeof value === 'number';
}

/** The shape of a JSON-RPC 2.0 message; the client library checks the details. */
function isJsonRpcMessage(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value) || value.jsonrpc !== '2.0') return false;
  if (typeof value.method === 'string') return true;
  if (!('id' in value)) return false;
  if ('result' in value) return true;
  return isRecord(value.error) && typeof value.error.code === 'number';
}

/**
 * Passes an event stream through unchanged while handing each `message` event to the recorder first, so a fault is
 * known before the client library sees the event; the end of the stream is reported too.
 */
function inspectEventStream(recorder: HttpRecorder, method: string, request: SentRequest | undefined): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  let pending = '';
  let event = '';
  let data: string[] = [];
  const line = (text: string) => {
    if (text === '') {
      if (data.length && (event === '' || event === 'message')) recorder.event(data.join('\n'), request);
      event = '';
      data = [];
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? '' : text.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  };
  const feed = (text: string) => {
    pending += text;
    const lines = pending.split(/\r\n|\r|\n/);
    pending = lines.pop() ?? '';
    for (const text of lines) line(text);
  };
  return new TransformStream({
    transform(chunk, controller) {
      feed(decoder.decode(chunk, { stream: true }));
      controller.enqueue(chunk);
    },
    flush() {
      feed(decoder.decode());
      recorder.streamEnded(method, request);
    },
  });
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
    const request = method === 'POST' ? recorder.sent(init?.body) : undefined;
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
      // The client library reads a POST's body only when it carried a request; so is it judged here.
      if (!response.ok || !response.body || (method === 'POST' && !request)) return response as unknown as Response;
      const answer = { status: response.status, statusText: response.statusText, headers: response.headers };
      if (method === 'POST' && /application\/json/i.test(exchange.contentType)) {
        // Read whole (an answer is one document) so it is judged before the client library parses it.
        const text = await response.text();
        recorder.jsonAnswer(text, response.status, request);
        return new Response(text, answer);
      }
      if (/text\/event-stream/i.test(exchange.contentType)) {
        recorder.streamOpened(method);
        return new Response(response.body.pipeThrough(inspectEventStream(recorder, method, request)) as ReadableStream, answer);
      }
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
    const recorder = new HttpRecorder(kind, where, budget, redact);
    const fetch = recordingFetch(agent, headers.values, budget, recorder);
    const logError = sdkErrorLog(ctx, redact);
    const client = newClient(budget, budget.requestTimeout(), logError);
    const transport =
      kind === 'streamable-http'
        ? new StreamableHTTPClientTransport(url, {
            fetch,
            // One attempt is one attempt: no background reconnection of dropped notification streams.
            reconnectionOptions: { maxRetries: 0, initialReconnectionDelay: 1000, maxReconnectionDelay: 1000, reconnectionDelayGrowFactor: 1 },
          })
        : new SSEClientTransport(url, { fetch });
    // Set before connecting: the client library only chains its own handler after the version probe.
    transport.onerror = (error) => {
      logError(error);
      recorder.sseStreamError(error);
    };
    const started = performance.now();
    budget.phase = kind === 'sse' ? 'connecting over legacy HTTP+SSE' : 'connecting';
    try {
      await connectClient(client, transport, budget);
    } catch (error) {
      recorder.stopWatching();
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
        recorder.stopWatching();
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
    throw new McpProblem('error', `${where}: ${innermostMessage(error, 300, redact)}`, 'protocol');
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
    return new McpProblem('fail', redact(`${where}: access denied (HTTP 403)${exchange?.bodyStart ? `: ${oneLine(redact(exchange.bodyStart))}` : ''}; the credentials lack permission for this server`), undefined, 403);
  }
  if (status !== undefined) {
    const body = exchange?.bodyStart ? `: ${oneLine(redact(exchange.bodyStart))}` : '';
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
    return new McpProblem('error', redact(`${where}: the server refused the MCP handshake with JSON-RPC error ${error.code}: ${oneLine(redact(readable(error.message)))}`), 'protocol');
  }
  if (error instanceof SdkError && error.code === SdkErrorCode.ConnectionClosed) {
    return new McpProblem('error', `${where}: the connection closed during the MCP handshake (${transportName})`, 'reset');
  }
  return new McpProblem('error', redact(`${where}: the MCP handshake (${transportName}) failed: ${innermostMessage(error, 200, redact)}`), 'protocol');
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
  const where = clip(redact(`stdio: ${[command, ...args].join(' ')}`), 150);
  const stderr = new TailBuffer(4096);
  const processes = new ServerProcesses();
  const transport = new StdioClientTransport({
    command,
    args,
    // Only the SDK's safe default variables (PATH, HOME...) plus the check's own: the runner's secrets stay home.
    // The marker lets cleanup find every process the server started, even after their parent exited.
    env: { ...getDefaultEnvironment(), ...(spec.env ?? {}), ...processes.marker },
    cwd: ctx.baseDir,
    stderr: 'pipe',
  });
  transport.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  // Remember the child's pid as soon as it exists: the library may drop its own handle while still closing it.
  // An own property, not a subclass, so the library still recognises its stdio transport and probes on a sibling.
  const start = transport.start.bind(transport);
  transport.start = async () => {
    await start();
    if (transport.pid) processes.add(transport.pid);
  };
  const logError = sdkErrorLog(ctx, redact);
  // An unparsable line on stdout is worth a debug line, not a failure: some servers log there.
  transport.onerror = logError;
  // On stdio a silent probe means "legacy server", so the probe gets the first-byte timeout, not the whole budget.
  const client = newClient(budget, ctx.timeouts.firstByte, logError);
  const close = async () => {
    // Before the server goes: its children are found through it while it still runs.
    await processes.collect();
    await settleWithin(closeQuietly(client, transport), 1_000);
    await processes.reap();
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
  const said = tail ? `; its stderr ended with: ${oneLine(redact(tail), 300)}` : '';
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
    return new McpProblem('error', redact(`${where}: the server refused the MCP handshake with JSON-RPC error ${error.code}: ${oneLine(redact(readable(error.message)))}`), 'protocol');
  }
  return new McpProblem('error', redact(`${where}: the MCP handshake failed: ${innermostMessage(error, 200, redact)}`) + said, 'protocol');
}

// ---------------------------------------------------------------------------------------------------------------
// shared

/** The debug log of the attempt running in the current async context, for the client library's console output. */
const sdkConsole = new AsyncLocalStorage<Logger>();
let consoleUsers = 0;
let consoleWarn: typeof console.warn | undefined;

function quietWarn(this: Console, ...args: unknown[]): void {
  const log = sdkConsole.getStore();
  // The client library prefixes what it prints with [mcp-sdk]; anything else (ours included) prints as usual.
  if (log && typeof args[0] === 'string' && args[0].startsWith('[mcp-sdk]')) {
    log.debug(`mcp client: ${oneLine(format(...args), 300)}`);
    return;
  }
  consoleWarn!.apply(this, args);
}

/**
 * Runs `work` with the client library's console warnings (e.g. a tool it drops from tools/list) sent to `log.debug`
 * instead of the console, which in an action or CLI is the user's output. Only warnings raised inside `work`'s
 * async context are diverted, so concurrent checks each get their own.
 */
export async function withSdkConsole<T>(log: Logger, work: () => Promise<T>): Promise<T> {
  if (consoleUsers++ === 0) {
    consoleWarn = console.warn;
    console.warn = quietWarn;
  }
  try {
    return await sdkConsole.run(log, work);
  } finally {
    if (--consoleUsers === 0) {
      // Someone may have replaced console.warn meanwhile (a test spy): leave theirs in place.
      if (console.warn === quietWarn) console.warn = consoleWarn!;
      consoleWarn = undefined;
    }
  }
}

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
        return new McpProblem('error', `${where}: TLS failed: ${oneLine(deepestMessage(error))} (${code}); if the server uses a private or self-signed CA, add its certificate (PEM) with settings.ca in rollgate.yml or NODE_EXTRA_CA_CERTS`, 'tls');
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

/**
 * The error's message with what its causes add, on one line of at most `max` characters. Schema-validation dumps
 * (the client library quotes every zod issue, hundreds of lines for one bad answer) become a short phrase.
 */
export function innermostMessage(error: unknown, max = 300, redact: (s: string) => string = (s) => s): string {
  let message = readable(error instanceof Error ? error.message : String(error));
  for (let e: unknown = (error as { cause?: unknown })?.cause, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    // Duck-typed: errors from Node's core (TLS, sockets) may come from another realm than this module's Error.
    const raw = (e as { message?: unknown }).message;
    const text = typeof raw === 'string' ? readable(raw) : '';
    if (text && !message.includes(text)) message = `${message}: ${text}`;
  }
  // Redacted before clipping: a secret cut in half would no longer be recognised.
  return oneLine(redact(message), max);
}

/** A JSON list of validation issues, as zod prints them, from its opening bracket to the end of the message. */
const VALIDATION_DUMP = /\[\s*\{\s*"(?:code|expected|origin|path|message|errors)"[\s\S]*$/;

function readable(message: string): string {
  const dump = VALIDATION_DUMP.exec(message);
  if (!dump) return message;
  const issue = firstIssue(dump[0]);
  const what = issue ? `does not match the MCP schema (${issue})` : 'does not match the MCP schema';
  return dump.index === 0 ? `the server sent a message that ${what}` : `${message.slice(0, dump.index)}${what}`;
}

/** `path: message` of the first validation issue, following union branches down to a concrete complaint. */
function firstIssue(dump: string): string | undefined {
  interface Issue {
    path?: unknown[];
    message?: string;
    errors?: Issue[][];
  }
  let issues: unknown;
  try {
    issues = JSON.parse(dump);
  } catch {
    return undefined;
  }
  let issue = Array.isArray(issues) ? (issues[0] as Issue | undefined) : undefined;
  const path: unknown[] = [];
  for (let depth = 0; issue && depth < 10; depth++) {
    path.push(...(issue.path ?? []));
    const nested = issue.errors?.[0]?.[0];
    if (!nested) break;
    issue = nested;
  }
  if (!issue?.message) return undefined;
  return `${path.length ? path.join('.') : 'top level'}: ${issue.message}`;
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

/** Text from a server or library on one line, at most `max` characters. */
export function oneLine(text: string, max = 200): string {
  return clip(text.replace(/\s+/g, ' ').trim(), max);
}

export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export { AttemptStopped };
