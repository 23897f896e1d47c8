/** Facts about the GitHub run, read from the runner's environment variables (no API calls, no octokit). */

/** `owner` and `repo` from GITHUB_REPOSITORY ("owner/repo"), or undefined when unset or malformed. */
export function repoFromEnv(env: Record<string, string | undefined>): { owner: string; repo: string } | undefined {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(env.GITHUB_REPOSITORY ?? '');
  return match ? { owner: match[1]!, repo: match[2]! } : undefined;
}

/** The API base URL of the GitHub the run is on (GITHUB_API_URL on GHES), default https://api.github.com. */
export function apiUrlFromEnv(env: Record<string, string | undefined>): string {
  return (env.GITHUB_API_URL || 'https://api.github.com').replace(/\/+$/, '');
}

/**
 * The URL of the workflow run: GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID, plus /attempts/N on
 * a re-run (attempt > 1). Undefined outside GitHub Actions.
 */
export function runUrlFromEnv(env: Record<string, string | undefined>): string | undefined {
  const runId = env.GITHUB_RUN_ID;
  const repository = env.GITHUB_REPOSITORY;
  if (!runId || !repository) return undefined;
  const server = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const attempt = env.GITHUB_RUN_ATTEMPT;
  return `${server}/${repository}/actions/runs/${runId}${attempt && attempt !== '1' ? `/attempts/${attempt}` : ''}`;
}
