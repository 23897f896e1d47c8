#!/usr/bin/env node
// The README's main command: starts the example status service on free loopback ports (HTTP + HTTPS with a
// self-signed certificate), validates it with every check kind through the committed CLI bundle, writes the report,
// and stops the service. Exit code is the CLI's.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const token = randomBytes(18).toString('base64url');
const reportDir = join(root, '.rollgate', 'demo');

const service = spawn(
  process.execPath,
  ['--import', 'tsx', join(root, 'examples/status-service/start.ts'), '--port', '0', '--tls-self-signed', '--tls-port', '0', '--quiet'],
  { cwd: root, env: { ...process.env, STATUS_TOKEN: token }, stdio: ['ignore', 'pipe', 'inherit'] },
);
const stopService = () => {
  if (service.exitCode === null) service.kill('SIGTERM');
};
process.on('exit', stopService);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const urls = await new Promise((resolveUrls, reject) => {
  let seen = '';
  const timer = setTimeout(() => reject(new Error('the example service did not start within 20 s')), 20_000);
  service.once('exit', (code) => reject(new Error(`the example service exited early (code ${code})`)));
  service.stdout.on('data', (chunk) => {
    seen += chunk.toString();
    const match = /listening on (http:\/\/\S+) and (https:\/\/\S+)/.exec(seen);
    if (match) {
      clearTimeout(timer);
      resolveUrls({ http: match[1], https: match[2] });
    }
  });
}).catch((error) => {
  console.error(`demo: ${error.message}`);
  process.exit(1);
});

console.log(`demo: example status service on ${urls.http} and ${urls.https}`);
console.log('demo: ./bin/rollgate validate --config examples/status-service/rollgate.yml --environment local\n');
const cli = spawn(
  join(root, 'bin/rollgate'),
  ['validate', '--config', 'examples/status-service/rollgate.yml', '--environment', 'local', '--report-dir', reportDir],
  { cwd: root, env: { ...process.env, STATUS_URL: urls.http, STATUS_TLS_URL: urls.https, STATUS_TOKEN: token }, stdio: 'inherit' },
);
const code = await new Promise((done) => cli.on('exit', (c) => done(c ?? 1)));
stopService();
console.log(`\ndemo: JSON report in ${join(reportDir, 'rollgate-validate.json')}; exit code ${code}`);
process.exit(code);
