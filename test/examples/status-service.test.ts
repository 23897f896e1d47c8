import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { generate } from 'selfsigned';
import { httpRequest } from '../../packages/checks/http-client.js';
import { statusServices } from '../support/status-service.js';
import { startStatusService } from '../../examples/status-service/server.js';

const service = statusServices();

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
  ms: number;
}

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown>, ms: performance.now() - started };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

async function mcpClient(url: string, token?: string, mode: 'auto' | 'legacy' = 'auto'): Promise<Client> {
  const client = new Client({ name: 'status-service-test', version: '0.0.0' }, { versionNegotiation: { mode } });
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  await client.connect(new StreamableHTTPClientTransport(new URL(url), headers ? { requestInit: { headers } } : {}));
  return client;
}

describe('status service REST endpoints', () => {
  it('answers /health with ok and its version', async () => {
    const svc = await service({ version: '2.3.4' });
    const res = await call(`${svc.url}/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ status: 'ok', version: '2.3.4' });
  });

  it('answers /ready with 503 during its startup delay and 200 afterwards', async () => {
    let now = 1_000_000;
    const svc = await service({ startupDelayMs: 5_000, now: () => now });
    const early = await call(`${svc.url}/ready`);
    expect(early.status).toBe(503);
    expect(early.json()).toMatchObject({ status: 'not ready', reasons: ['starting up (5 s left)'] });
    now += 5_000;
    expect((await call(`${svc.url}/ready`)).status).toBe(200);
  });

  it('answers /ready with 503 while the dependency is down, naming why', async () => {
    const svc = await service({ switches: { dependencyDown: true } });
    const res = await call(`${svc.url}/ready`);
    expect(res.status).toBe(503);
    expect(res.json().reasons).toEqual(['dependency down']);
  });

  it('describes itself at /api/v1/status: version, uptime, dependency, breaker and request counts', async () => {
    const svc = await service({ version: '1.4.0', breaker: { failures: 4, halfOpenAfterMs: 1_500 } });
    await call(`${svc.url}/health`);
    const doc = (await call(`${svc.url}/api/v1/status`)).json();
    expect(doc).toMatchObject({
      service: 'status-service',
      version: '1.4.0',
      ready: true,
      dependency: { state: 'up', timeout_ms: 2000 },
      breaker: { state: 'closed', failures_to_open: 4, half_open_after_ms: 1500 },
      requests: { total: 1, errors: 0, by_route: { '/health': 1 } },
    });
    expect(typeof doc.uptime_s).toBe('number');
  });

  it('answers an unknown path with 404 and a wrong method with 405 and Allow', async () => {
    const svc = await service();
    expect((await call(`${svc.url}/nope`)).status).toBe(404);
    const res = await call(`${svc.url}/health`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('status service metrics', () => {
  it('serves the Prometheus text format with a version label on every series', async () => {
    const svc = await service({ version: '9.8.7' });
    await call(`${svc.url}/health`);
    await call(`${svc.url}/nope`);
    const res = await call(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text.endsWith('\n')).toBe(true);

    const samples = res.text.split('\n').filter((line) => line && !line.startsWith('#'));
    expect(samples.length).toBeGreaterThan(10);
    for (const line of samples) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)+\} (?:-?[0-9.e+-]+|\+Inf|NaN)$/);
      expect(line).toContain('version="9.8.7"');
    }
    expect(res.text).toContain('http_requests_total{version="9.8.7",route="/health",code="200"} 1');
    expect(res.text).toContain('http_requests_total{version="9.8.7",route="other",code="404"} 1');
    expect(res.text).toContain('rollgate_example_breaker_state{version="9.8.7"} 0');
    expect(res.text).toContain('rollgate_example_up{version="9.8.7"} 1');
    // Every family is announced once with HELP and TYPE.
    for (const family of ['http_requests_total counter', 'http_request_duration_seconds histogram', 'rollgate_example_breaker_state gauge']) {
      expect(res.text.split('\n').filter((line) => line === `# TYPE ${family}`)).toHaveLength(1);
    }
  });

  it('writes histogram buckets that are cumulative and end in +Inf equal to the count', async () => {
    const svc = await service({ switches: { latencyMs: 30 } });
    for (let i = 0; i < 3; i++) await call(`${svc.url}/health`);
    const text = (await call(`${svc.url}/metrics`)).text;
    const buckets = [...text.matchAll(/^http_request_duration_seconds_bucket\{version="1\.0\.0",route="\/health",le="([^"]+)"\} (\d+)$/gm)];
    const counts = buckets.map((m) => Number(m[2]));
    expect(buckets.map((m) => m[1])).toEqual(['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    // 30 ms of added latency: nothing in the buckets up to 25 ms.
    expect(counts.slice(0, 3)).toEqual([0, 0, 0]);
    expect(counts.at(-1)).toBe(3);
    expect(text).toMatch(/^http_request_duration_seconds_count\{version="1\.0\.0",route="\/health"\} 3$/m);
    expect(Number(/^http_request_duration_seconds_sum\{version="1\.0\.0",route="\/health"\} (\S+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(0.09);
  });

  it('escapes quotes, backslashes and line feeds in label values', async () => {
    const svc = await service({ version: 'v"1\\2\n3' });
    const text = (await call(`${svc.url}/metrics`)).text;
    expect(text).toContain('rollgate_example_up{version="v\\"1\\\\2\\n3"} 1');
  });
});

describe('status service bearer auth', () => {
  const token = 'tok-7f3a9c';

  it('refuses /api/v1/status without a token and with a wrong one, and accepts the right one', async () => {
    const svc = await service({ token });
    const none = await call(`${svc.url}/api/v1/status`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    const wrong = await call(`${svc.url}/api/v1/status`, { headers: { Authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    const right = await call(`${svc.url}/api/v1/status`, { headers: { Authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
  });

  it('keeps /health, /ready and /metrics open when a token is set', async () => {
    const svc = await service({ token });
    for (const path of ['/health', '/ready', '/metrics']) expect((await call(`${svc.url}${path}`)).status).toBe(200);
  });

  it('answers /mcp without a token with 401 and a WWW-Authenticate naming the resource metadata', async () => {
    const svc = await service({ token });
    const res = await post(svc.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'ping' }, { accept: 'application/json, text/event-stream' });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain(`resource_metadata="${svc.url}/.well-known/oauth-protected-resource/mcp"`);
    const wrong = await post(svc.mcpUrl, { jsonrpc: '2.0', id: 1, method: 'ping' }, { authorization: 'Bearer wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('resource_metadata=');
  });

  it('serves the protected-resource metadata document naming the MCP endpoint', async () => {
    const svc = await service({ token, authorizationServers: ['https://auth.example.com'] });
    const res = await call(`${svc.url}/.well-known/oauth-protected-resource/mcp`);
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({
      resource: svc.mcpUrl,
      authorization_servers: ['https://auth.example.com'],
      bearer_methods_supported: ['header'],
      resource_name: 'status-service',
    });
    expect((await call(`${svc.url}/.well-known/oauth-protected-resource`)).json().resource).toBe(svc.mcpUrl);
  });

  it('serves no protected-resource metadata when it runs without a token', async () => {
    const svc = await service();
    expect((await call(`${svc.url}/.well-known/oauth-protected-resource/mcp`)).status).toBe(404);
  });

  it('protects the admin routes only when an admin token is set', async () => {
    const open = await service();
    expect((await call(`${open.url}/admin/faults`)).status).toBe(200);
    const guarded = await service({ adminToken: 'adm-1234' });
    expect((await call(`${guarded.url}/admin/faults`)).status).toBe(401);
    expect((await post(`${guarded.url}/admin/faults`, { latencyMs: 5 }, { authorization: 'Bearer adm-1234' })).status).toBe(200);
  });
});

describe('status service MCP endpoint', () => {
  it('serves get_status, a resource and a prompt to a 2026-07-28 client through the bearer token', async () => {
    const svc = await service({ token: 'mcp-token', version: '1.2.3' });
    const client = await mcpClient(svc.mcpUrl, 'mcp-token');
    try {
      expect(client.getNegotiatedProtocolVersion()).toBe('2026-07-28');
      expect(client.getServerVersion()).toMatchObject({ name: 'status-service', version: '1.2.3' });
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(['get_status']);
      expect(tools[0]!.inputSchema).toMatchObject({ type: 'object', properties: { verbose: { type: 'boolean' } } });
      const result = await client.callTool({ name: 'get_status', arguments: { verbose: true } });
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent).toMatchObject({ status: 'ok', version: '1.2.3', breaker: 'closed' });
      expect(result.content).toEqual([{ type: 'text', text: 'status-service 1.2.3 is ok' }]);
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['status://current']);
      const read = await client.readResource({ uri: 'status://current' });
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ service: 'status-service', version: '1.2.3' });
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['diagnose_status']);
    } finally {
      await client.close();
    }
  });

  it('serves 2025-era clients through the initialize handshake too', async () => {
    const svc = await service();
    const client = await mcpClient(svc.mcpUrl, undefined, 'legacy');
    try {
      expect(client.getNegotiatedProtocolVersion()).toMatch(/^2025-/);
      const result = await client.callTool({ name: 'get_status', arguments: {} });
      expect(result.structuredContent).toEqual({ status: 'ok', version: '1.0.0' });
    } finally {
      await client.close();
    }
  });

  it('lists the tools recorded in the example snapshot file', async () => {
    const svc = await service();
    const client = await mcpClient(svc.mcpUrl);
    try {
      const { tools } = await client.listTools();
      const snapshot = JSON.parse(readFileSync(new URL('../../examples/status-service/tools.snapshot.json', import.meta.url), 'utf8')) as unknown[];
      expect(tools.map((t) => ({ name: t.name, inputSchema: t.inputSchema }))).toEqual(snapshot);
    } finally {
      await client.close();
    }
  });

  it('reports a tool error from get_status while the breaker is open', async () => {
    const svc = await service({ dependencyTimeoutMs: 100, breaker: { failures: 1, halfOpenAfterMs: 10_000 }, switches: { dependencyDown: true } });
    const client = await mcpClient(svc.mcpUrl);
    try {
      const first = await client.callTool({ name: 'get_status', arguments: {} });
      expect(first.isError).toBe(true);
      expect(first.content).toEqual([{ type: 'text', text: 'dependency unavailable: the dependency did not answer in time (breaker open)' }]);
      const started = performance.now();
      const second = await client.callTool({ name: 'get_status', arguments: {} });
      expect(performance.now() - started).toBeLessThan(100);
      expect(second.content).toEqual([{ type: 'text', text: 'dependency unavailable: the circuit breaker is open (breaker open)' }]);
      expect(second.structuredContent).toMatchObject({ status: 'degraded', breaker: 'open' });
    } finally {
      await client.close();
    }
  });

  it('answers 500 while the mcpBroken switch is on, and a body that is not JSON-RPC in garbage mode', async () => {
    const svc = await service({ switches: { mcpBroken: true } });
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const accept = { accept: 'application/json, text/event-stream' };
    expect((await post(svc.mcpUrl, ping, accept)).status).toBe(500);
    svc.setSwitches({ mcpBroken: 'garbage' });
    const garbage = await post(svc.mcpUrl, ping, accept);
    expect(garbage.status).toBe(200);
    expect(() => JSON.parse(garbage.text)).toThrow();
    svc.setSwitches({ mcpBroken: false });
    expect((await post(svc.mcpUrl, ping, accept)).status).toBe(200);
  });
});

describe('status service fault switches', () => {
  it('sets switches with POST /admin/faults, reads them with GET and resets them with DELETE', async () => {
    const svc = await service({ switches: { latencyMs: 10 } });
    const admin = `${svc.url}/admin/faults`;
    expect((await call(admin)).json()).toEqual({ latencyMs: 10, errorRate: 0, dependencyDown: false, mcpBroken: false });
    const set = await post(admin, { errorRate: 0.25, dependencyDown: true });
    expect(set.json()).toEqual({ latencyMs: 10, errorRate: 0.25, dependencyDown: true, mcpBroken: false });
    expect(svc.switches()).toEqual(set.json());
    expect((await call(admin, { method: 'DELETE' })).json()).toEqual({ latencyMs: 0, errorRate: 0, dependencyDown: false, mcpBroken: false });
  });

  it('refuses a switch body with unknown keys or values out of range, listing every problem', async () => {
    const svc = await service();
    const res = await post(`${svc.url}/admin/faults`, { errorRate: 2, dependencyDwn: true });
    expect(res.status).toBe(400);
    expect(res.json().problems).toEqual(['errorRate: Too big: expected number to be <=1', '(body): Unrecognized key: "dependencyDwn"']);
    const notJson = await call(`${svc.url}/admin/faults`, { method: 'POST', body: 'latency=5' });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error).toBe('body is not JSON');
  });

  it('adds the configured latency to service routes but not to /metrics or the admin routes', async () => {
    const svc = await service({ switches: { latencyMs: 150 } });
    expect((await call(`${svc.url}/health`)).ms).toBeGreaterThanOrEqual(145);
    expect((await call(`${svc.url}/metrics`)).ms).toBeLessThan(145);
    expect((await call(`${svc.url}/admin/faults`)).ms).toBeLessThan(145);
  });

  it('answers the same requests with 500 for the same seed and error rate', async () => {
    const pattern = async () => {
      const svc = await service({ seed: 42, switches: { errorRate: 0.5 } });
      const codes: number[] = [];
      for (let i = 0; i < 20; i++) codes.push((await call(`${svc.url}/health`)).status);
      return codes;
    };
    const first = await pattern();
    expect(await pattern()).toEqual(first);
    expect(first).toContain(500);
    expect(first).toContain(200);
  });

  it('answers every service request with 500 at error rate 1, while /metrics keeps working', async () => {
    const svc = await service({ switches: { errorRate: 1 } });
    const res = await call(`${svc.url}/health`);
    expect(res.status).toBe(500);
    expect(res.json()).toEqual({ error: 'injected failure', switch: 'errorRate', errorRate: 1 });
    expect((await call(`${svc.url}/metrics`)).status).toBe(200);
  });
});

describe('status service circuit breaker', () => {
  it('fails slowly until the breaker opens, then fast with 503, and recovers after the half-open delay', async () => {
    const svc = await service({ dependencyTimeoutMs: 150, breaker: { failures: 2, halfOpenAfterMs: 300 } });
    const dep = `${svc.url}/api/v1/dependency`;
    expect((await call(dep)).json()).toMatchObject({ dependency: 'ok', breaker: 'closed' });

    svc.setSwitches({ dependencyDown: true });
    const slow = [await call(dep), await call(dep)];
    for (const res of slow) {
      expect(res.status).toBe(504);
      expect(res.ms).toBeGreaterThanOrEqual(140);
    }
    const fast = await call(dep);
    expect(fast.status).toBe(503);
    expect(fast.json()).toEqual({ error: 'dependency unavailable', breaker: 'open' });
    expect(fast.ms).toBeLessThan(100);
    expect(svc.breakerState()).toBe('open');
    expect((await call(`${svc.url}/metrics`)).text).toContain('rollgate_example_breaker_state{version="1.0.0"} 1');

    svc.setSwitches({ dependencyDown: false });
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect((await call(dep)).status).toBe(200);
    expect(svc.breakerState()).toBe('closed');
  });

  it('without a breaker every call fails slowly with 504', async () => {
    const svc = await service({ dependencyTimeoutMs: 120, breaker: false, switches: { dependencyDown: true } });
    for (let i = 0; i < 4; i++) {
      const res = await call(`${svc.url}/api/v1/dependency`);
      expect(res.status).toBe(504);
      expect(res.ms).toBeGreaterThanOrEqual(110);
    }
    expect(svc.breakerState()).toBe('disabled');
  });
});

describe('status service lifecycle', () => {
  it('closes promptly while a dependency call hangs, answering it with 503', async () => {
    const svc = await startStatusService({ dependencyTimeoutMs: 10_000, switches: { dependencyDown: true } });
    const hung = call(`${svc.url}/api/v1/dependency`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await svc.close();
    expect(performance.now() - started).toBeLessThan(500);
    expect((await hung).status).toBe(503);
  });

  it('serves HTTPS on an extra port with the given certificate', async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    const svc = await service({ tls: { cert: pems.cert, key: pems.private, port: 0 } });
    expect(svc.tlsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const timeouts = { connect: 2_000, firstByte: 2_000, total: 2_000 };
    const res = await httpRequest({ url: `${svc.tlsUrl}/health`, timeouts, ca: pems.cert });
    expect(res.status).toBe(200);
    expect((await call(`${svc.url}/health`)).status).toBe(200);
  });
});
