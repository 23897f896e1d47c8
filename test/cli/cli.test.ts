import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { runCli } from '../support/run-cli.js';
import { ROOT } from '../support/run-action.js';
import { startHttpServer, startTcpServer, type TestServer } from '../support/servers.js';
import { startModernMcpServer } from '../support/mcp-servers.js';

let server: TestServer;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollgate-cli-'));
  server = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rollgate CLI exit codes', () => {
  it('exits 0 when every check passed', async () => {
    const run = await runCli(['validate', '--url', `${server.url}/health`]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('PASSED: 1/1 checks passed');
  });

  it('exits 1 when a check failed', async () => {
    const run = await runCli(['validate', '--url', `${server.url}/health`, '--expected-status', '404']);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAILED');
  });

  it('exits 2 on an unknown flag, an unknown command and a bad format, without a stack trace', async () => {
    for (const args of [['validate', '--nope'], ['frobnicate'], ['validate', '--url', server.url, '--format', 'xml']]) {
      const run = await runCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('rollgate:');
      expect(run.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('exits 2 on a configuration error and prints every problem with file:line:col', async () => {
    const file = join(dir, 'bad.yml');
    writeFileSync(file, 'version: 1\nenvironments:\n  prod:\n    settings:\n      concurency: 3\n      deadline: soon\n');
    const run = await runCli(['validate', '--config', file]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bad\.yml:5:7: environments\.prod\.settings\.concurency: unknown key "concurency" .*did you mean `concurrency`/);
    expect(run.stderr).toMatch(/bad\.yml:6:17: environments\.prod\.settings\.deadline: .*"soon" is not a duration/);
    expect(run.stderr).toContain('nothing was checked');
  });

  it('names the flag, not the action input, when a zero-config flag is wrong', async () => {
    const run = await runCli(['validate', '--url', server.url, '--expected-status', 'abc']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--expected-status');
    expect(run.stderr).not.toContain('input expected-status');
  });

  it('exits 2 when the environment does not exist, naming the configured ones', async () => {
    const file = join(dir, 'envs.yml');
    writeFileSync(file, `version: 1\nenvironments:\n  staging:\n    url: ${server.url}\n    checks: [{ name: h, type: http, url: /h }]\n`);
    const run = await runCli(['validate', '--config', file, '--environment', 'stagign']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('staging');
  });
});

describe('rollgate CLI output', () => {
  it('prints the JSON report with --format json and writes it to --report-dir', async () => {
    const reportDir = join(dir, 'reports');
    const run = await runCli(['validate', '--url', `${server.url}/health`, '--format', 'json', '--report-dir', reportDir]);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as { schemaVersion: number; verdict: string };
    expect(printed).toMatchObject({ schemaVersion: 1, verdict: 'passed' });
    const written = JSON.parse(readFileSync(join(reportDir, 'rollgate-validate.json'), 'utf8')) as { verdict: string };
    expect(written.verdict).toBe('passed');
  });

  it('prints markdown with --format markdown', async () => {
    const run = await runCli(['validate', '--url', `${server.url}/health`, '--format', 'markdown']);
    expect(run.stdout).toContain('| Result | Check |');
  });

  it('prints the JSON Schema that is committed in schema/', async () => {
    const run = await runCli(['schema']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(readFileSync(join(ROOT, 'schema/rollgate.schema.json'), 'utf8'));
  });
});

describe('a target that accepts the connection but never answers', () => {
  it('fails after about the 5 s total timeout saying no response headers arrived, and does not hang', async () => {
    const sockets: Socket[] = [];
    const silent = await startTcpServer((socket) => sockets.push(socket));
    const file = join(dir, 'silent.yml');
    writeFileSync(file, `version: 1\nenvironments:\n  t:\n    url: ${silent.url}\n    checks:\n      - { name: silent, type: http, url: /health, timeouts: { total: 5s } }\n`);
    const run = await runCli(['validate', '--config', file]);
    await silent.close();
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('no response headers arrived in 5 s');
    expect(run.durationMs).toBeGreaterThanOrEqual(4_900);
    expect(run.durationMs).toBeLessThan(9_000);
  }, 20_000);
});

describe('rollgate mcp-snapshot', () => {
  it('records the tool snapshot that the drift expectation then passes against', async () => {
    const mcp = await startModernMcpServer();
    try {
      const file = join(dir, 'snap.yml');
      writeFileSync(
        file,
        `version: 1\nenvironments:\n  local:\n    checks:\n      - { name: tools, type: mcp, url: ${JSON.stringify(mcp.url)}, expect: { toolSnapshot: snap/tools.json } }\n`,
      );
      const before = await runCli(['validate', '--config', file]);
      expect(before.code).toBe(1);
      expect(before.stdout).toContain('rollgate mcp-snapshot --config <file> --check "tools"');
      const record = await runCli(['mcp-snapshot', '--config', file, '--check', 'tools']);
      expect(record.code).toBe(0);
      expect(record.stdout).toContain(join(dir, 'snap/tools.json'));
      const snapshot = JSON.parse(readFileSync(join(dir, 'snap/tools.json'), 'utf8')) as { name: string }[];
      expect(snapshot.length).toBeGreaterThan(0);
      const after = await runCli(['validate', '--config', file]);
      expect(after.code).toBe(0);
    } finally {
      await mcp.close();
    }
  });

  it('exits 2 naming the mcp checks when the check name is wrong', async () => {
    const file = join(dir, 'snap2.yml');
    writeFileSync(file, 'version: 1\nenvironments:\n  local:\n    checks:\n      - { name: tools, type: mcp, url: "http://127.0.0.1:9/mcp" }\n');
    const run = await runCli(['mcp-snapshot', '--config', file, '--check', 'tool']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('did you mean "tools"');
  });
});

describe('settings that shape a run', () => {
  it('logs every request with logLevel debug (staging) and only failures with logLevel warning', async () => {
    const file = join(dir, 'levels.yml');
    const config = (level: string) =>
      `version: 1\nenvironments:\n  s:\n    url: ${server.url}\n    settings: { logLevel: ${level} }\n    checks: [{ name: h, type: http, url: /h }]\n`;
    writeFileSync(file, config('debug'));
    const verbose = await runCli(['validate', '--config', file]);
    expect(verbose.stderr).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/h -> 200/);
    writeFileSync(file, config('warning'));
    const quiet = await runCli(['validate', '--config', file]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('attempt 1/1');
  });

  it('trusts the CA named by settings.ca for every check, and names a missing CA file with its position', async () => {
    const { startHttpsServer } = await import('../support/servers.js');
    const https = await startHttpsServer((_req, res) => res.writeHead(200).end('ok'));
    try {
      writeFileSync(join(dir, 'ca.pem'), https.cert);
      const file = join(dir, 'ca.yml');
      const config = (ca: string) => `version: 1\nsettings:\n  ca: ${ca}\nenvironments:\n  s:\n    url: ${https.url}\n    checks: [{ name: h, type: http, url: /h }]\n`;
      writeFileSync(file, config('ca.pem'));
      expect((await runCli(['validate', '--config', file])).code).toBe(0);
      writeFileSync(file, 'version: 1\nenvironments:\n  s:\n    url: ' + https.url + '\n    checks: [{ name: h, type: http, url: /h }]\n');
      const untrusted = await runCli(['validate', '--config', file]);
      expect(untrusted.code).toBe(1);
      expect(untrusted.stdout).toContain('settings.ca');
      writeFileSync(file, config('missing.pem'));
      const missing = await runCli(['validate', '--config', file]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/ca\.yml:3:7: settings\.ca: .*missing\.pem does not exist/);
      writeFileSync(join(dir, 'not-pem.txt'), 'hello');
      writeFileSync(file, `version: 1\nenvironments:\n  s:\n    checks:\n      - { name: t, type: tls, url: ${JSON.stringify(https.url)}, ca: not-pem.txt }\n`);
      const notPem = await runCli(['validate', '--config', file]);
      expect(notPem.code).toBe(2);
      expect(notPem.stderr).toMatch(/ca\.yml:5:\d+: environments\.s\.checks\.0\.ca: .*not-pem\.txt holds no PEM certificate/);
    } finally {
      await https.close();
    }
  });
});

describe('interruptions and unwritable places', () => {
  it('says the run was cancelled (not that a deadline passed) on SIGTERM, prints the result and exits 1', async () => {
    const sockets: Socket[] = [];
    const silent = await startTcpServer((socket) => sockets.push(socket));
    const { code, stdout } = await runCli(['validate', '--url', `${silent.url}/hang`], { terminateAfterMs: 1500 });
    await silent.close();
    expect(code).toBe(1);
    expect(stdout).toContain('the run was cancelled');
    expect(stdout).not.toContain('deadline');
  });

  it('keeps the results and warns when the report folder cannot be written', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const run = await runCli(['validate', '--url', `${server.url}/health`, '--report-dir', blocker]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('PASSED: 1/1');
    expect(run.stderr).toContain('could not write the report');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('stops quietly when the reader of its output goes away', async () => {
    const { execSync } = await import('node:child_process');
    const out = execSync(`${join(ROOT, 'bin/rollgate')} schema | head -c 10; echo " exit=\${PIPESTATUS[0]}"`, { shell: '/bin/bash', encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/exit=0/);
  });
});

describe('rollgate deploy (local state)', () => {
  it('deploys with the command provider, keeps history in the state folder and reports the previous version', async () => {
    const file = join(dir, 'deploy.yml');
    writeFileSync(
      file,
      `version: 1\nenvironments:\n  staging:\n    url: ${server.url}\n    checks: [{ name: h, type: http, url: /health }]\n    deploy: { provider: command, command: 'echo "shipping $ROLLGATE_VERSION"' }\n`,
    );
    const state = join(dir, 'state');
    const first = await runCli(['deploy', '--config', file, '--environment', 'staging', '--version', '1.0.0', '--state-dir', state]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('shipping 1.0.0');
    expect(first.stdout).toContain('SUCCESS');
    const second = await runCli(['deploy', '--config', file, '--environment', 'staging', '--version', '1.1.0', '--state-dir', state]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('previous version: 1.0.0');
    const dry = await runCli(['deploy', '--config', file, '--environment', 'staging', '--version', '1.2.0', '--state-dir', state, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would deploy 1.2.0');
    const records = JSON.parse(readFileSync(join(state, 'deployments.json'), 'utf8')) as unknown;
    expect(JSON.stringify(records)).not.toContain('1.2.0');
  });

  it('lays --overrides over the environment for one run, and reports bad overrides as problems of that flag', async () => {
    const file = join(dir, 'over.yml');
    writeFileSync(file, `version: 1\nenvironments:\n  preview:\n    url: http://127.0.0.1:9/\n    checks: [{ name: h, type: http, url: /health }]\n    deploy: { provider: none }\n`);
    const state = join(dir, 'state-over');
    const good = await runCli(['deploy', '--config', file, '--environment', 'preview', '--version', 'pr-42', '--state-dir', state, '--overrides', `url: ${server.url}`]);
    expect(good.code).toBe(0);
    expect(good.stderr).toContain(`${server.url}/ answered 200`);
    const bad = await runCli(['deploy', '--config', file, '--environment', 'preview', '--version', 'pr-42', '--state-dir', state, '--overrides', 'deploy: { provider: ftp }']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/overrides\.deploy\.provider: .*command.*http.*none/);
    const badUrl = await runCli(['deploy', '--config', file, '--environment', 'preview', '--version', 'pr-42', '--state-dir', state, '--overrides', 'url: ftp://nope']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/^overrides\.url: /m);
  });

  it('exits 2 without --version', async () => {
    const run = await runCli(['deploy', '--environment', 'staging']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--version');
  });
});
