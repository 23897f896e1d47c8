import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { McpCheckSpec } from '../../packages/config/schema.js';
import { systemClock, type AttemptContext, type ResolvedTimeouts } from '../../packages/checks/model.js';
import { recordToolSnapshot, runMcpCheck } from '../../packages/checks/kinds/mcp.js';
import {
  bearerGuard,
  closedPort,
  defaultFixture,
  everythingServer,
  isProcessRunning,
  pidsIn,
  startHttpServer,
  startLegacyMcpServer,
  startModernMcpServer,
  startScriptedMcpServer,
  stdioFixtureServer,
  type McpFixture,
  type RunningServer,
  type ScriptedAnswer,
  type ScriptedRequest,
} from '../support/mcp-servers.js';
import { selfSignedCertificate } from '../support/servers.js';

const quiet = { debug: () => undefined, info: () => undefined, warning: () => undefined };
let workDir: string;

function context(timeouts: Partial<ResolvedTimeouts> = {}, signal = new AbortController().signal): AttemptContext {
  return { signal, timeouts: { connect: 2000, firstByte: 5000, total: 10_000, ...timeouts }, log: quiet, clock: systemClock, baseDir: workDir };
}

function check(fields: Partial<McpCheckSpec>): McpCheckSpec {
  return { name: 'mcp', type: 'mcp', ...fields } as McpCheckSpec;
}

function failedMessages(result: Awaited<ReturnType<typeof runMcpCheck>>): string {
  return result.assertions.filter((a) => !a.passed).map((a) => a.message).join('\n');
}

/** Runs `work` and collects everything written to the console, stdout or stderr meanwhile. */
async function consoleOutput<T>(work: () => Promise<T>): Promise<{ result: T; printed: string[] }> {
  const printed: string[] = [];
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const saved = methods.map((name) => console[name]);
  const writes = [process.stdout.write, process.stderr.write];
  for (const name of methods) console[name] = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  const capture = (chunk: unknown) => (printed.push(String(chunk)), true);
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    return { result: await work(), printed };
  } finally {
    methods.forEach((name, index) => (console[name] = saved[index]!));
    [process.stdout.write, process.stderr.write] = writes as [typeof process.stdout.write, typeof process.stderr.write];
  }
}

const servers: RunningServer[] = [];
async function serve<T extends RunningServer>(started: Promise<T>): Promise<T> {
  const server = await started;
  servers.push(server);
  return server;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'rollgate-mcp-'));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await rm(workDir, { recursive: true, force: true });
});

describe('mcp check: protocol revisions over Streamable HTTP', () => {
  it('reports the 2026-07-28 revision, server identity, capabilities and lists of a v2 server', async () => {
    const server = await serve(startModernMcpServer());
    const result = await runMcpCheck(check({ url: server.url }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({
      transport: 'streamable-http',
      negotiatedProtocolVersion: '2026-07-28',
      serverName: 'fixture-server',
      serverVersion: '1.4.2',
      tools: ['status', 'echo', 'broken'],
      resources: ['config://app'],
      prompts: ['summarize'],
    });
    expect(result.details?.capabilities).toEqual(expect.arrayContaining(['tools', 'resources', 'prompts']));
    expect(result.measurements).toMatchObject({ tools_count: 3 });
    for (const name of ['connect_ms', 'rtt_ms', 'latency_ms']) expect(result.measurements[name]).toBeGreaterThanOrEqual(0);
  });

  it('negotiates the 2025-era revision with a v1 server that only knows the initialize handshake', async () => {
    const server = await serve(startLegacyMcpServer());
    const result = await runMcpCheck(check({ url: server.url }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details?.negotiatedProtocolVersion).toMatch(/^2025-/);
    expect(result.details).toMatchObject({ transport: 'streamable-http', protocolEra: 'legacy', serverName: 'fixture-server' });
    expect(result.measurements.rtt_ms).toBeGreaterThanOrEqual(0);
  });

  it('fails when the negotiated revision is older than minProtocolVersion, naming both', async () => {
    const server = await serve(startLegacyMcpServer({ protocolVersion: '2025-03-26' }));
    const result = await runMcpCheck(check({ url: server.url, expect: { minProtocolVersion: '2025-06-18' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.details?.negotiatedProtocolVersion).toBe('2025-03-26');
    expect(result.message).toContain('2025-03-26 is older than the required 2025-06-18');
  });

  it('passes minProtocolVersion when the server speaks that revision or newer', async () => {
    const server = await serve(startModernMcpServer());
    const result = await runMcpCheck(check({ url: server.url, expect: { minProtocolVersion: '2025-06-18' } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.assertions.find((a) => a.expectation === 'protocol version >= 2025-06-18')).toMatchObject({ passed: true, observed: '2026-07-28' });
  });
});

describe('mcp check: tools, resources, prompts and server name', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await serve(startModernMcpServer());
  });

  it('passes when every required tool, resource and prompt is present', async () => {
    const spec = check({ url: server.url, expect: { serverName: 'fixture-server', tools: ['status', 'echo'], resources: ['config://app'], prompts: ['summarize'] } });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('pass');
    expect(result.assertions.map((a) => a.expectation)).toEqual(
      expect.arrayContaining(['server name is "fixture-server"', 'tools include status, echo', 'resources include config://app', 'prompts include summarize']),
    );
  });

  it('lists exactly the missing tools, resources and prompts', async () => {
    const spec = check({ url: server.url, expect: { tools: ['status', 'search', 'deploy'], resources: ['config://app', 'file:///missing'], prompts: ['triage'] } });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('fail');
    const messages = failedMessages(result);
    expect(messages).toContain('missing tools: search, deploy');
    expect(messages).toContain('missing resources: file:///missing');
    expect(messages).toContain('missing prompts: triage');
    expect(messages).toMatch(/^missing tools: search, deploy \(/m);
  });

  it('says the capability is not advertised when the server has no prompts at all', async () => {
    const noPrompts = await serve(startModernMcpServer({ fixture: { ...defaultFixture, prompts: undefined } }));
    const result = await runMcpCheck(check({ url: noPrompts.url, expect: { prompts: ['summarize'] } }), context());
    expect(result.outcome).toBe('fail');
    expect(failedMessages(result)).toContain('does not advertise the prompts capability');
  });

  it('fails on another server name and shows the one it saw', async () => {
    const result = await runMcpCheck(check({ url: server.url, expect: { serverName: 'status-service' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('server name is "fixture-server", expected "status-service"');
  });
});

describe('mcp check: legacy HTTP+SSE', () => {
  it('falls back from Streamable HTTP to legacy HTTP+SSE when the POST is refused with 4xx', async () => {
    const server = await serve(startLegacyMcpServer({ transport: 'sse', protocolVersion: '2024-11-05' }));
    const result = await runMcpCheck(check({ url: server.url, expect: { tools: ['status'] } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ transport: 'sse', protocolEra: 'legacy', negotiatedProtocolVersion: '2024-11-05' });
    expect(String(result.details?.notes)).toContain('POST (Streamable HTTP) answered 404');
  });

  it('connects straight over SSE when the check says transport: sse', async () => {
    const server = await serve(startLegacyMcpServer({ transport: 'sse' }));
    const result = await runMcpCheck(check({ url: server.url, transport: 'sse' }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details?.transport).toBe('sse');
    expect(server.requests.some((r) => r.method === 'POST' && r.path === '/sse')).toBe(false);
  });

  it('does not fall back when the check insists on streamable-http', async () => {
    const server = await serve(startLegacyMcpServer({ transport: 'sse' }));
    const result = await runMcpCheck(check({ url: server.url, transport: 'streamable-http' }), context());
    expect(result.outcome).toBe('fail');
    expect(result.status).toBe(404);
    expect(result.message).toContain('answered HTTP 404');
  });
});

describe('mcp check: tool drift against a snapshot', () => {
  const changed: McpFixture = {
    ...defaultFixture,
    tools: [
      defaultFixture.tools![0]!,
      { ...defaultFixture.tools![1]!, inputSchema: { type: 'object', properties: { message: { type: 'string' }, loud: { type: 'boolean' } }, required: ['message', 'loud'] } },
      { name: 'search', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } },
    ],
  };

  it('records a snapshot that the same server then matches', async () => {
    const server = await serve(startModernMcpServer());
    const spec = check({ url: server.url, expect: { toolSnapshot: 'snapshots/same.json' } });
    const recorded = await recordToolSnapshot(spec, context());
    expect(recorded.tools).toEqual(['broken', 'echo', 'status']);
    const saved = JSON.parse(await readFile(join(workDir, 'snapshots/same.json'), 'utf8')) as { name: string }[];
    expect(saved.map((t) => t.name)).toEqual(['broken', 'echo', 'status']);
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('pass');
  });

  it('matches a snapshot recorded over another revision: key order and transport do not count', async () => {
    const legacy = await serve(startLegacyMcpServer());
    const modern = await serve(startModernMcpServer());
    await recordToolSnapshot(check({ url: legacy.url }), context(), 'snapshots/cross.json');
    const result = await runMcpCheck(check({ url: modern.url, expect: { toolSnapshot: 'snapshots/cross.json' } }), context());
    expect(result.outcome).toBe('pass');
  });

  it('reports added, removed and changed tools when the server drifts', async () => {
    const before = await serve(startModernMcpServer());
    await recordToolSnapshot(check({ url: before.url }), context(), 'snapshots/drift.json');
    const after = await serve(startModernMcpServer({ fixture: changed }));
    const result = await runMcpCheck(check({ url: after.url, expect: { toolSnapshot: 'snapshots/drift.json' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('removed: broken');
    expect(result.message).toContain('added: search');
    expect(result.message).toContain('echo (property "loud" added, required [message] -> [loud, message])');
    expect(result.message).not.toContain('status (');
  });

  it('fails with instructions to record it when the snapshot file does not exist', async () => {
    const server = await serve(startModernMcpServer());
    const result = await runMcpCheck(check({ name: 'tools', url: server.url, expect: { toolSnapshot: 'snapshots/none.json' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('does not exist');
    expect(result.message).toContain('rollgate mcp-snapshot');
    expect(result.message).toContain('--check "tools"');
  });

  it('fails when the snapshot file is not a list of tools', async () => {
    const server = await serve(startModernMcpServer());
    await writeFile(join(workDir, 'bad-snapshot.json'), '{"tools": []}');
    const result = await runMcpCheck(check({ url: server.url, expect: { toolSnapshot: 'bad-snapshot.json' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('must hold a JSON array');
  });
});

describe('mcp check: tool call', () => {
  let modern: RunningServer;
  let legacy: RunningServer;
  beforeAll(async () => {
    modern = await serve(startModernMcpServer());
    legacy = await serve(startLegacyMcpServer());
  });

  it('passes when the result meets every condition, on both revisions', async () => {
    for (const server of [modern, legacy]) {
      const spec = check({ url: server.url, call: { tool: 'status', arguments: { verbose: true }, expect: ['$.structuredContent.status == "ok"', '$.content[0].text contains "ok"'] } });
      const result = await runMcpCheck(spec, context());
      expect(result.outcome).toBe('pass');
      expect(result.measurements.tool_call_ms).toBeGreaterThanOrEqual(0);
      expect(result.details?.toolCall).toMatchObject({ tool: 'status', ok: true, text: 'status: ok', structuredContent: { status: 'ok', uptime: 42 } });
    }
  });

  it('sends the arguments to the tool', async () => {
    const spec = check({ url: modern.url, call: { tool: 'echo', arguments: { message: 'hello there' }, expect: ['$.content[0].text contains "hello there"'] } });
    expect((await runMcpCheck(spec, context())).outcome).toBe('pass');
  });

  it('fails naming the condition that did not hold and what it saw', async () => {
    const spec = check({ url: modern.url, call: { tool: 'status', expect: ['$.structuredContent.status == "degraded"', '$.structuredContent.uptime > 10'] } });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('fail');
    const failed = result.assertions.filter((a) => !a.passed);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.expectation).toBe('$.structuredContent.status == "degraded"');
    expect(failed[0]!.message).toContain('"ok"');
  });

  it('fails when the tool answers isError: true, quoting its text', async () => {
    const result = await runMcpCheck(check({ url: modern.url, call: { tool: 'broken' } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('tool "broken" returned isError: true: database unreachable');
  });

  it('fails when the tool does not exist, naming the tools the server has', async () => {
    const result = await runMcpCheck(check({ url: modern.url, call: { tool: 'deploy', expect: ['$.content[0].text exists'] } }), context());
    expect(result.outcome).toBe('fail');
    expect(result.message).toMatch(/deploy/);
    expect(result.message).toMatch(/status, echo, broken|isError/);
    expect(result.assertions.filter((a) => !a.passed).length).toBeGreaterThanOrEqual(1);
    expect(result.assertions.some((a) => a.passed && a.expectation === '$.content[0].text exists')).toBe(false);
  });
});

describe('mcp check: failures before any MCP exchange', () => {
  it('reports a server that is down as a connect error', async () => {
    const port = await closedPort();
    const result = await runMcpCheck(check({ url: `http://127.0.0.1:${port}/mcp` }), context());
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('connect');
    expect(result.message).toContain('connection refused');
  });

  it('names the content type when the URL serves a web page instead of JSON-RPC', async () => {
    const page = await serve(startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>welcome</html>')));
    const result = await runMcpCheck(check({ url: `${page.origin}/mcp` }), context());
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('protocol');
    expect(result.message).toContain('answered 200 but not with JSON-RPC');
    expect(result.message).toContain('text/html');
  });

  it('fails on 401 quoting WWW-Authenticate, and never shows the secret header value', async () => {
    const server = await serve(startModernMcpServer({ guard: bearerGuard('right-token-1234') }));
    const spec = check({ url: server.url, headers: { Authorization: { value: 'Bearer wrong-token-5678', secret: true } } });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('fail');
    expect(result.status).toBe(401);
    expect(result.message).toContain('requires authentication (HTTP 401');
    expect(result.message).toContain('resource_metadata=');
    expect(result.message).toContain('credentials in the check headers were refused');
    expect(JSON.stringify(result)).not.toContain('wrong-token-5678');
  });

  it('sends the configured headers on every request', async () => {
    const server = await serve(startModernMcpServer({ guard: bearerGuard('right-token-1234') }));
    const spec = check({ url: server.url, headers: { Authorization: { value: 'Bearer right-token-1234', secret: true } }, call: { tool: 'status' } });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('pass');
    expect(server.requests.every((r) => r.headers.authorization === 'Bearer right-token-1234')).toBe(true);
  });

  it('sends credentials in the URL as Basic auth and keeps them out of every message', async () => {
    const expected = `Basic ${Buffer.from('monitor:s3cret-pw').toString('base64')}`;
    const server = await serve(
      startModernMcpServer({
        guard: (req, res) => (req.headers.authorization === expected ? false : (res.writeHead(403).end(`refused ${req.headers.authorization}`), true)),
      }),
    );
    const withCredentials = server.url.replace('http://', 'http://monitor:s3cret-pw@');
    expect((await runMcpCheck(check({ url: withCredentials }), context())).outcome).toBe('pass');
    const refused = await runMcpCheck(check({ url: withCredentials.replace('s3cret-pw', 'wrong-pw-99') }), context());
    expect(refused.outcome).toBe('fail');
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused)).not.toMatch(/wrong-pw-99|bW9uaXRvcjp3cm9uZy1wdy05OQ/);
  });

  it('trusts a private CA given to the attempt, and names TLS when it is missing', async () => {
    const certificate = await selfSignedCertificate();
    const server = await serve(startModernMcpServer({ tls: certificate }));
    const untrusted = await runMcpCheck(check({ url: server.url }), context());
    expect(untrusted.outcome).toBe('error');
    expect(untrusted.errorKind).toBe('tls');
    expect(untrusted.message).toContain('self-signed certificate');
    const trusted = await runMcpCheck(check({ url: server.url }), { ...context(), ca: certificate.cert });
    expect(trusted.outcome).toBe('pass');
  });

  it('fails saying there is no MCP server when both transports answer 404', async () => {
    const server = await serve(startModernMcpServer());
    const result = await runMcpCheck(check({ url: `${server.origin}/wrong-path` }), context());
    expect(result.outcome).toBe('fail');
    expect(result.status).toBe(404);
    expect(result.message).toContain('no MCP server at this URL');
  });

  it('stops at the total timeout when the server accepts the request but never answers', async () => {
    const silent = await serve(startHttpServer(() => undefined));
    const started = performance.now();
    const result = await runMcpCheck(check({ url: `${silent.origin}/mcp` }), context({ total: 800, firstByte: 5000 }));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('timeout');
    expect(result.message).toContain('total timeout of 800 ms');
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('reports a deadline when the runner aborts the attempt', async () => {
    const silent = await serve(startHttpServer(() => undefined));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('deadline')), 200);
    const result = await runMcpCheck(check({ url: `${silent.origin}/mcp` }), context({}, controller.signal));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('deadline');
  });
});

describe('mcp check: servers that answer garbage', () => {
  const reply = (request: ScriptedRequest, body: Record<string, unknown>): ScriptedAnswer => ({ json: { jsonrpc: '2.0', id: request.id, ...body } });

  it('says in one line that a 200 JSON answer is not JSON-RPC, quoting it, and prints nothing to the console', async () => {
    const server = await serve(startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"hello":1}')));
    const url = `${server.origin}/mcp`;
    const { result, printed } = await consoleOutput(() => runMcpCheck(check({ url }), context()));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('protocol');
    expect(result.message).toBe(`${url}: the server answered 200 with JSON that is not a JSON-RPC response ({"hello":1})`);
    expect(printed).toEqual([]);
  });

  it.each<[string, string, (request: ScriptedRequest) => ScriptedAnswer, string]>([
    ['a JSON array', 'server/discover', () => ({ json: [1, 2, 3] }), 'the server answered 200 with JSON that is not a JSON-RPC response ([1,2,3])'],
    ['a response for another id', 'server/discover', () => ({ json: { jsonrpc: '2.0', id: 999, result: {} } }), 'with a response for id 999, which no request used'],
    ['a body that is not JSON', 'server/discover', () => ({ raw: 'hello <b>world</b>', contentType: 'application/json' }), 'not JSON although it said application/json (hello <b>world</b>)'],
    [
      'an error with a huge message and data',
      'initialize',
      (request) => reply(request, { error: { code: -32000, message: 'database\nunreachable '.repeat(400), data: { dump: 'x'.repeat(100_000) } } }),
      'refused the MCP handshake with JSON-RPC error -32000: database unreachable database',
    ],
  ])('keeps the message to one short line, and fails at once, when the server answers %s', async (_what, method, answer, expected) => {
    const server = await serve(startScriptedMcpServer({ [method]: answer }));
    const started = performance.now();
    const { result, printed } = await consoleOutput(() => runMcpCheck(check({ url: server.url }), context({ total: 4000 })));
    expect(result.outcome).toBe('error');
    expect(result.message).toContain(expected);
    expect(result.message).not.toMatch(/\n/);
    expect(result.message.length).toBeLessThanOrEqual(300);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(printed).toEqual([]);
  });

  it('reports a tools/list result that breaks the MCP schema in one short line', async () => {
    const server = await serve(startScriptedMcpServer({ 'tools/list': (request) => reply(request, { result: { tools: [{ name: 7, inputSchema: 'none' }] } }) }));
    const { result, printed } = await consoleOutput(() => runMcpCheck(check({ url: server.url, expect: { tools: ['status'] } }), context()));
    expect(result.outcome).toBe('fail');
    expect(result.message).toContain('could not list tools: ');
    expect(result.message).not.toMatch(/\n/);
    expect(result.message.length).toBeLessThanOrEqual(300);
    expect(printed).toEqual([]);
  });

  it('fails at once, quoting it, when a response stream carries an event that is not JSON-RPC', async () => {
    const server = await serve(startScriptedMcpServer({ 'tools/list': () => ({ events: ['{"hello":1}'], endStream: false }) }));
    const started = performance.now();
    const result = await runMcpCheck(check({ url: server.url }), context({ total: 4000 }));
    expect(result.outcome).toBe('error');
    expect(result.message).toBe(`${server.url}: the server sent an SSE event that is not a JSON-RPC message ({"hello":1}) while listing tools`);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('fails at once when a response stream ends without the answer', async () => {
    const server = await serve(startScriptedMcpServer({ 'server/discover': () => ({ events: [] }) }));
    const started = performance.now();
    const result = await runMcpCheck(check({ url: server.url }), context({ total: 4000 }));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('reset');
    expect(result.message).toBe(`${server.url}: the server closed the response stream to server/discover without answering it`);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("sends the client library's console warnings to the debug log instead of the console", async () => {
    const weird = { name: 'weird', inputSchema: { type: 'object', properties: { region: { type: 'object', 'x-mcp-header': 'Region' } } } };
    const server = await serve(startModernMcpServer({ fixture: { ...defaultFixture, tools: [...defaultFixture.tools!, weird] } }));
    const debug: string[] = [];
    const log = { ...quiet, debug: (message: string) => void debug.push(message) };
    const { result, printed } = await consoleOutput(() => runMcpCheck(check({ url: server.url }), { ...context(), log }));
    expect(result.outcome).toBe('pass');
    expect(printed.filter((line) => line.includes('excluding tool'))).toEqual([]);
    expect(debug.some((line) => line.includes("excluding tool 'weird'"))).toBe(true);
  });
});

describe('mcp check: legacy HTTP+SSE streams that break', () => {
  /** A 2024-11-05 style server: GET /sse opens the stream with an endpoint event; `onPost` decides what the stream does next. */
  function brokenSseServer(onPost: (stream: ServerResponse) => void, beforeEndpoint?: (stream: ServerResponse) => void) {
    let stream: ServerResponse | undefined;
    return startHttpServer((req, res) => {
      if (req.method === 'GET' && req.url === '/sse') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (beforeEndpoint) return beforeEndpoint(res);
        res.write('event: endpoint\ndata: /messages\n\n');
        stream = res;
        return;
      }
      if (req.method === 'POST' && req.url === '/messages') {
        req.resume();
        req.on('end', () => {
          res.writeHead(202).end('Accepted');
          if (stream) onPost(stream);
        });
        return;
      }
      res.writeHead(404).end();
    });
  }

  async function runAgainst(server: RunningServer) {
    const started = performance.now();
    const result = await runMcpCheck(check({ url: `${server.origin}/sse`, transport: 'sse' }), context({ total: 4000 }));
    return { result, ms: performance.now() - started };
  }

  it('fails at once when the event stream sends an event that is not JSON and closes', async () => {
    const server = await serve(brokenSseServer((stream) => stream.end('event: message\ndata: {not json\n\n')));
    const { result, ms } = await runAgainst(server);
    expect(result.outcome).toBe('error');
    expect(result.message).toContain('the server sent an SSE event that is not JSON ({not json) while connecting over legacy HTTP+SSE');
    expect(ms).toBeLessThan(2000);
  });

  it('fails at once when the event stream closes before the answer', async () => {
    const server = await serve(brokenSseServer((stream) => stream.end()));
    const { result, ms } = await runAgainst(server);
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('reset');
    expect(result.message).toContain('the server closed the legacy SSE event stream while connecting over legacy HTTP+SSE');
    expect(ms).toBeLessThan(2000);
  });

  it('fails at once when the event stream sends garbage instead of the endpoint event', async () => {
    const server = await serve(brokenSseServer(() => undefined, (stream) => stream.end('data: garbage\n\n')));
    const { result, ms } = await runAgainst(server);
    expect(result.outcome).toBe('error');
    expect(result.message).toContain('the server sent an SSE event that is not JSON (garbage)');
    expect(ms).toBeLessThan(2000);
  });
});

describe('mcp check: stdio', () => {
  it('negotiates 2026-07-28 with a v2 stdio server and leaves no process behind', async () => {
    const pidFile = join(workDir, 'modern.pids');
    const server = stdioFixtureServer({ pidFile });
    const result = await runMcpCheck(check({ ...server, call: { tool: 'status', expect: ['$.structuredContent.status == "ok"'] } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ transport: 'stdio', negotiatedProtocolVersion: '2026-07-28', serverName: 'fixture-server' });
    const pids = pidsIn(pidFile);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    expect(pids.filter(isProcessRunning)).toEqual([]);
  });

  it('negotiates the 2025-era revision with a v1 stdio server and leaves no process behind', async () => {
    const pidFile = join(workDir, 'legacy.pids');
    const server = stdioFixtureServer({ sdk: 'legacy', protocolVersion: '2025-06-18', pidFile });
    const result = await runMcpCheck(check({ ...server, expect: { tools: ['echo'] } }), context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ transport: 'stdio', negotiatedProtocolVersion: '2025-06-18', protocolEra: 'legacy' });
    expect(pidsIn(pidFile).filter(isProcessRunning)).toEqual([]);
  });

  it('kills a server that never answers once the total timeout passes', async () => {
    const pidFile = join(workDir, 'hang.pids');
    const server = stdioFixtureServer({ mode: 'hang', pidFile });
    const result = await runMcpCheck(check(server), context({ firstByte: 300, total: 1200 }));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('timeout');
    const pids = pidsIn(pidFile);
    expect(pids.length).toBeGreaterThanOrEqual(1);
    expect(pids.filter(isProcessRunning)).toEqual([]);
  });

  it('kills the processes a stdio server started too, not only the server, when the attempt ends', async () => {
    const pidFile = join(workDir, 'tree.pids');
    // sh waits for its background sleep; killing sh alone would leave the sleep running, re-parented to init.
    const spec = check({ command: 'sh', args: ['-c', 'sleep 30 & echo "$$ $!" >> "$PIDFILE"; wait'], env: { PIDFILE: pidFile } });
    const result = await runMcpCheck(spec, context({ firstByte: 300, total: 1200 }));
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('timeout');
    const pids = (await readFile(pidFile, 'utf8')).split(/\s+/).filter(Boolean).map(Number);
    expect(pids.length).toBeGreaterThanOrEqual(2);
    expect(pids.filter(isProcessRunning)).toEqual([]);
  });

  it('quotes the stderr of a server that exits before the handshake', async () => {
    const result = await runMcpCheck(check(stdioFixtureServer({ mode: 'crash' })), context());
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('connect');
    expect(result.message).toContain('cannot open config file');
  });

  it('reports a command that does not exist as a connect error', async () => {
    const result = await runMcpCheck(check({ command: join(workDir, 'no-such-server') }), context());
    expect(result.outcome).toBe('error');
    expect(result.errorKind).toBe('connect');
    expect(result.message).toContain('command not found (ENOENT)');
  });

  it('checks the reference server-everything, which nobody here wrote', async () => {
    const spec = check({
      ...everythingServer(),
      expect: { tools: ['echo', 'get-sum'], prompts: ['simple-prompt'], minProtocolVersion: '2025-06-18' },
      call: { tool: 'get-sum', arguments: { a: 2, b: 3 }, expect: ['$.content[0].text contains "is 5"'] },
    });
    const result = await runMcpCheck(spec, context());
    expect(result.outcome).toBe('pass');
    expect(result.details).toMatchObject({ transport: 'stdio', serverName: 'mcp-servers/everything' });
  });
});

describe('mcp check: configuration problems', () => {
  it('says what to set when neither url nor command is given', async () => {
    const result = await runMcpCheck(check({}), context());
    expect(result.outcome).toBe('error');
    expect(result.message).toContain('set url:');
  });

  it('refuses a check with both url and command instead of ignoring the command', async () => {
    const result = await runMcpCheck(check({ url: 'http://127.0.0.1:9/mcp', command: 'my-mcp-server' }), context());
    expect(result.outcome).toBe('error');
    expect(result.message).toContain('both url: and command: are set');
  });
});
