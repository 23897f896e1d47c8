/**
 * Benchmark: cold start of the validate action bundle, and bundle sizes.
 *
 *   npx tsx bench/cold-start.ts [--runs 15]
 *
 * Times `node dist/validate/index.js` with one HTTP check against a loopback server (process start to exit, as the
 * runner runs it: INPUT_URL, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), and, in the same run, the peer that
 * curl-based health-check actions use: `curl -fsS URL`. Prints medians, and every bundle's entry and total size.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function time(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; code: number | null }> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { env, stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, code };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
  const runs = Number(values.runs);
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/health`;
  const dir = mkdtempSync(join(tmpdir(), 'rollgate-bench-'));
  const output = join(dir, 'out');
  const summary = join(dir, 'summary');
  const env = { ...process.env, INPUT_URL: url, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, RUNNER_TEMP: dir };
  const hasCurl = spawnSync('curl', ['--version']).status === 0;
  const ours: number[] = [];
  const curl: number[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < runs + 2; i++) {
      writeFileSync(output, '');
      writeFileSync(summary, '');
      const a = await time(process.execPath, [join(root, 'dist/validate/index.js')], env);
      if (a.code !== 0) throw new Error(`the validate bundle exited ${a.code}`);
      const b = hasCurl ? await time('curl', ['-fsS', '-o', '/dev/null', url], process.env) : undefined;
      const c = await time(process.execPath, ['-e', '0'], process.env);
      // The first two runs warm the file cache and are not counted.
      if (i < 2) continue;
      ours.push(a.ms);
      if (b) curl.push(b.ms);
      bare.push(c.ms);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`\nCold start, one HTTP check on loopback — median of ${runs} runs, node ${process.version}\n`);
  console.log('| command | median (ms) | vs curl |');
  console.log('|---|---|---|');
  const curlMedian = curl.length ? median(curl) : NaN;
  const row = (name: string, values: number[]) =>
    console.log(`| ${name} | ${median(values).toFixed(0)} | ${Number.isFinite(curlMedian) ? `${(median(values) / curlMedian).toFixed(1)}x` : '–'} |`);
  row('`node dist/validate/index.js` (INPUT_URL=…)', ours);
  if (curl.length) row('`curl -fsS URL` (what curl-based actions run)', curl);
  row('`node -e 0` (Node start alone)', bare);

  console.log('\nBundle sizes (target: <= 1 MB each)\n');
  console.log('| bundle | entry (loaded at start) | total with lazily loaded chunks |');
  console.log('|---|---|---|');
  for (const name of readdirSync(join(root, 'dist')).sort()) {
    const folder = join(root, 'dist', name);
    const files = readdirSync(folder).filter((f) => f.endsWith('.js'));
    const total = files.reduce((sum, f) => sum + statSync(join(folder, f)).size, 0);
    const entry = statSync(join(folder, 'index.js')).size;
    console.log(`| dist/${name} | ${(entry / 1024 / 1024).toFixed(2)} MB | ${(total / 1024 / 1024).toFixed(2)} MB |`);
  }
}

await main();
