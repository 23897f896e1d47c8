/**
 * The fake GitHub's memory: repositories with their deployments, statuses, issues (pull requests are issues too, as on
 * GitHub), comments, reactions, labels and commit -> pull request links. Plain records, open to tests for assertions.
 */

export interface FakeUser {
  login: string;
  id: number;
  type: 'User' | 'Bot' | 'Organization';
}

export type DeploymentStatusState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentStatusRecord {
  id: number;
  state: DeploymentStatusState;
  description: string;
  environment: string;
  targetUrl: string;
  logUrl: string;
  environmentUrl: string;
  creator: FakeUser;
  createdAt: string;
  /** Added by GitHub itself (auto_inactive), not by a request. */
  automatic: boolean;
}

export interface DeploymentRecord {
  id: number;
  sha: string;
  ref: string;
  task: string;
  payload: unknown;
  environment: string;
  originalEnvironment: string;
  description: string | null;
  creator: FakeUser;
  createdAt: string;
  updatedAt: string;
  transient: boolean;
  production: boolean;
  /** Oldest first. */
  statuses: DeploymentStatusRecord[];
}

export interface PullData {
  headSha: string;
  headRef: string;
  baseRef: string;
  baseSha: string;
  mergeCommitSha: string | null;
  merged: boolean;
  mergedAt: string | null;
  draft: boolean;
}

export interface IssueRecord {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  stateReason: string | null;
  labels: string[];
  assignees: string[];
  user: FakeUser;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  locked: boolean;
  /** Set when the issue is a pull request. */
  pull?: PullData;
}

export type ReactionContent = '+1' | '-1' | 'laugh' | 'confused' | 'heart' | 'hooray' | 'rocket' | 'eyes';

export interface ReactionRecord {
  id: number;
  content: ReactionContent;
  user: FakeUser;
  createdAt: string;
}

export interface CommentRecord {
  id: number;
  issueNumber: number;
  body: string;
  user: FakeUser;
  createdAt: string;
  updatedAt: string;
  reactions: ReactionRecord[];
}

export interface LabelRecord {
  id: number;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

export interface RepoState {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  /** Branch or tag name -> SHA, for deployments created from a name (a SHA needs no entry). */
  refs: Map<string, string>;
  /** Oldest first. */
  deployments: DeploymentRecord[];
  /** Workflow runs by id: whether each is still going (GET /actions/runs/{run_id}). */
  runs: Map<number, { status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null }>;
  issues: Map<number, IssueRecord>;
  /** Oldest first. */
  comments: CommentRecord[];
  /** Keyed by lower-cased name (GitHub label names are case-insensitive). */
  labels: Map<string, LabelRecord>;
  /** Commit SHA -> numbers of pull requests associated with it (besides pulls whose head is that SHA). */
  commitPulls: Map<string, number[]>;
  /** Commit SHA -> status context -> state, consulted for a deployment's required_contexts. */
  commitStatuses: Map<string, Map<string, 'error' | 'failure' | 'pending' | 'success'>>;
  nextNumber: number;
}

export const GITHUB_ACTIONS_BOT: FakeUser = { login: 'github-actions[bot]', id: 41898282, type: 'Bot' };

export class FakeState {
  readonly repos = new Map<string, RepoState>();
  private nextId = 1000;

  constructor(private readonly now: () => Date) {}

  id(): number {
    return this.nextId++;
  }

  /** GitHub timestamps: ISO 8601, whole seconds, UTC. */
  timestamp(): string {
    return this.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  addRepo(fullName: string, options: { defaultBranch?: string; private?: boolean } = {}): RepoState {
    const [owner, name] = fullName.split('/');
    if (!owner || !name) throw new Error(`fake GitHub: a repository is "owner/name", got "${fullName}"`);
    const repo: RepoState = {
      id: this.id(),
      owner,
      name,
      defaultBranch: options.defaultBranch ?? 'main',
      private: options.private ?? false,
      refs: new Map(),
      deployments: [],
      runs: new Map(),
      issues: new Map(),
      comments: [],
      labels: new Map(),
      commitPulls: new Map(),
      commitStatuses: new Map(),
      nextNumber: 1,
    };
    this.repos.set(fullName.toLowerCase(), repo);
    return repo;
  }

  repo(owner: string, name: string): RepoState | undefined {
    return this.repos.get(`${owner}/${name}`.toLowerCase());
  }

  /** The label, created with GitHub's default colour when missing (adding an unknown label to an issue creates it). */
  ensureLabel(repo: RepoState, name: string): LabelRecord {
    const existing = repo.labels.get(name.toLowerCase());
    if (existing) return existing;
    const label: LabelRecord = { id: this.id(), name, color: 'ededed', description: null, default: false };
    repo.labels.set(name.toLowerCase(), label);
    return label;
  }
}

/** The newest status of a deployment, if any. */
export function latestStatus(deployment: DeploymentRecord): DeploymentStatusRecord | undefined {
  return deployment.statuses.at(-1);
}
