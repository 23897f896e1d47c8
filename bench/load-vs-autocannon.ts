/**
 * Benchmark: rollgate's load generator against autocannon, same target, same connections, same duration, same run.
 *
 *   npx tsx bench/load-vs-autocannon.ts [--target example|minimal] [--connections 10] [--duration 5] [--rounds 3] [--url URL]
 *
 * The default target is the example status service's /health, started in a CHILD PROCESS (the setting);
 * `--target minimal` uses a bare node:http server instead, which makes the generators themselves the bottleneck. In the same process the server and
 * the load generator would share one event loop, so every microsecond the generator spends would be stolen from the
 * server and the figure would measure their sum, not the generator. With --url any running service is the target
 * (for example the example service: `npm run example`).
 *
 * Fairness: each round runs both tools back to back and the order alternates between rounds, so neither always gets
 * the warmer (or the noisier) slot. The figure compared is successful responses per second over the whole run.
 * Prints a markdown table; the ratio ours/autocannon is the number to watch (target >= 1.0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { runLoadCheck } from '../packages/checks/kinds/load.js';
import { systemClock } from '../packages/checks/model.js';

interface AutocannonResult {
  duration: number;
  '2xx': number;
  errors: number;
  non2xx: number;
  latency: { p50: number; p99: number };
}
type Autocannon = (options: { url: string; connections: number; duration: number; pipelining: number }) => Promise<AutocannonResult>;
// autocannon ships no types; its programmatic API returns a promise when no callback is given.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Sample {
  tool: 'rollgate' | 'autocannon';
  round: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const SERVER = `
const http = require('node:http');
const body = JSON.stringify({ status: 'ok' });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  return { url: `http://127.0.0.1:${port}/`, child };
}

/** The example status service on a free port, in its own process. */
async function startExampleService(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/status-service/start.ts', '--port', '0', '--quiet'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const origin = await new Promise<string>((resolve, reject) => {
    let seen = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`example service exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match) resolve(match[1]!);
    });
  });
  return { url: `${origin}/health`, child };
}

async function runOurs(url: string, connections: number, seconds: number, round: number): Promise<Sample> {
  const result = await runLoadCheck(
    { name: 'bench', type: 'load', url, concurrency: connections, connections, duration: seconds * 1000 },
    {
      signal: new AbortController().signal,
      timeouts: { connect: 5000, firstByte: 10_000, total: 30_000 },
      log: { debug: () => {}, info: () => {}, warning: () => {} },
      clock: systemClock,
      baseDir: process.cwd(),
    },
  );
  const m = result.measurements;
  return { tool: 'rollgate', round, rps: m.rps ?? 0, p50: m.p50_ms ?? NaN, p99: m.p99_ms ?? NaN, errors: m.errors ?? 0 };
}

async function runAutocannon(url: string, connections: number, seconds: number, round: number): Promise<Sample> {
  const r = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return { tool: 'autocannon', round, rps: r['2xx'] / r.duration, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10' },
      duration: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
      url: { type: 'string' },
      target: { type: 'string', default: 'example' },
    },
  });
  const connections = Number(values.connections);
  const seconds = Number(values.duration);
  const rounds = Number(values.rounds);
  const server = values.url ? undefined : values.target === 'minimal' ? await startServer() : await startExampleService();
  const url = values.url ?? server!.url;
  try {
    // Warm both paths (JIT, sockets, server) so round 1 is not penalised for whoever goes first.
    await runOurs(url, connections, 1, 0);
    await runAutocannon(url, connections, 1, 0);

    const samples: Sample[] = [];
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 === 1 ? [runOurs, runAutocannon] : [runAutocannon, runOurs];
      for (const run of order) {
        const sample = await run(url, connections, seconds, round);
        samples.push(sample);
        process.stderr.write(`round ${round} ${sample.tool}: ${fmt(sample.rps)} req/s\n`);
      }
    }

    const ours = samples.filter((s) => s.tool === 'rollgate');
    const theirs = samples.filter((s) => s.tool === 'autocannon');
    const oursRps = mean(ours.map((s) => s.rps));
    const theirsRps = mean(theirs.map((s) => s.rps));
    console.log(`\nLoad generator vs autocannon — ${url}, ${connections} connections, ${seconds} s per run, ${rounds} rounds, node ${process.version}\n`);
    console.log('| tool | round | requests/s | p50 (ms) | p99 (ms) | errors | ratio ours/autocannon |');
    console.log('|---|---|---|---|---|---|---|');
    for (const s of samples) {
      const partner = samples.find((o) => o.round === s.round && o.tool !== s.tool)!;
      const ratio = s.tool === 'rollgate' ? fmt(s.rps / partner.rps, 2) : '';
      console.log(`| ${s.tool} | ${s.round} | ${fmt(s.rps)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${s.errors} | ${ratio} |`);
    }
    console.log(
      `| **rollgate (mean)** | all | **${fmt(oursRps)}** | ${fmt(mean(ours.map((s) => s.p50)), 2)} | ${fmt(mean(ours.map((s) => s.p99)), 2)} | ${ours.reduce((a, s) => a + s.errors, 0)} | **${fmt(oursRps / theirsRps, 2)}** |`,
    );
    console.log(
      `| **autocannon (mean)** | all | **${fmt(theirsRps)}** | ${fmt(mean(theirs.map((s) => s.p50)), 2)} | ${fmt(mean(theirs.map((s) => s.p99)), 2)} | ${theirs.reduce((a, s) => a + s.errors, 0)} | |`,
    );
    console.log('\nautocannon records latency in whole milliseconds; rollgate in microseconds (HdrHistogram, 3 significant digits).');
  } finally {
    server?.child.kill();
  }
}

await main();
