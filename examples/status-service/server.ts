/**
 * The example status service: a small HTTP service with REST health endpoints, an MCP endpoint, Prometheus metrics,
 * optional bearer auth, a circuit breaker around a simulated dependency, and fault switches. The demo, the tests and
 * the docs run it; tests start it in-process with `startStatusService({ port: 0 })`.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import { setMaxListeners } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/server';
import { localhostHostValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { PRM_PREFIX, StaticBearer, protectedResourceMetadata } from './auth.js';
import { GuardedDependency, type BreakerSettings, type BreakerStateName } from './dependency.js';
import { createStatusMcpHandler } from './mcp.js';
import { METRICS_CONTENT_TYPE, ServiceMetrics } from './metrics.js';
import { SwitchesPatch, applyPatch, describePatchProblems, noFaults, seededRandom, type Switches } from './switches.js';

export type { Switches, SwitchesPatch } from './switches.js';
export type { BreakerSettings, BreakerStateName } from './dependency.js';

export interface StatusServiceOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on (default 127.0.0.1: the admin routes are meant for loopback). */
  host?: string;
  /** Reported by /health, /api/v1/status, the MCP server info and the `version` label of every metric (default 1.0.0). */
  version?: string;
  serviceName?: string;
  /** When set, /api/v1/status and /mcp require `Authorization: Bearer <token>`. */
  token?: string;
  /** When set, the /admin routes require `Authorization: Bearer <adminToken>`; otherwise they are open. */
  adminToken?: string;
  /**
   * HTTPS with this certificate and key (PEM). Without `port` the service speaks HTTPS instead of HTTP on `port`;
   * with it, the service also listens for HTTPS on `tls.port` (0 picks a free one) next to plain HTTP.
   */
  tls?: { cert: string; key: string; port?: number };
  /** Circuit breaker around the dependency; `false` calls it unguarded (every failing call is slow). */
  breaker?: BreakerSettings | false;
  /** How long a dependency call waits before giving up (default 2000 ms). */
  dependencyTimeoutMs?: number;
  /** How long the healthy dependency takes (default 2 ms). */
  dependencyLatencyMs?: number;
  /** /ready answers 503 for this long after start (default 0). */
  startupDelayMs?: number;
  /** Faults switched on from the start. */
  switches?: Partial<Switches>;
  /** Seed for the error-rate draws, so a test sees the same requests fail every run. Without it: Math.random. */
  seed?: number;
  /** `authorization_servers` of the protected-resource metadata (default: the service's own origin, a placeholder). */
  authorizationServers?: string[];
  /** Wall clock for uptime (tests may pass their own). */
  now?: () => number;
  /** Receives one line per notable event (start, switch changes, breaker changes). Silent by default. */
  log?: (line: string) => void;
}

export interface StatusService {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  port: number;
  /** The extra HTTPS listener's base URL, when `tls.port` was given. */
  tlsUrl?: string;
  /** The MCP endpoint, `${url}/mcp`. */
  mcpUrl: string;
  /** Changes switches in place (like POST /admin/faults) and returns the new set. */
  setSwitches(patch: SwitchesPatch): Switches;
  switches(): Switches;
  breakerState(): BreakerStateName;
  /** Stops accepting, ends hung dependency calls, and resolves once every connection is closed. */
  close(): Promise<void>;
}

const SERVICE_ROUTES = new Set(['/health', '/ready', '/api/v1/status', '/api/v1/dependency', '/mcp']);
const ROUTE_LABELS = new Set([...SERVICE_ROUTES, '/metrics', '/admin/faults', PRM_PREFIX, `${PRM_PREFIX}/mcp`]);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const BREAKER_GAUGE: Record<BreakerStateName, number> = { closed: 0, open: 1, 'half-open': 2, disabled: -1 };

export async function startStatusService(options: StatusServiceOptions = {}): Promise<StatusService> {
  const version = options.version ?? '1.0.0';
  const serviceName = options.serviceName ?? 'status-service';
  const host = options.host ?? '127.0.0.1';
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const random = options.seed === undefined ? Math.random : seededRandom(options.seed);
  const startedAt = now();
  const startupDelayMs = options.startupDelayMs ?? 0;
  const dependencyTimeoutMs = options.dependencyTimeoutMs ?? 2_000;
  const breakerSettings = options.breaker ?? {};
  const stopping = new AbortController();
  // Every request in flight listens for shutdown; a busy service has more than the default 10 listeners.
  setMaxListeners(0, stopping.signal);
  let switches: Switches = { ...noFaults, ...options.switches };

  const metrics = new ServiceMetrics(version);
  const dependency = new GuardedDependency({
    breaker: breakerSettings,
    timeoutMs: dependencyTimeoutMs,
    latencyMs: options.dependencyLatencyMs ?? 2,
    isDown: () => switches.dependencyDown,
  });
  const apiBearer = options.token ? new StaticBearer(options.token) : undefined;
  const adminBearer = options.adminToken ? new StaticBearer(options.adminToken) : undefined;
  const validateHost = LOOPBACK.has(host) ? localhostHostValidation() : undefined;

  const readiness = () => {
    const reasons: string[] = [];
    const left = startedAt + startupDelayMs - now();
    if (left > 0) reasons.push(`starting up (${Math.ceil(left / 1000)} s left)`);
    if (switches.dependencyDown) reasons.push('dependency down');
    return { ready: reasons.length === 0, reasons };
  };

  const statusDocument = (): Record<string, unknown> => {
    const { ready, reasons } = readiness();
    return {
      service: serviceName,
      version,
      uptime_s: Math.round((now() - startedAt) / 100) / 10,
      ready,
      ...(reasons.length ? { not_ready_because: reasons } : {}),
      dependency: { state: switches.dependencyDown ? 'down' : 'up', timeout_ms: dependencyTimeoutMs },
      breaker:
        breakerSettings === false
          ? { state: 'disabled' }
          : {
              state: dependency.breakerState,
              failures_to_open: breakerSettings.failures ?? 3,
              half_open_after_ms: breakerSettings.halfOpenAfterMs ?? 5_000,
            },
      requests: { ...metrics.totals(), by_route: metrics.countsByRoute() },
      switches,
    };
  };

  let lastBreakerState = dependency.breakerState;
  const callDependency = async () => {
    const outcome = await dependency.call();
    if (outcome.breaker !== lastBreakerState) {
      log(`circuit breaker ${lastBreakerState} -> ${outcome.breaker}`);
      lastBreakerState = outcome.breaker;
    }
    return outcome;
  };

  const mcpHandler = createStatusMcpHandler({ serviceName, version, callDependency, statusDocument }, (error) =>
    log(`mcp: ${error.message}`),
  );
  const serveMcp = toNodeHandler(mcpHandler, { onerror: (error) => log(`mcp adapter: ${error.message}`) });
  /** The origin the client dialed (so the metadata names the URL it actually uses). */
  const originOf = (req: IncomingMessage) => {
    const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
    return `${scheme}://${req.headers.host ?? `${host}:${(req.socket.localPort ?? 0)}`}`;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const path = new URL(req.url ?? '/', 'http://placeholder').pathname;
    const route = ROUTE_LABELS.has(path) ? path : 'other';
    const method = req.method ?? 'GET';
    res.once('finish', () => metrics.observe(route, res.statusCode, (performance.now() - started) / 1000));
    // A request still running when the service closes answers with `Connection: close`, so close() need not wait.
    const onStop = () => {
      if (!res.headersSent) res.setHeader('connection', 'close');
    };
    stopping.signal.addEventListener('abort', onStop, { once: true });
    res.once('close', () => stopping.signal.removeEventListener('abort', onStop));

    if (path === '/admin/faults') return admin(req, res, method);
    if (path === '/metrics') {
      if (!allow(res, method, ['GET', 'HEAD'])) return;
      const { ready } = readiness();
      const body = metrics.render({
        breakerState: BREAKER_GAUGE[dependency.breakerState],
        up: 1,
        dependencyUp: switches.dependencyDown ? 0 : 1,
        ready: ready ? 1 : 0,
        uptimeSeconds: Math.round((now() - startedAt) / 1000),
      });
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    if (path === PRM_PREFIX || path === `${PRM_PREFIX}/mcp`) {
      if (!apiBearer) return sendJson(res, 404, { error: 'not found', detail: 'the service runs without a token, so nothing is protected' });
      if (!allow(res, method, ['GET', 'HEAD'])) return;
      const servers = options.authorizationServers ?? [originOf(req)];
      return sendJson(res, 200, protectedResourceMetadata(`${originOf(req)}/mcp`, servers, serviceName));
    }
    if (!SERVICE_ROUTES.has(path)) return sendJson(res, 404, { error: 'not found', path });

    // Faults apply to the service routes only, so observers (/metrics) and operators (/admin) keep working.
    if (switches.latencyMs > 0) {
      try {
        await sleep(switches.latencyMs, undefined, { signal: stopping.signal });
      } catch {
        return sendJson(res, 503, { error: 'shutting down' });
      }
    }
    if (switches.errorRate > 0 && random() < switches.errorRate) {
      return sendJson(res, 500, { error: 'injected failure', switch: 'errorRate', errorRate: switches.errorRate });
    }

    switch (path) {
      case '/health':
        if (!allow(res, method, ['GET', 'HEAD'])) return;
        return sendJson(res, 200, { status: 'ok', version });
      case '/ready': {
        if (!allow(res, method, ['GET', 'HEAD'])) return;
        const { ready, reasons } = readiness();
        return sendJson(res, ready ? 200 : 503, ready ? { status: 'ready', version } : { status: 'not ready', version, reasons });
      }
      case '/api/v1/status':
        if (!allow(res, method, ['GET', 'HEAD'])) return;
        if (!(await authorized(req, res))) return;
        return sendJson(res, 200, statusDocument());
      case '/api/v1/dependency': {
        if (!allow(res, method, ['GET', 'HEAD'])) return;
        const outcome = await callDependency();
        const latency_ms = Math.round(outcome.latencyMs * 10) / 10;
        if (outcome.ok) return sendJson(res, 200, { dependency: 'ok', latency_ms, breaker: outcome.breaker });
        if (outcome.reason === 'breaker-open') return sendJson(res, 503, { error: 'dependency unavailable', breaker: 'open' });
        if (outcome.reason === 'stopped') return sendJson(res, 503, { error: 'shutting down' });
        return sendJson(res, 504, { error: 'dependency timed out', timeout_ms: dependencyTimeoutMs, breaker: outcome.breaker });
      }
      case '/mcp':
        return mcp(req, res);
    }
  };

  const mcp = async (req: IncomingMessage, res: ServerResponse) => {
    if (validateHost && !validateHost(req, res)) return;
    let auth;
    if (apiBearer) {
      const resourceMetadataUrl = getOAuthProtectedResourceMetadataUrl(new URL(`${originOf(req)}/mcp`));
      const decision = await apiBearer.check(req.headers.authorization, resourceMetadataUrl);
      if (!decision.ok) return refuse(res, decision);
      auth = decision.info;
    }
    if (switches.mcpBroken === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>this is not JSON-RPC {"jsonrpc":');
      return;
    }
    if (switches.mcpBroken) {
      return sendJson(res, 500, { error: 'MCP endpoint broken', switch: 'mcpBroken' });
    }
    await serveMcp(Object.assign(req, auth ? { auth } : {}), res);
  };

  const authorized = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (!apiBearer) return true;
    const decision = await apiBearer.check(req.headers.authorization);
    if (!decision.ok) refuse(res, decision);
    return decision.ok;
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, method: string) => {
    if (!allow(res, method, ['GET', 'POST', 'DELETE'])) return;
    if (adminBearer) {
      const decision = await adminBearer.check(req.headers.authorization);
      if (!decision.ok) return refuse(res, decision);
    }
    if (method === 'GET') return sendJson(res, 200, switches);
    if (method === 'DELETE') {
      switches = { ...noFaults };
      log('faults reset');
      return sendJson(res, 200, switches);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await readBody(req, 16 * 1024));
    } catch (error) {
      return sendJson(res, 400, {
        error: 'body is not JSON',
        detail: error instanceof Error ? error.message : String(error),
        expected: '{"latencyMs": 0, "errorRate": 0, "dependencyDown": false, "mcpBroken": false} (any subset)',
      });
    }
    const patch = SwitchesPatch.safeParse(raw);
    if (!patch.success) {
      return sendJson(res, 400, { error: 'invalid switches', problems: describePatchProblems(patch.error) });
    }
    switches = applyPatch(switches, patch.data);
    log(`switches: ${JSON.stringify(switches)}`);
    return sendJson(res, 200, switches);
  };

  // Requests in flight per connection, so close() can end idle connections at once, including ones a client
  // opened but never used (Node's closeIdleConnections leaves those until they time out).
  const inFlight = new Map<Socket, number>();
  const onConnection = (socket: Socket) => {
    if (stopping.signal.aborted) return void socket.destroy();
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  };
  const destroyIdle = () => {
    for (const [socket, count] of inFlight) if (count === 0) socket.destroy();
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      if (!inFlight.has(socket)) return;
      inFlight.set(socket, inFlight.get(socket)! - 1);
      if (stopping.signal.aborted) destroyIdle();
    });
    handle(req, res).catch((error: unknown) => {
      log(`request failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };

  const tls = options.tls;
  const servers: Server[] = [];
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const listen = async (server: Server, wanted: number, scheme: string) => {
    servers.push(server);
    server.on(server instanceof HttpsServer ? 'secureConnection' : 'connection', onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    return { port: bound, url: `${scheme}://${urlHost}:${bound}` };
  };
  const httpsServer = () => createHttpsServer({ cert: tls!.cert, key: tls!.key }, onRequest);
  let main: { port: number; url: string };
  let tlsUrl: string | undefined;
  try {
    main = tls && tls.port === undefined ? await listen(httpsServer(), options.port ?? 0, 'https') : await listen(createHttpServer(onRequest), options.port ?? 0, 'http');
    if (tls && tls.port !== undefined) tlsUrl = (await listen(httpsServer(), tls.port, 'https')).url;
  } catch (error) {
    for (const server of servers) server.close();
    dependency.stop();
    await mcpHandler.close().catch(() => undefined);
    throw error;
  }
  const { port, url } = main;
  log(`${serviceName} ${version} listening on ${url}${tlsUrl ? ` and ${tlsUrl}` : ''} (mcp: ${url}/mcp${apiBearer ? ', bearer token required' : ''})`);

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    ...(tlsUrl ? { tlsUrl } : {}),
    mcpUrl: `${url}/mcp`,
    setSwitches(patch) {
      switches = applyPatch(switches, SwitchesPatch.parse(patch));
      return { ...switches };
    },
    switches: () => ({ ...switches }),
    breakerState: () => dependency.breakerState,
    close() {
      closing ??= (async () => {
        stopping.abort();
        dependency.stop();
        const closed = servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())));
        destroyIdle();
        await mcpHandler.close().catch(() => undefined);
        // Connections still busy after a grace period (an SSE stream, a slow client) are cut.
        const force = setTimeout(() => servers.forEach((server) => server.closeAllConnections()), 1_000);
        await Promise.all(closed);
        clearTimeout(force);
      })();
      return closing;
    },
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body)}\n`);
}

function allow(res: ServerResponse, method: string, methods: string[]): boolean {
  if (methods.includes(method)) return true;
  res.setHeader('allow', methods.join(', '));
  sendJson(res, 405, { error: `method ${method} not allowed`, allowed: methods });
  return false;
}

function refuse(res: ServerResponse, decision: { status: number; headers: Record<string, string>; body: string }): void {
  res.writeHead(decision.status, { ...decision.headers, 'cache-control': 'no-store' });
  res.end(decision.body);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is drained and dropped, so the 400 still reaches the client.
      if (size > limit) reject(new Error(`body larger than ${limit} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
