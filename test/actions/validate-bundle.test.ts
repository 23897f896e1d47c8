/**
 * The committed validate bundle, run the way the GitHub runner runs it: node dist/validate/index.js with INPUT_*
 * variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, parseOutputFile, runAction } from '../support/run-action.js';
import { runProcess } from '../support/process.js';
import { closedPort, startHttpServer, type TestServer } from '../support/servers.js';
import { everythingServer, startLegacyMcpServer, startModernMcpServer } from '../support/mcp-servers.js';

let server: TestServer;
let dir: string;
const seen: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollgate-bundle-'));
  server = await startHttpServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url === '/echo-auth') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ got: req.headers.authorization }));
      return;
    }
    if (req.url?.startsWith('/fail')) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  });
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('validate action bundle', () => {
  it('runs a zero-config validation from a multi-line url input with spaces, blank lines and CRLF endings', async () => {
    seen.length = 0;
    const url = `  ${server.url}/health  \r\n\r\n\t${server.url}/ready\r\n   \r\n`;
    const run = await runAction('validate', { url, 'expected-status': '200', 'max-latency-ms': '2000', 'report-dir': join(dir, 'zero') });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ passed: 'true', 'failed-count': '0' });
    expect(seen.sort()).toEqual(['/health', '/ready']);
    expect(run.summary).toContain('PASSED: 2/2 checks passed');
    const report = JSON.parse(readFileSync(run.outputs['report-path']!, 'utf8')) as { checks: unknown[] };
    expect(report.checks).toHaveLength(2);
  });

  it('fails the step, annotates the failed check and reports failed-count when a check fails', async () => {
    const run = await runAction('validate', { url: `${server.url}/health\n${server.url}/fail`, attempts: '2', 'retry-delay': '50ms' });
    expect(run.code).toBe(1);
    expect(run.outputs).toMatchObject({ passed: 'false', 'failed-count': '1' });
    expect(run.stdout).toMatch(/::error title=rollgate%3A .*fail.*::.*503/);
    expect(run.stdout).toMatch(/attempt 1\/2: fail/);
    expect(run.stdout).toMatch(/attempt 2\/2: fail/);
    expect(run.summary).toContain('FAILED: 1/2 checks passed');
  });

  it('never shows a secret from the config in the log, the summary, the outputs or the report, and asks the runner to mask it', async () => {
    const token = 'tok-Zq81-very-secret-value';
    const config = join(dir, 'secret.yml');
    writeFileSync(
      config,
      [
        'version: 1',
        'environments:',
        '  staging:',
        `    url: ${server.url}`,
        '    checks:',
        '      - name: echo',
        '        type: http',
        '        url: /echo-auth',
        '        headers:',
        '          Authorization: Bearer ${secret:API_TOKEN}',
        '        expect:',
        '          body: ["$.got == nothing"]',
      ].join('\n'),
    );
    const run = await runAction('validate', { config, environment: 'staging', secrets: JSON.stringify({ API_TOKEN: token }), 'report-dir': join(dir, 'secret') });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`::add-mask::${token}`);
    const visible = [run.stdout.replace(`::add-mask::${token}`, ''), run.stderr, run.summary, JSON.stringify(run.outputs)].join('\n');
    expect(visible).not.toContain(token);
    expect(readFileSync(run.outputs['report-path']!, 'utf8')).not.toContain(token);
    // Masked, then escaped for markdown (renders as ***).
    expect(run.summary).toContain('Bearer \\*\\*\\*');
  });

  it('reports a broken config as file:line:col problems, all at once, without a stack trace', async () => {
    const config = join(dir, 'broken.yml');
    writeFileSync(config, ['version: 1', 'environments:', '  staging:', '    checks:', '      - name: a', '        type: htp', '        url: /x', '      - name: b', '        type: http', '        url: /y', '        expct: {}'].join('\n'));
    const run = await runAction('validate', { config, environment: 'staging' });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/broken\.yml:6:15: environments\.staging\.checks\.0\.type: .*http/);
    expect(run.stdout).toMatch(/broken\.yml:11:9: environments\.staging\.checks\.1.*expct.*did you mean .*expect/);
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?\n/);
    expect(run.outputs.passed).toBe('false');
  });

  it('caps a job summary that would pass 1 MiB with a note and keeps the verdict', async () => {
    const name = '多言語の検証チェック名前🙂'.repeat(12);
    const checks = Array.from({ length: 2500 }, (_, i) => [`      - name: ${JSON.stringify(`${name} ${i}`)}`, '        type: http', `        url: /c${i}`].join('\n'));
    const config = join(dir, 'many.yml');
    writeFileSync(config, ['version: 1', 'settings:', '  concurrency: 64', 'environments:', '  big:', `    url: ${server.url}`, '    checks:', ...checks].join('\n'));
    const run = await runAction('validate', { config, environment: 'big' }, { timeoutMs: 120_000 });
    expect(run.code).toBe(0);
    expect(run.outputs.passed).toBe('true');
    expect(Buffer.byteLength(run.summary, 'utf8')).toBeLessThan(1024 * 1024);
    expect(run.summary).toContain("Summary cut to stay under GitHub's 1 MiB limit");
    expect(run.summary).toContain('PASSED: 2500/2500 checks passed');
    expect(run.summary).not.toContain('\uFFFD');
  }, 120_000);

  it('fails with a clear message when neither a config nor a url is given', async () => {
    const run = await runAction('validate', {});
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no configuration at .github/rollgate.yml and no url given');
  });

  it('fails a check against a closed port as an error, never as a pass', async () => {
    const port = await closedPort();
    const run = await runAction('validate', { url: `http://127.0.0.1:${port}/health` });
    expect(run.code).toBe(1);
    expect(run.outputs.passed).toBe('false');
    expect(run.stdout).toContain('connection refused');
  });

  it('checks MCP servers on both protocol generations from the bundle (the lazily loaded MCP chunk works)', async () => {
    const modern = await startModernMcpServer();
    const legacy = await startLegacyMcpServer({ transport: 'sse', protocolVersion: '2024-11-05' });
    try {
      const run = await runAction('validate', { 'mcp-url': `${modern.url}\n${legacy.url}`, 'report-dir': join(dir, 'mcp') });
      expect(run.code).toBe(0);
      const report = JSON.parse(readFileSync(run.outputs['report-path']!, 'utf8')) as { checks: { details?: { negotiatedProtocolVersion?: string } }[] };
      expect(report.checks.map((c) => c.details?.negotiatedProtocolVersion).sort()).toEqual(['2024-11-05', '2026-07-28']);
      expect(run.summary).toContain('MCP 2026-07-28');
    } finally {
      await modern.close();
      await legacy.close();
    }
  });

  it('checks the reference MCP server over stdio, which nobody here wrote, from the bundle', async () => {
    const everything = everythingServer();
    const config = join(dir, 'everything.yml');
    writeFileSync(
      config,
      [
        'version: 1',
        'environments:',
        '  local:',
        '    checks:',
        '      - name: everything',
        '        type: mcp',
        `        command: ${JSON.stringify(everything.command)}`,
        `        args: ${JSON.stringify(everything.args)}`,
        '        expect:',
        '          tools: [echo]',
        '        call:',
        '          tool: echo',
        '          arguments: { message: hello from rollgate }',
        '          expect: [\'$.content[0].text contains "hello from rollgate"\']',
      ].join('\n'),
    );
    const run = await runAction('validate', { config, 'report-dir': join(dir, 'everything') }, { timeoutMs: 60_000 });
    expect(run.stdout).toMatch(/attempt 1\/1: pass/);
    expect(run.code).toBe(0);
  }, 60_000);

  it('still sets its outputs and writes the summary when the report folder cannot be written', async () => {
    const blocker = join(dir, 'blocker');
    writeFileSync(blocker, 'x');
    const run = await runAction('validate', { url: `${server.url}/health`, 'report-dir': blocker });
    expect(run.code).toBe(0);
    expect(run.outputs).toMatchObject({ passed: 'true', 'failed-count': '0', 'report-path': '' });
    expect(run.stdout).toMatch(/::warning::could not write the report/);
    expect(run.summary).toContain('PASSED: 1/1');
  });

  it('publishes what it saw, saying the run was cancelled, when the job is cancelled (SIGTERM)', async () => {
    const { startTcpServer } = await import('../support/servers.js');
    const silent = await startTcpServer(() => undefined);
    const out = join(dir, 'cancel-out');
    const summary = join(dir, 'cancel-summary');
    writeFileSync(out, '');
    writeFileSync(summary, '');
    const { code, stdout } = await runProcess(process.execPath, [join(ROOT, 'dist/validate/index.js')], {
      env: { PATH: process.env.PATH ?? '', INPUT_URL: `${silent.url}/hang`, GITHUB_OUTPUT: out, GITHUB_STEP_SUMMARY: summary, RUNNER_TEMP: dir },
      terminateAfterMs: 1500,
    });
    await silent.close();
    expect(code).toBe(1);
    expect(stdout).toContain('the run was cancelled');
    expect(parseOutputFile(readFileSync(out, 'utf8'))).toMatchObject({ passed: 'false', 'failed-count': '1' });
    expect(readFileSync(summary, 'utf8')).toContain('FAILED');
  });


});
