/**
 * Real webhook payloads (@octokit/webhooks-examples) for tests that play a GitHub Actions event, and a helper that
 * writes a pull_request event the way a runner presents it: GITHUB_SHA is the merge commit, the payload's
 * pull_request.head.sha is the PR head — the two differ, which is the point.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { WebhookEventMap, WebhookEventName } from '@octokit/webhooks-types';

interface WebhookDefinition {
  name: string;
  examples: unknown[];
}

const require = createRequire(import.meta.url);
let definitions: WebhookDefinition[] | undefined;

function load(): WebhookDefinition[] {
  definitions ??= JSON.parse(readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8')) as WebhookDefinition[];
  return definitions;
}

/**
 * A copy of the first real example payload of `event` that satisfies `predicate`, e.g.
 * `examplePayload('pull_request', (p) => p.action === 'opened')`. Throws when there is none.
 */
export function examplePayload<E extends WebhookEventName>(event: E, predicate: (payload: WebhookEventMap[E]) => boolean = () => true): WebhookEventMap[E] {
  const definition = load().find((candidate) => candidate.name === event);
  if (!definition) throw new Error(`@octokit/webhooks-examples has no "${event}" event`);
  const found = (definition.examples as WebhookEventMap[E][]).find((example) => predicate(example));
  if (!found) throw new Error(`@octokit/webhooks-examples has no "${event}" example matching the predicate (${definition.examples.length} examples)`);
  return structuredClone(found);
}

export interface PullRequestEventOptions {
  owner?: string;
  repo?: string;
  number?: number;
  /** The PR head commit (pull_request.head.sha). */
  headSha?: string;
  /** The merge commit GitHub builds for the PR (GITHUB_SHA on pull_request events). */
  mergeSha?: string;
  headRef?: string;
  baseRef?: string;
  action?: 'opened' | 'synchronize' | 'reopened';
}

export interface PullRequestEvent {
  payload: WebhookEventMap['pull_request'];
  number: number;
  headSha: string;
  mergeSha: string;
  /** The event file written in the given folder. */
  eventPath: string;
  /** The environment a runner sets for this event (GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_SHA, GITHUB_REF...). */
  env: Record<string, string>;
}

/** Writes `<dir>/event.json` from the real "opened" example, adjusted to the given repository, number and SHAs. */
export function pullRequestEvent(dir: string, options: PullRequestEventOptions = {}): PullRequestEvent {
  const owner = options.owner ?? 'octo-org';
  const repo = options.repo ?? 'octo-repo';
  const number = options.number ?? 7;
  const headSha = options.headSha ?? 'a'.repeat(40);
  const mergeSha = options.mergeSha ?? 'b'.repeat(40);
  const headRef = options.headRef ?? 'feature/preview';
  const baseRef = options.baseRef ?? 'main';
  const payload = examplePayload('pull_request', (example) => example.action === 'opened');
  const repository = { ...payload.repository, name: repo, full_name: `${owner}/${repo}`, owner: { ...payload.repository.owner, login: owner } };
  const adjusted = {
    ...payload,
    action: options.action ?? 'opened',
    number,
    repository,
    pull_request: {
      ...payload.pull_request,
      number,
      merge_commit_sha: mergeSha,
      head: { ...payload.pull_request.head, sha: headSha, ref: headRef, label: `${owner}:${headRef}`, repo: repository },
      base: { ...payload.pull_request.base, ref: baseRef, label: `${owner}:${baseRef}`, repo: repository },
    },
  } as WebhookEventMap['pull_request'];
  const eventPath = join(dir, 'event.json');
  writeFileSync(eventPath, JSON.stringify(adjusted, null, 2));
  return {
    payload: adjusted,
    number,
    headSha,
    mergeSha,
    eventPath,
    env: {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_SHA: mergeSha,
      GITHUB_REF: `refs/pull/${number}/merge`,
      GITHUB_HEAD_REF: headRef,
      GITHUB_BASE_REF: baseRef,
      GITHUB_REPOSITORY: `${owner}/${repo}`,
    },
  };
}
