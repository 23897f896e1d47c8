import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CommandDeploy, HttpDeploy } from '../../packages/config/schema.js';
import { Secrets } from '../../packages/config/secrets.js';
import { closeHttpAgents } from '../../packages/checks/http-client.js';
import type { DeployContext } from '../../packages/deploy/model.js';
import { commandProvider, httpProvider, noneProvider, providerFor, NONE_MESSAGE, SIGNATURE_HEADER } from '../../packages/deploy/providers/index.js';
import { closedPort, startHttpServer, type TestServer } from '../support/servers.js';

interface LogLine {
  level: 'debug' | 'info' | 'warning';
  message: string;
}

let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'rollgate-providers-'));
});

afterAll(async () => {
  rmSync(workDir, { recursive: true, force: true });
  await closeHttpAgents();
});

function context(overrides: Partial<DeployContext> = {}): DeployContext & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    version: '1.4.2',
    environment: 'staging',
    url: 'https://staging.example.com',
    phase: 'canary',
    log: {
      debug: (message) => lines.push({ level: 'debug', message }),
      info: (message) => lines.push({ level: 'info', message }),
      warning: (message) => lines.push({ level: 'warning', message }),
    },
    signal: new AbortController().signal,
    secrets: new Secrets(),
    baseDir: workDir,
    lines,
    ...overrides,
  };
}

const infoLines = (ctx: { lines: LogLine[] }) => ctx.lines.filter((line) => line.level === 'info').map((line) => line.message);
const commandSpec = (input: Record<string, unknown>) => CommandDeploy.parse({ provider: 'command', ...input });
const httpSpec = (input: Record<string, unknown>) => HttpDeploy.parse({ provider: 'http', ...input });

/** Gone, or a zombie waiting to be reaped (it runs no code any more). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function readPids(file: string): number[] {
  return readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
}

describe('command provider', () => {
  it('passes version, environment, URL and phase to the command as environment variables, with the extra env, in baseDir', async () => {
    const ctx = context();
    const result = await commandProvider(commandSpec({
      command: 'printf "%s|%s|%s|%s\\n" "$ROLLGATE_VERSION" "$ROLLGATE_ENVIRONMENT" "$ROLLGATE_URL" "$ROLLGATE_PHASE"\necho "team=$TEAM"\npwd',
      env: { TEAM: 'platform' },
    })).deploy(ctx);

    expect(result).toEqual({ ok: true, message: 'deploy command succeeded (exit code 0)' });
    const lines = infoLines(ctx);
    expect(lines).toContain('1.4.2|staging|https://staging.example.com|canary');
    expect(lines).toContain('team=platform');
    expect(lines).toContain(workDir);
  });

  it('never runs shell syntax found in the version: it arrives as plain data', async () => {
    const marker = join(workDir, 'injected');
    const version = `1.0$(touch ${marker}-a); touch ${marker}-b; rm -rf ${marker}-c \`touch ${marker}-d\``;
    const ctx = context({ version });
    const result = await commandProvider(commandSpec({ command: 'echo "deploying $ROLLGATE_VERSION"; echo $ROLLGATE_VERSION' })).deploy(ctx);

    expect(result.ok).toBe(true);
    for (const suffix of ['-a', '-b', '-d']) expect(existsSync(marker + suffix)).toBe(false);
    expect(infoLines(ctx)).toContain(`deploying ${version}`);
  });

  it('masks a configured secret that the command prints, on stdout and stderr, and never writes raw output itself', async () => {
    const secret = 'hunter2-deploy-token';
    const ctx = context();
    ctx.secrets.add(secret);
    const written: string[] = [];
    const originalWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (originalWrite as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    let result;
    try {
      result = await commandProvider(commandSpec({ command: `echo "token is ${secret}"; echo "${secret}" >&2; exit 1` })).deploy(ctx);
    } finally {
      process.stdout.write = originalWrite;
    }

    expect(infoLines(ctx)).toContain('token is ***');
    expect(infoLines(ctx)).toContain('***');
    for (const line of ctx.lines) expect(line.message).not.toContain(secret);
    expect(result.message).not.toContain(secret);
    expect(written.join('')).not.toContain(secret);
  });

  it('fails when the command exits 1, quoting the last lines of output', async () => {
    const ctx = context();
    ctx.secrets.add('s3cr3t-value');
    const result = await commandProvider(commandSpec({
      command: 'for i in 1 2 3 4 5 6 7; do echo "step $i"; done; echo "cannot reach cluster with s3cr3t-value" >&2; exit 1',
    })).deploy(ctx);

    expect(result.ok).toBe(false);
    expect(result.message).toBe('deploy command exited with 1; last output: step 4 | step 5 | step 6 | step 7 | cannot reach cluster with ***');
  });

  it('runs with -e and pipefail, so a failing stage of a pipeline stops the script', async () => {
    const ctx = context();
    const result = await commandProvider(commandSpec({ command: 'echo before; false | cat; echo after' })).deploy(ctx);

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy command exited with 1; last output: before$/);
    expect(infoLines(ctx)).not.toContain('after');
  });

  it('logs a last line that has no trailing newline', async () => {
    const ctx = context();
    await commandProvider(commandSpec({ command: 'printf "first\\nno newline at the end"' })).deploy(ctx);

    expect(infoLines(ctx)).toEqual(expect.arrayContaining(['first', 'no newline at the end']));
  });

  it('names a missing command and explains exit code 127', async () => {
    const result = await commandProvider(commandSpec({ command: 'rollgate-no-such-deploy-tool --now' })).deploy(context());

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy command exited with 127 \(127: a command was not found; .*\); last output: .*rollgate-no-such-deploy-tool: command not found$/);
  });

  it('says so clearly when bash cannot be found', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(workDir, 'no-such-bin');
    let result;
    try {
      result = await commandProvider(commandSpec({ command: 'true' })).deploy(context());
    } finally {
      process.env.PATH = path;
    }

    expect(result).toEqual({ ok: false, message: expect.stringMatching(/^deploy command could not start: bash was not found on PATH/) });
  });

  it('says so clearly when the working directory does not exist', async () => {
    const missing = join(workDir, 'gone');
    const result = await commandProvider(commandSpec({ command: 'true' })).deploy(context({ baseDir: missing }));

    expect(result).toEqual({ ok: false, message: `deploy command could not start: its working directory ${missing} does not exist (the command runs in the folder of rollgate.yml)` });
  });

  it('stops the command and its children when deploy.timeout passes', async () => {
    const pidFile = join(workDir, 'timeout-pids');
    const started = Date.now();
    const result = await commandProvider(commandSpec({
      command: `echo waiting; sleep 30 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; wait`,
      timeout: '500ms',
    })).deploy(context());
    const elapsed = Date.now() - started;

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy command did not finish within 500 ms \(deploy\.timeout\) and was stopped; last output: waiting\. If the deployment needs longer, raise deploy\.timeout/);
    expect(elapsed).toBeLessThan(1500);
    const pids = readPids(pidFile);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isGone(pid)).toBe(true);
  });

  it('kills a command that ignores TERM once the grace period is over', async () => {
    const pidFile = join(workDir, 'stubborn-pids');
    const started = Date.now();
    const result = await commandProvider(commandSpec({
      command: `trap "" TERM; sleep 30 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; wait`,
      timeout: '300ms',
    }), { killGraceMs: 300 }).deploy(context());

    expect(result.ok).toBe(false);
    expect(Date.now() - started).toBeLessThan(1600);
    for (const pid of readPids(pidFile)) expect(isGone(pid)).toBe(true);
  });

  it('stops the command when the run is cancelled, naming the reason', async () => {
    const pidFile = join(workDir, 'abort-pids');
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('the workflow run was cancelled')), 300);
    const result = await commandProvider(commandSpec({ command: `echo $$ > ${pidFile}; sleep 30` })).deploy(context({ signal: controller.signal }));

    expect(result).toEqual({ ok: false, message: 'deploy command was stopped because the workflow run was cancelled; last output: (no output)' });
    expect(Date.now() - started).toBeLessThan(1300);
    for (const pid of readPids(pidFile)) expect(isGone(pid)).toBe(true);
  });

  it('does not start the command when the run is already cancelled', async () => {
    const marker = join(workDir, 'should-not-exist');
    const controller = new AbortController();
    controller.abort(new Error('the deadline passed'));
    const result = await commandProvider(commandSpec({ command: `touch ${marker}` })).deploy(context({ signal: controller.signal }));

    expect(result).toEqual({ ok: false, message: 'deploy command was not started because the deadline passed' });
    expect(existsSync(marker)).toBe(false);
  });
});

describe('http provider', () => {
  interface Received {
    method: string;
    path: string;
    headers: IncomingMessage['headers'];
    body: Buffer;
  }
  let server: TestServer;
  let received: Received[];
  let respond: (req: Received, res: ServerResponse) => void;

  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const entry = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        received.push(entry);
        respond(entry, res);
      });
    });
  });

  afterAll(async () => {
    await server.close();
  });

  beforeEach(() => {
    received = [];
    respond = (_req, res) => sendJson(res, 202, { accepted: true });
  });

  /** Hook calls of this test (a status poll from an earlier test may still be arriving). */
  const posts = () => received.filter((req) => req.method === 'POST');

  function sendJson(res: ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  it('POSTs a valid JSON payload, even for a version with a newline, quotes, a tab and an emoji', async () => {
    const version = '2.0 "beta"\n\tline two 🚀 \\ end';
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook?key=abc` })).deploy(
      context({ version, ref: 'a1b2c3', runUrl: 'https://github.com/o/r/actions/runs/1' }),
    );

    expect(result).toEqual({ ok: true, message: `deploy hook ${server.url}/hook accepted the deployment (202); no statusUrl is configured, so readiness checks decide` });
    expect(posts()).toHaveLength(1);
    expect(posts()[0]!.method).toBe('POST');
    expect(posts()[0]!.path).toBe('/hook?key=abc');
    expect(posts()[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(posts()[0]!.body.toString('utf8'))).toEqual({
      version,
      environment: 'staging',
      ref: 'a1b2c3',
      url: 'https://staging.example.com',
      phase: 'canary',
      runUrl: 'https://github.com/o/r/actions/runs/1',
    });
  });

  it('signs the exact body bytes with HMAC-SHA256 so the receiver can verify them with the shared secret', async () => {
    const secret = 'hook-signing-key-42';
    await httpProvider(httpSpec({ url: `${server.url}/hook`, secret })).deploy(context({ version: 'é 🚀 "x"' }));

    const { headers, body } = posts()[0]!;
    const header = String(headers[SIGNATURE_HEADER]);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    expect(timingSafeEqual(Buffer.from(header), expected)).toBe(true);
  });

  it('sends configured headers, secret ones included, and never shows a secret header value in its message', async () => {
    const token = 'Bearer tok-very-secret-123';
    respond = (req, res) => sendJson(res, 403, { error: `token ${String(req.headers.authorization)} is not allowed` });
    const ctx = context();
    const result = await httpProvider(httpSpec({
      url: `${server.url}/hook`,
      headers: { Authorization: { value: token, secret: true }, 'X-Team': 'platform' },
    })).deploy(ctx);

    expect(posts()[0]!.headers.authorization).toBe(token);
    expect(posts()[0]!.headers['x-team']).toBe('platform');
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy hook http:\/\/127\.0\.0\.1:\d+\/hook answered 403 \(expected 2xx\): .*\*\*\*.*check deploy\.headers and deploy\.secret/);
    expect(result.message).not.toContain('tok-very-secret-123');
    for (const line of ctx.lines) expect(line.message).not.toContain('tok-very-secret-123');
  });

  it('fails with the status and a short body when the hook does not answer 2xx', async () => {
    respond = (_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`deploy queue is full\n${'x'.repeat(2000)}`);
    };
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook` })).deploy(context());

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy hook http:\/\/127\.0\.0\.1:\d+\/hook answered 500 \(expected 2xx\): "deploy queue is full\\nx+…"$/);
    expect(result.message.length).toBeLessThan(450);
  });

  it('fails without retrying when the hook cannot be reached', async () => {
    const port = await closedPort();
    const result = await httpProvider(httpSpec({ url: `http://127.0.0.1:${port}/hook` })).deploy(context());

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/connection refused.*not retried because a deploy hook may not be safe to call twice/);
  });

  it('polls the status URL with the hook response id until it reports success', async () => {
    let polls = 0;
    respond = (req, res) => {
      if (req.method === 'POST') return sendJson(res, 201, { id: 'dep 7' });
      polls++;
      if (polls < 3) return sendJson(res, 200, { status: polls === 1 ? 'queued' : 'in_progress' });
      return sendJson(res, 200, { status: 'success', description: 'live on 3 pods', environment_url: 'https://app.example.com' });
    };
    const ctx = context();
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook`, statusUrl: '/status/{id}', pollInterval: '30ms' })).deploy(ctx);

    expect(result).toEqual({
      ok: true,
      message: `deploy status at ${server.url}/status/dep%207 reported success: live on 3 pods`,
      environmentUrl: 'https://app.example.com',
    });
    // Filtered by path: a request from an earlier test may still be arriving.
    expect(received.filter((req) => req.path.startsWith('/status/dep')).map((req) => `${req.method} ${req.path}`)).toEqual(['GET /status/dep%207', 'GET /status/dep%207', 'GET /status/dep%207']);
    expect(infoLines(ctx).some((line) => line.endsWith(': in_progress'))).toBe(true);
  });

  it('fails with the status message when the status URL reports failure (state form)', async () => {
    respond = (req, res) => (req.method === 'POST' ? sendJson(res, 202, {}) : sendJson(res, 200, { state: 'failure', message: 'migration 42 failed' }));
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook`, statusUrl: `${server.url}/status`, pollInterval: '20ms' })).deploy(context());

    expect(result).toEqual({ ok: false, message: `deploy status at ${server.url}/status reported failure: migration 42 failed` });
  });

  it('gives up when the status stays in progress past deploy.timeout, quoting the last answer', async () => {
    respond = (req, res) => (req.method === 'POST' ? sendJson(res, 202, {}) : sendJson(res, 200, { status: 'in_progress', message: 'rolling' }));
    const started = Date.now();
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook`, statusUrl: `${server.url}/status`, pollInterval: '50ms', timeout: '400ms' })).deploy(context());

    expect(result.ok).toBe(false);
    expect(result.message).toBe(`deploy status at ${server.url}/status did not finish within 400 ms (deploy.timeout); last answer: in_progress (rolling). If the deployment needs longer, raise deploy.timeout in rollgate.yml`);
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('keeps a secret header value out of the timeout message when the status URL echoes it', async () => {
    respond = (req, res) => (req.method === 'POST'
      ? sendJson(res, 202, {})
      : sendJson(res, 503, { error: `upstream rejected ${String(req.headers['x-api-key'])}` }));
    const ctx = context();
    const result = await httpProvider(httpSpec({
      url: `${server.url}/hook`,
      statusUrl: `${server.url}/status`,
      headers: { 'X-Api-Key': { value: 'key-abcdef-987', secret: true } },
      pollInterval: '40ms',
      timeout: '300ms',
    })).deploy(ctx);

    expect(received.find((req) => req.method === 'GET')!.headers['x-api-key']).toBe('key-abcdef-987');
    expect(result.ok).toBe(false);
    expect(result.message).toContain('last answer: answered 503');
    expect(result.message).not.toContain('key-abcdef-987');
    for (const line of ctx.lines) expect(line.message).not.toContain('key-abcdef-987');
  });

  it('stops polling when the run is cancelled', async () => {
    respond = (req, res) => (req.method === 'POST' ? sendJson(res, 202, {}) : sendJson(res, 200, { status: 'queued' }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the workflow run was cancelled')), 200);
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook`, statusUrl: `${server.url}/status`, pollInterval: '30ms' })).deploy(context({ signal: controller.signal }));

    expect(result).toEqual({ ok: false, message: `deploy status at ${server.url}/status was stopped because the workflow run was cancelled; last answer: queued` });
  });

  it('explains a statusUrl with {id} when the hook response has no id', async () => {
    const result = await httpProvider(httpSpec({ url: `${server.url}/hook`, statusUrl: '/by-id/{id}', pollInterval: '20ms' })).deploy(context());

    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^deploy\.statusUrl contains \{id\}, but the deploy hook response had no "id" field/);
    expect(received.filter((req) => req.path.startsWith('/by-id'))).toEqual([]);
  });
});

describe('none provider and providerFor', () => {
  it('succeeds at once, saying the deployment happens elsewhere', async () => {
    expect(await noneProvider().deploy(context())).toEqual({ ok: true, message: NONE_MESSAGE });
    expect(NONE_MESSAGE).toBe('no provider: the deployment happens elsewhere; recording and verifying only');
  });

  it('picks the provider named in the deploy section, and none when there is no section', () => {
    expect(providerFor(undefined).kind).toBe('none');
    expect(providerFor({ provider: 'none' }).kind).toBe('none');
    expect(providerFor(commandSpec({ command: 'true' })).kind).toBe('command');
    expect(providerFor(httpSpec({ url: 'https://deploy.example.com/hook' })).kind).toBe('http');
  });
});
