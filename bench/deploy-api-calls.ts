/**
 * Benchmark: GitHub API calls per successful deploy with readiness, counted by the fake GitHub API.
 *
 *   npx tsx bench/deploy-api-calls.ts
 *
 * Runs the committed deploy bundle as the runner does, against the fake GitHub (every request validated against
 * GitHub's OpenAPI description) and a local service for readiness. Target: <= 4 calls.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGitHub, type FakeGitHub } from '../test/support/fake-github/index.js';

const root = join(import.meta.dirname, '..');

async function deploy(github: FakeGitHub, dir: string, config: string, runId: string, version: string, attempt: string): Promise<number> {
  const env = {
    PATH: process.env.PATH ?? '',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: `${github.owner}/${github.repo}`,
    GITHUB_API_URL: github.url,
    GITHUB_RUN_ID: runId,
    GITHUB_RUN_ATTEMPT: attempt,
    GITHUB_SHA: 'c'.repeat(40),
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    ROLLGATE_GITHUB_WRITE_SPACING_MS: '0',
    INPUT_CONFIG: config,
    INPUT_ENVIRONMENT: 'staging',
    INPUT_VERSION: version,
    INPUT_TOKEN: 'ghs_bench',
  };
  writeFileSync(env.GITHUB_OUTPUT, '');
  writeFileSync(env.GITHUB_STEP_SUMMARY, '');
  const child = spawn(process.execPath, [join(root, 'dist/deploy/index.js')], { env, cwd: dir, stdio: 'ignore' });
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const service = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(service.address() as { port: number }).port}`;
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-bench-deploy-'));
  const config = join(dir, 'rollgate.yml');
  writeFileSync(config, `version: 1\nchecks: [{ name: health, type: http, url: /health }]\nenvironments:\n  staging:\n    url: ${url}\n    deploy: { provider: none }\n`);
  const github = await startFakeGitHub();
  const rows: string[] = [];
  const measure = async (name: string, runId: string, version: string, attempt = '1') => {
    github.resetCalls();
    const code = await deploy(github, dir, config, runId, version, attempt);
    const calls = github.calls.map((c) => `${c.method} ${c.template ?? c.path}`.replace('/repos/{owner}/{repo}', ''));
    rows.push(`| ${name} | ${code === 0 ? 'success' : `exit ${code}`} | ${github.count()} | ${calls.join('<br>')} |`);
  };
  try {
    await measure('first deploy of an environment', '1', 'v1');
    await measure('next deploy (previous one succeeded)', '2', 'v2');
    await measure('re-run of the same run, attempt 2 (reconcile)', '2', 'v2', '2');
  } finally {
    await github.close();
    service.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\nGitHub API calls per deploy with readiness (target <= 4), counted by the fake GitHub API\n');
  console.log('| scenario | result | calls | calls made |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
  console.log('| floor for any action that records queued/in_progress and success (create + 2 statuses) | – | 3 | not measured: the minimum, for comparison |');
}

await main();
