/**
 * Which commit a deployment record points at. On pull_request events GITHUB_SHA is the merge commit GitHub made for
 * the check run, which nobody deployed: the record must name the PR head SHA.
 */
import { readFileSync } from 'node:fs';
import { runUrlFromEnv } from '../github/env.js';

export interface RefSource {
  /** The ref input, when the user gave one. */
  input?: string;
  env: Record<string, string | undefined>;
}

export function readEventPayload(env: Record<string, string | undefined>): Record<string, unknown> | undefined {
  const path = env.GITHUB_EVENT_PATH;
  if (!path) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

export function deploymentRef(source: RefSource): string | undefined {
  if (source.input) return source.input;
  const event = source.env.GITHUB_EVENT_NAME ?? '';
  if (event === 'pull_request' || event === 'pull_request_target') {
    const payload = readEventPayload(source.env) as { pull_request?: { head?: { sha?: string } } } | undefined;
    const head = payload?.pull_request?.head?.sha;
    if (head) return head;
  }
  return source.env.GITHUB_SHA;
}

/** The run's identity for idempotent records: the same across re-runs of the same workflow run. */
export function runIdentity(env: Record<string, string | undefined>): { runId?: string; runAttempt?: number; runUrl?: string } {
  const runId = env.GITHUB_RUN_ID;
  if (!runId) return {};
  const runUrl = runUrlFromEnv(env);
  const attempt = Number(env.GITHUB_RUN_ATTEMPT);
  return { runId, ...(Number.isInteger(attempt) && attempt > 0 ? { runAttempt: attempt } : {}), ...(runUrl ? { runUrl } : {}) };
}

/** A version or ref is one line of printable text: it reaches logs, records and other tools' inputs. */
export function versionProblem(name: string, value: string): string | undefined {
  if (value.length > 256) return `${name}: ${value.length} characters is too long (at most 256)`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) return `${name}: contains a line break or control character (expected one line, e.g. a commit SHA or a tag like 1.4.2)`;
  return undefined;
}
