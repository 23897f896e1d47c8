/**
 * Real MCP servers for tests, built with the official SDKs, on 127.0.0.1 and a free port. Reuse them in any test
 * that needs an MCP target; each returns a `close()` that the test must await (afterAll/afterEach).
 *
 *   startModernMcpServer()   @modelcontextprotocol/server v2 over Streamable HTTP (2026-07-28 revision; by default it
 *                            also serves 2025-era clients statelessly, pass legacy: 'reject' for modern-only)
 *   startLegacyMcpServer()   @modelcontextprotocol/sdk v1: Streamable HTTP with sessions, or the 2024-11-05
 *                            HTTP+SSE transport (transport: 'sse'); optionally answering an older protocol version
 *   startHttpServer()        any node:http listener (HTML pages, bare 401s, whatever a test needs to misbehave)
 *   startScriptedMcpServer() a hand-written 2025-era Streamable HTTP endpoint whose answer to each JSON-RPC method a
 *                            test scripts: garbage, wrong ids, streams that end early, which no SDK server would send
 *   stdioFixtureServer()     command/args/env of a stdio server (test/support/mcp-fixture-server.mjs, plain node)
 *   everythingServer()       command/args of the reference server @modelcontextprotocol/server-everything (stdio)
 *   closedPort()             a port nothing listens on (for "server down")
 *
 * All servers serve a fixture (see mcp-fixture-server.d.mts); `defaultFixture` has tools status, echo and broken
 * (isError), resource config://app and prompt summarize.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { toNodeHandler } from '@modelcontextprotocol/node';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { createLegacyServer, createModernServer, defaultFixture, type McpFixture } from './mcp-fixture-server.mjs';

export { defaultFixture, type McpFixture };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface RunningServer {
  /** The MCP endpoint to connect to (for legacy SSE: the GET stream URL). */
  url: string;
  origin: string;
  /** Every request the server received, in order. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** Runs before MCP handling; return true when it answered the request itself (e.g. a 401). */
export type RequestGuard = (req: IncomingMessage, res: ServerResponse) => boolean;

/** A guard that wants `Authorization: Bearer <token>` and answers 401 with a WWW-Authenticate challenge otherwise. */
export function bearerGuard(token: string, resourceMetadataUrl = 'http://127.0.0.1/.well-known/oauth-protected-resource'): RequestGuard {
  return (req, res) => {
    if (req.headers.authorization === `Bearer ${token}`) return false;
    res.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer error="invalid_token", resource_metadata="${resourceMetadataUrl}"`,
    });
    res.end(JSON.stringify({ error: 'invalid_token', received: req.headers.authorization ?? null }));
    return true;
  };
}

/** PEM certificate and key; with them a server speaks HTTPS (see selfSignedCertificate in ./servers.ts). */
export interface TlsOptions {
  cert: string;
  key: string;
}

/** Starts a node:http (or, with `tls`, node:https) server on 127.0.0.1 with a free port. */
export async function startHttpServer(listener: RequestListener, options: { tls?: TlsOptions } = {}): Promise<RunningServer & { server: Server }> {
  const requests: RecordedRequest[] = [];
  const recordAndServe: RequestListener = (req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    listener(req, res);
  };
  const server: Server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, recordAndServe) : createServer(recordAndServe);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    server,
    url: origin,
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ModernServerOptions {
  fixture?: McpFixture;
  /** Default /mcp. */
  path?: string;
  /** 'stateless' (default) also serves 2025-era clients; 'reject' serves 2026-07-28 only. */
  legacy?: 'stateless' | 'reject';
  guard?: RequestGuard;
  /** Serve HTTPS with this certificate. */
  tls?: TlsOptions;
}

/** A v2 SDK server (createMcpHandler + @modelcontextprotocol/node) over Streamable HTTP. */
export async function startModernMcpServer(options: ModernServerOptions = {}): Promise<RunningServer> {
  const path = options.path ?? '/mcp';
  const fixture = options.fixture ?? defaultFixture;
  const handler = createMcpHandler(() => createModernServer(fixture), { legacy: options.legacy ?? 'stateless' });
  const node = toNodeHandler(handler);
  const running = await startHttpServer((req, res) => {
    if (options.guard?.(req, res)) return;
    if (new URL(req.url ?? '/', 'http://x').pathname !== path) return notFound(res);
    void node(req, res);
  }, { tls: options.tls });
  return {
    ...running,
    url: running.origin + path,
    close: async () => {
      await handler.close();
      await running.close();
    },
  };
}

export interface LegacyServerOptions {
  fixture?: McpFixture;
  /** 'streamable-http' (default, sessionful) or the 2024-11-05 'sse' transport. */
  transport?: 'streamable-http' | 'sse';
  /** Answer `initialize` with this revision, e.g. '2025-03-26', like an older server. */
  protocolVersion?: string;
  /** Default /mcp for Streamable HTTP, /sse for SSE (whose messages go to /messages). */
  path?: string;
  guard?: RequestGuard;
  /** Serve HTTPS with this certificate. */
  tls?: TlsOptions;
}

/** A v1 SDK (2025-era) server: `initialize` handshake only, over Streamable HTTP or legacy HTTP+SSE. */
export async function startLegacyMcpServer(options: LegacyServerOptions = {}): Promise<RunningServer> {
  const fixture = options.fixture ?? defaultFixture;
  const kind = options.transport ?? 'streamable-http';
  const path = options.path ?? (kind === 'sse' ? '/sse' : '/mcp');
  const make = () => createLegacyServer(fixture, { protocolVersion: options.protocolVersion });
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const streams = new Map<string, SSEServerTransport>();

  const running = await startHttpServer((req, res) => {
    if (options.guard?.(req, res)) return;
    const url = new URL(req.url ?? '/', 'http://x');
    void (async () => {
      if (kind === 'streamable-http' && url.pathname === path) {
        const id = req.headers['mcp-session-id'];
        let transport = typeof id === 'string' ? sessions.get(id) : undefined;
        if (!transport) {
          if (typeof id === 'string') return notFound(res);
          const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (sessionId) => void sessions.set(sessionId, created),
          });
          created.onclose = () => {
            if (created.sessionId) sessions.delete(created.sessionId);
          };
          await make().connect(created);
          transport = created;
        }
        return transport.handleRequest(req, res);
      }
      if (kind === 'sse' && url.pathname === path && req.method === 'GET') {
        const transport = new SSEServerTransport('/messages', res);
        streams.set(transport.sessionId, transport);
        transport.onclose = () => streams.delete(transport.sessionId);
        await make().connect(transport);
        return;
      }
      if (kind === 'sse' && url.pathname === '/messages' && req.method === 'POST') {
        const transport = streams.get(url.searchParams.get('sessionId') ?? '');
        if (!transport) return notFound(res);
        return transport.handlePostMessage(req, res);
      }
      notFound(res);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  }, { tls: options.tls });
  return {
    ...running,
    url: running.origin + path,
    close: async () => {
      await Promise.all([...sessions.values(), ...streams.values()].map((t) => t.close().catch(() => undefined)));
      await running.close();
    },
  };
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
}

export interface StdioServerOptions {
  fixture?: McpFixture;
  /** 'modern' (v2, default) or 'legacy' (v1). */
  sdk?: 'modern' | 'legacy';
  /** Legacy only: answer `initialize` with this revision. */
  protocolVersion?: string;
  /** Each server process appends its pid here (the check may start more than one: the version probe runs on a sibling). */
  pidFile?: string;
  /** 'hang': never answers and ignores end of input; 'crash': writes to stderr and exits 3. */
  mode?: 'hang' | 'crash';
}

export interface StdioCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export const FIXTURE_SERVER_SCRIPT = fileURLToPath(new URL('./mcp-fixture-server.mjs', import.meta.url));

/** The command line of a stdio fixture server, ready for an mcp check's command/args/env. */
export function stdioFixtureServer(options: StdioServerOptions = {}): StdioCommand {
  const env: Record<string, string> = { MCP_FIXTURE_SDK: options.sdk ?? 'modern' };
  if (options.fixture) env.MCP_FIXTURE = JSON.stringify(options.fixture);
  if (options.protocolVersion) env.MCP_FIXTURE_VERSION = options.protocolVersion;
  if (options.pidFile) env.MCP_FIXTURE_PIDFILE = options.pidFile;
  if (options.mode) env.MCP_FIXTURE_MODE = options.mode;
  return { command: process.execPath, args: [FIXTURE_SERVER_SCRIPT], env };
}

/** The reference server @modelcontextprotocol/server-everything over stdio (tools echo, get-sum, ...). */
export function everythingServer(): { command: string; args: string[] } {
  const pkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');
  return { command: process.execPath, args: [join(dirname(pkg), 'dist', 'index.js'), 'stdio'] };
}

/** A loopback port with nothing listening on it (bound once, then released). */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Pids recorded in a pid file (one per line); [] when the file does not exist. */
export function pidsIn(file: string): number[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Running, and not a zombie (where init does not reap orphans, a killed orphan stays one: dead, but kill(0) succeeds). */
export function isProcessRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}

/** What a scripted server sends for one request: `json` or `events` (an event stream that then ends), or `hold` to never answer. */
export type ScriptedAnswer = { status?: number; json: unknown } | { status?: number; raw: string; contentType: string } | { events: string[]; endStream?: boolean } | { hold: true };

export interface ScriptedRequest {
  id: unknown;
  method: string;
  params?: unknown;
}

/** The well-behaved answer of a 2025-era server, for the methods a test does not script. */
export function ordinaryAnswer(request: ScriptedRequest): ScriptedAnswer | undefined {
  const reply = (body: Record<string, unknown>) => ({ json: { jsonrpc: '2.0', id: request.id, ...body } });
  switch (request.method) {
    case 'server/discover':
      return reply({ error: { code: -32601, message: 'Method not found' } });
    case 'initialize':
      return reply({ result: { protocolVersion: '2025-06-18', capabilities: { tools: {} }, serverInfo: { name: 'scripted', version: '1.0.0' } } });
    case 'ping':
      return reply({ result: {} });
    case 'tools/list':
      return reply({ result: { tools: [{ name: 'status', inputSchema: { type: 'object' } }] } });
    default:
      return request.id === undefined ? undefined : reply({ error: { code: -32601, message: 'Method not found' } });
  }
}

/**
 * A Streamable HTTP endpoint at /mcp written by hand: each POSTed JSON-RPC request is answered by `script[method]`
 * (or ordinaryAnswer), notifications with 202, GET with 405.
 */
export async function startScriptedMcpServer(script: Record<string, (request: ScriptedRequest) => ScriptedAnswer>): Promise<RunningServer> {
  const running = await startHttpServer((req, res) => {
    if (req.method !== 'POST') return void res.writeHead(req.method === 'GET' ? 405 : 200).end();
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const request = JSON.parse(body) as ScriptedRequest;
      const answer = script[request.method]?.(request) ?? ordinaryAnswer(request);
      if (!answer) return void res.writeHead(202).end();
      if ('hold' in answer) return;
      if ('events' in answer) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const data of answer.events) res.write(`event: message\ndata: ${data}\n\n`);
        if (answer.endStream !== false) res.end();
        return;
      }
      if ('raw' in answer) return void res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType }).end(answer.raw);
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(answer.json));
    });
  });
  return { ...running, url: `${running.origin}/mcp` };
}
