/**
 * Benchmark: fan-out of many checks through the runner.
 *
 *   npx tsx bench/fanout.ts [--targets 100] [--checks 1000] [--delay 50] [--concurrency 16]
 *
 * 100 local targets (100 listeners in one child process, so the targets' timers do not share the runner's event
 * loop) each answer after 50 ms. 1,000 `http` checks spread over them run through `runChecks` with the default
 * settings (concurrency 16). With perfect scheduling the run takes checks × delay / concurrency
 * (1000 × 50 ms / 16 = 3.125 s); the ratio wall/ideal shows what the engine adds (1.0 = no overhead).
 * Prints a markdown table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { runChecks } from '../packages/checks/runner.js';
import { closeHttpAgents } from '../packages/checks/http-client.js';
import { defaultSettings } from '../packages/config/plan.js';
import type { CheckSpec } from '../packages/config/schema.js';

const TARGETS = `
const http = require('node:http');
const [count, delay] = process.argv.slice(1).map(Number);
const ports = [];
let listening = 0;
for (let i = 0; i < count; i++) {
  const server = http.createServer((req, res) => {
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"ok"}');
    }, delay);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    ports[i] = server.address().port;
    if (++listening === count) console.log(JSON.stringify(ports));
  });
}
`;

async function startTargets(count: number, delayMs: number): Promise<{ ports: number[]; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', TARGETS, String(count), String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let text = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`target process exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(JSON.parse(text) as number[]);
    });
  });
  return { ports, child };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string', default: '100' },
      checks: { type: 'string', default: '1000' },
      delay: { type: 'string', default: '50' },
      concurrency: { type: 'string' },
    },
  });
  const targetCount = Number(values.targets);
  const checkCount = Number(values.checks);
  const delayMs = Number(values.delay);
  const settings = defaultSettings();
  if (values.concurrency) settings.concurrency = Number(values.concurrency);

  const { ports, child } = await startTargets(targetCount, delayMs);
  try {
    const checks: CheckSpec[] = Array.from({ length: checkCount }, (_, i) => ({
      name: `check ${i + 1}`,
      type: 'http',
      url: `http://127.0.0.1:${ports[i % ports.length]}/health`,
    }));
    const quiet = { debug: () => {}, info: () => {}, warning: (m: string) => process.stderr.write(`${m}\n`) };
    const started = performance.now();
    const run = await runChecks({ checks, settings }, { log: quiet, baseDir: process.cwd() });
    const wallMs = performance.now() - started;

    const idealMs = (checkCount * delayMs) / settings.concurrency;
    const passed = run.results.filter((r) => r.outcome === 'pass').length;
    const latencies = run.results.map((r) => r.durationMs).sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    console.log(
      `\nFan-out — ${checkCount} http checks over ${targetCount} targets answering in ${delayMs} ms, concurrency ${settings.concurrency}, node ${process.version}\n`,
    );
    console.log('| checks | targets | concurrency | passed | wall time | ideal | ratio wall/ideal | check duration p50 / p99 |');
    console.log('|---|---|---|---|---|---|---|---|');
    console.log(
      `| ${checkCount} | ${targetCount} | ${settings.concurrency} | ${passed}/${checkCount} | ${(wallMs / 1000).toFixed(3)} s | ${(idealMs / 1000).toFixed(3)} s | ${(wallMs / idealMs).toFixed(3)} | ${p(0.5)} ms / ${p(0.99)} ms |`,
    );
    if (passed !== checkCount) {
      const failed = run.results.find((r) => r.outcome !== 'pass');
      console.log(`\n${checkCount - passed} check(s) did not pass; first: ${failed?.name}: ${failed?.outcome} — ${failed?.message}`);
      process.exitCode = 1;
    }
  } finally {
    child.kill();
    await closeHttpAgents();
  }
}

await main();
