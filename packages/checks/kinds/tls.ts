/**
 * The `tls` check: one TLS handshake with the target, then three separate verdicts on what it presented:
 * the chain is trusted, the certificate covers the host name, and it does not expire too soon.
 *
 * The handshake itself never rejects the certificate (`rejectUnauthorized: false`): a rejected handshake would only
 * say "it failed", while we want to report every problem at once, with the certificate's own facts.
 * Chain verification still runs inside OpenSSL against the default roots plus the configured CAs, and its verdict
 * comes back as `socket.authorizationError`. Host name matching is done separately with `tls.checkServerIdentity`.
 */
import tls, { type DetailedPeerCertificate, type PeerCertificate, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TlsCheckSpec } from '../../config/schema.js';
import { formatDuration } from '../../config/duration.js';
import type { Assertion, AttemptContext, AttemptResult, CheckExecutor, ErrorKind } from '../model.js';

const DEFAULT_MIN_DAYS = 14;
const DAY_MS = 86_400_000;

/** What OpenSSL's verification codes mean, and what to try. */
const CHAIN_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server certificate is self-signed and not trusted; add it (or the CA that issued it) with `ca:`',
  SELF_SIGNED_CERT_IN_CHAIN: 'the chain ends in a self-signed root that is not trusted; if it is a private CA, add its certificate with `ca:`',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the issuer of the server certificate is unknown; the server may not be sending its intermediate certificate, or the CA is private (add it with `ca:`)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the issuer certificate was not found among the trusted roots; the server may be missing an intermediate, or the CA is private (add it with `ca:`)',
  UNABLE_TO_GET_ISSUER_CERT: 'the issuer certificate of one certificate in the chain could not be found',
  CERT_HAS_EXPIRED: 'a certificate in the chain has expired',
  CERT_NOT_YET_VALID: 'a certificate in the chain is not valid yet (check the server clock and notBefore)',
  CERT_SIGNATURE_FAILURE: 'a certificate signature does not verify',
  CERT_REVOKED: 'a certificate in the chain has been revoked',
  CERT_UNTRUSTED: 'the root CA is not trusted for this purpose',
  CERT_REJECTED: 'the root CA is marked to reject this purpose',
  INVALID_CA: 'a CA certificate in the chain is not valid as a CA',
  PATH_LENGTH_EXCEEDED: 'the chain is longer than a CA allows (pathLenConstraint)',
  INVALID_PURPOSE: 'a certificate in the chain is not meant for TLS server authentication',
  CERT_CHAIN_TOO_LONG: 'the chain is longer than the verification depth allows',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not cover the host name',
};

interface Target {
  host: string;
  port: number;
  /** How the target reads in messages: host:port. */
  label: string;
}

export const runTlsCheck: CheckExecutor<TlsCheckSpec> = async (spec, ctx): Promise<AttemptResult> => {
  const target = parseTarget(spec.url);
  if (!target) {
    return { outcome: 'error', message: `tls check "${spec.name}": "${spec.url}" is neither an https URL nor host:port`, assertions: [], measurements: {} };
  }
  let extraCa: string[];
  try {
    extraCa = await trustedExtras(spec, ctx);
  } catch (error) {
    return { outcome: 'error', message: (error as Error).message, assertions: [], measurements: {} };
  }
  const servername = spec.servername ?? (isIP(target.host) ? undefined : target.host);
  const hostname = spec.servername ?? target.host;

  let handshake: Handshake;
  try {
    handshake = await connect(target, servername, extraCa, ctx);
  } catch (error) {
    const failure = error as HandshakeFailure;
    return { outcome: 'error', errorKind: failure.kind, message: failure.message, assertions: [], measurements: {} };
  }
  const { cert, socketFacts, authorizationError, handshakeMs } = handshake;
  if (!cert.raw) {
    return {
      outcome: 'error',
      errorKind: 'tls',
      message: `${target.label}: the server completed the handshake without presenting a certificate`,
      assertions: [],
      measurements: { handshake_ms: round(handshakeMs) },
    };
  }

  const now = ctx.clock.now();
  const notAfter = new Date(cert.valid_to);
  const notBefore = new Date(cert.valid_from);
  const daysToExpiry = Math.floor((notAfter.getTime() - now) / DAY_MS);
  const sans = subjectAltNames(cert);
  const covers = sans.length > 0 ? sans.join(', ') : `CN=${firstValue(cert.subject?.CN) ?? '(none)'}`;
  const minDays = spec.minDaysToExpiry ?? DEFAULT_MIN_DAYS;

  const assertions: Assertion[] = [];
  if (authorizationError) {
    const meaning = CHAIN_ERRORS[authorizationError] ?? 'the chain could not be verified';
    assertions.push({
      expectation: 'certificate chain is trusted',
      passed: false,
      observed: authorizationError,
      message: `chain not trusted: ${authorizationError}: ${meaning} (issuer: ${describeName(cert.issuer)})`,
    });
  } else {
    assertions.push({ expectation: 'certificate chain is trusted', passed: true, observed: `trusted (issuer: ${describeName(cert.issuer)})` });
  }

  const identityError = tls.checkServerIdentity(hostname, cert);
  assertions.push({
    expectation: `certificate covers ${hostname}`,
    passed: identityError === undefined,
    observed: `covers ${covers}`,
    ...(identityError ? { message: `host name mismatch: the certificate covers ${covers}, not ${hostname}` } : {}),
  });

  const expiryPassed = daysToExpiry >= minDays;
  const expired = notAfter.getTime() <= now;
  assertions.push({
    expectation: `expires in >= ${minDays} days`,
    passed: expiryPassed,
    observed: `${expired ? 'expired' : `${daysToExpiry} days left`} (notAfter ${notAfter.toISOString()})`,
    ...(expiryPassed
      ? {}
      : {
          message: expired
            ? `certificate expired on ${notAfter.toISOString()}`
            : `certificate expires in ${daysToExpiry} days (notAfter ${notAfter.toISOString()}), less than the required ${minDays}; renew it`,
        }),
  });

  const measurements = { days_to_expiry: daysToExpiry, handshake_ms: round(handshakeMs) };
  const details: Record<string, unknown> = {
    host: target.label,
    servername: servername ?? null,
    subject: describeName(cert.subject),
    issuer: describeName(cert.issuer),
    subjectAltNames: sans,
    notBefore: isNaN(notBefore.getTime()) ? cert.valid_from : notBefore.toISOString(),
    notAfter: isNaN(notAfter.getTime()) ? cert.valid_to : notAfter.toISOString(),
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
    chain: chainOf(cert),
    ...socketFacts,
  };

  const failed = assertions.filter((a) => !a.passed);
  if (failed.length > 0) {
    return { outcome: 'fail', message: `${target.label}: ${failed.map((a) => a.message).join('; ')}`, assertions, measurements, details };
  }
  return {
    outcome: 'pass',
    message: `${target.label}: trusted certificate for ${hostname}, ${daysToExpiry} days left (notAfter ${notAfter.toISOString().slice(0, 10)}), ${String(socketFacts.protocol)}`,
    assertions,
    measurements,
    details,
  };
};

/** `https://host[:port]/...` or `host:port` or `host` (port 443). */
function parseTarget(raw: string): Target | undefined {
  const text = raw.trim();
  try {
    const url = new URL(text.includes('://') ? text : `tls://${text}`);
    if (!url.hostname) return undefined;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = url.port ? Number(url.port) : 443;
    return { host, port, label: `${url.hostname}:${port}` };
  } catch {
    return undefined;
  }
}

/** The default roots plus ctx.ca and the check's own CA file (Node's `ca` option replaces the defaults otherwise). */
async function trustedExtras(spec: TlsCheckSpec, ctx: AttemptContext): Promise<string[]> {
  const extras: string[] = [];
  if (ctx.ca) extras.push(ctx.ca);
  if (spec.ca) {
    const file = path.resolve(ctx.baseDir, spec.ca);
    try {
      extras.push(await readFile(file, 'utf8'));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new Error(`tls check "${spec.name}": cannot read the CA file ${file} (${code}); the path in \`ca:\` is relative to ${ctx.baseDir}`);
    }
  }
  return extras;
}

interface Handshake {
  cert: DetailedPeerCertificate;
  authorizationError: string | undefined;
  handshakeMs: number;
  socketFacts: { protocol: string | null; cipher: string | null; alpn: string | null };
}

interface HandshakeFailure {
  kind: ErrorKind;
  message: string;
}

function connect(target: Target, servername: string | undefined, extraCa: string[], ctx: AttemptContext): Promise<Handshake> {
  return new Promise<Handshake>((resolve, reject) => {
    const started = performance.now();
    let settled = false;
    const socket: TLSSocket = tls.connect({
      host: target.host,
      port: target.port,
      ...(servername ? { servername } : {}),
      ...(extraCa.length > 0 ? { ca: [...tls.rootCertificates, ...extraCa] } : {}),
      rejectUnauthorized: false,
      // Host name is judged on its own below; keep it out of the chain verdict.
      checkServerIdentity: () => undefined,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    const finish = (outcome: { ok: Handshake } | { error: HandshakeFailure }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };
    const timer = setTimeout(
      () => finish({ error: { kind: 'timeout', message: `${target.label}: no TLS handshake within the connect timeout of ${formatDuration(ctx.timeouts.connect)}` } }),
      ctx.timeouts.connect,
    );
    const onAbort = () => finish({ error: { kind: 'deadline', message: `${target.label}: stopped because the deadline passed during the TLS handshake` } });
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    socket.once('secureConnect', () => {
      const cipher = socket.getCipher();
      finish({
        ok: {
          cert: socket.getPeerCertificate(true),
          authorizationError: socket.authorized ? undefined : String(socket.authorizationError ?? 'UNKNOWN'),
          handshakeMs: performance.now() - started,
          socketFacts: {
            protocol: socket.getProtocol(),
            cipher: cipher?.standardName ?? cipher?.name ?? null,
            alpn: socket.alpnProtocol || null,
          },
        },
      });
    });
    socket.once('error', (error: NodeJS.ErrnoException) => finish({ error: describeConnectError(error, target) }));
  });
}

function describeConnectError(error: NodeJS.ErrnoException, target: Target): HandshakeFailure {
  const code = error.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'connect', message: `${target.label}: connection refused (is the service running and listening on that port?)` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { kind: 'dns', message: `${target.label}: host name could not be resolved (${code})` };
    case 'ETIMEDOUT':
      return { kind: 'timeout', message: `${target.label}: connection timed out (${code})` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { kind: 'connect', message: `${target.label}: host unreachable (${code})` };
    case 'ECONNRESET':
    case 'EPIPE':
      return { kind: 'reset', message: `${target.label}: the connection was closed during the TLS handshake (${code}); is this port serving TLS?` };
    default:
      if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
        return { kind: 'tls', message: `${target.label}: the server did not answer with TLS (${code}); is this port serving plain HTTP?` };
      }
      if (/SSL|TLS/.test(code)) {
        // OpenSSL messages carry file and line noise; its `reason` is the readable part.
        const reason = (error as { reason?: string }).reason ?? error.message.split('\n')[0];
        return { kind: 'tls', message: `${target.label}: TLS handshake failed: ${reason} (${code})` };
      }
      return { kind: 'protocol', message: `${target.label}: ${error.message}${code ? ` (${code})` : ''}` };
  }
}

/** `DNS:a.example, IP Address:127.0.0.1` -> ['DNS:a.example', 'IP Address:127.0.0.1']. */
function subjectAltNames(cert: PeerCertificate): string[] {
  if (!cert.subjectaltname) return [];
  return cert.subjectaltname.split(/,\s*/).map((entry) => entry.trim()).filter(Boolean);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `CN=localhost, O=Example`: the fields people recognise, in the usual order. */
function describeName(name: PeerCertificate['subject'] | undefined): string {
  if (!name) return '(none)';
  const order = ['CN', 'O', 'OU', 'L', 'ST', 'C'];
  const record = name as unknown as Record<string, string | string[] | undefined>;
  const keys = [...order.filter((k) => k in record), ...Object.keys(record).filter((k) => !order.includes(k))];
  const parts = keys.map((key) => {
    const value = record[key];
    return `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`;
  });
  return parts.length > 0 ? parts.join(', ') : '(empty)';
}

/** Subjects from the leaf up, as far as the server sent (and the trust store completed) the chain. */
function chainOf(cert: DetailedPeerCertificate): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  let current: DetailedPeerCertificate | undefined = cert;
  while (current && current.raw && !seen.has(current.fingerprint256)) {
    seen.add(current.fingerprint256);
    chain.push(describeName(current.subject));
    current = current.issuerCertificate;
  }
  return chain;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
