/** Renderers for the validation report: terminal text, markdown (PR comments, files) and the capped job summary. */
import type { CheckResult, Outcome } from '../checks/model.js';
import { formatDuration } from '../config/duration.js';
import { inert } from './escape.js';
import type { ValidationReport } from './model.js';

const ICON: Record<Outcome, string> = { pass: '✅', fail: '❌', error: '⛔', 'no-data': '❔' };
const WORD: Record<Outcome, string> = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', 'no-data': 'NO DATA' };

function keyMeasurement(check: CheckResult): string {
  const m = check.measurements;
  const parts: string[] = [];
  if (m.status !== undefined) parts.push(`HTTP ${m.status}`);
  if (m.p95_ms !== undefined) parts.push(`p95 ${Math.round(m.p95_ms)} ms`);
  if (m.rps !== undefined) parts.push(`${Math.round(m.rps)} req/s`);
  if (m.error_rate !== undefined) parts.push(`errors ${(m.error_rate * 100).toFixed(1)}%`);
  if (m.days_to_expiry !== undefined) parts.push(`${Math.floor(m.days_to_expiry)} days left`);
  if (m.rtt_ms !== undefined) parts.push(`rtt ${Math.round(m.rtt_ms)} ms`);
  else if (m.latency_ms !== undefined && m.p95_ms === undefined) parts.push(`${Math.round(m.latency_ms)} ms`);
  const version = check.details?.negotiatedProtocolVersion;
  if (typeof version === 'string') parts.push(`MCP ${version}`);
  return parts.join(', ');
}

export function verdictLine(report: ValidationReport): string {
  const s = report.summary;
  const head = report.verdict === 'passed' ? 'PASSED' : 'FAILED';
  const extra = s.total === 0 ? ' (no checks ran: nothing was verified)' : s.passed === 0 ? ' (nothing passed: nothing was verified)' : '';
  return `${head}: ${s.passed}/${s.total} checks passed in ${formatDuration(report.durationMs)} (environment ${report.environment})${extra}`;
}

export function renderText(report: ValidationReport, options: { color?: boolean } = {}): string {
  const paint = (code: number, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  for (const check of report.checks) {
    const word = WORD[check.outcome].padEnd(7);
    const colored = paint(check.outcome === 'pass' ? 32 : check.optional ? 33 : 31, word);
    const opt = check.optional ? ' (optional)' : '';
    lines.push(`${colored} ${check.name}${opt} [${check.kind}] ${check.target}  ${formatDuration(check.durationMs)}`);
    if (check.outcome !== 'pass') lines.push(`        ${check.message}`);
    for (const a of check.assertions.filter((x) => !x.passed)) lines.push(`        ✗ ${assertionText(a)}`);
    if (madeAttempts(check) > 1) lines.push(`        after ${madeAttempts(check)} attempts`);
  }
  lines.push('');
  lines.push(paint(report.verdict === 'passed' ? 32 : 31, verdictLine(report)));
  return lines.join('\n');
}

/** Attempts that reached the target (an open breaker refuses an attempt before it is made). */
function madeAttempts(check: CheckResult): number {
  return check.attempts.filter((a) => a.errorKind !== 'breaker-open').length;
}

/** "expectation: why", without saying the expectation twice when the message already starts with it. */
function assertionText(a: CheckResult['assertions'][number]): string {
  if (!a.message) return a.expectation;
  return a.message.startsWith(a.expectation) ? a.message : `${a.expectation}: ${a.message}`;
}

function checkRow(check: CheckResult): string {
  const cells = [
    `${ICON[check.outcome]} ${WORD[check.outcome]}`,
    inert(check.name) + (check.optional ? ' _(optional)_' : ''),
    check.kind,
    inert(check.target, 120),
    inert(keyMeasurement(check)),
    String(madeAttempts(check)),
    inert(check.message, 300),
  ];
  return `| ${cells.join(' | ')} |`;
}

const TABLE_HEAD = '| Result | Check | Kind | Target | Key figures | Attempts | Details |\n|---|---|---|---|---|---|---|';

function header(report: ValidationReport): string {
  const icon = report.verdict === 'passed' ? '✅' : '❌';
  const service = report.service ? `${inert(report.service)} · ` : '';
  return `### ${icon} rollgate validate: ${service}${inert(report.environment)}\n\n**${inert(verdictLine(report))}**`;
}

function failureDetails(report: ValidationReport): string[] {
  const out: string[] = [];
  for (const check of report.checks.filter((c) => c.outcome !== 'pass')) {
    const failed = check.assertions.filter((a) => !a.passed);
    if (failed.length === 0 && check.attempts.length <= 1) continue;
    out.push(`<details><summary>${ICON[check.outcome]} ${inert(check.name)}</summary>\n`);
    for (const a of failed) {
      out.push(`- ${inert(assertionText(a))}${a.observed ? ` (observed ${inert(a.observed, 200)})` : ''}`);
    }
    for (const attempt of check.attempts) {
      out.push(`- attempt ${attempt.attempt}: ${attempt.outcome} — ${inert(attempt.message, 200)}`);
    }
    out.push('\n</details>');
  }
  return out;
}

export function renderMarkdown(report: ValidationReport): string {
  return [header(report), '', TABLE_HEAD, ...report.checks.map(checkRow), '', ...failureDetails(report)].join('\n').trimEnd() + '\n';
}

/** GitHub refuses step summaries over 1 MiB; stay well under it and say so when rows were left out. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024 - 16 * 1024;

/**
 * Markdown for the job summary, cut at a row boundary so no table row or character is split, with a note naming how many
 * checks were left out. The verdict line always comes first, so a cut never changes what the reader sees as the result.
 */
export function renderSummary(report: ValidationReport, options: { limitBytes?: number; reportPath?: string } = {}): string {
  const limit = options.limitBytes ?? SUMMARY_LIMIT_BYTES;
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const head = `${header(report)}\n\n${TABLE_HEAD}\n`;
  const where = options.reportPath ? ` The full result is in ${inert(options.reportPath)}.` : ' The full result is in the JSON report.';
  const noteFor = (left: number) => `\n> [!NOTE]\n> Summary cut to stay under GitHub's 1 MiB limit: ${left} of ${report.checks.length} checks are not shown here.${where}\n`;
  const reserve = bytes(noteFor(report.checks.length)) + 64;
  let body = head;
  let used = bytes(body);
  let shown = 0;
  for (const check of report.checks) {
    const row = `${checkRow(check)}\n`;
    const size = bytes(row);
    if (used + size + reserve > limit) break;
    body += row;
    used += size;
    shown++;
  }
  if (shown < report.checks.length) return body + noteFor(report.checks.length - shown);
  const details = failureDetails(report).join('\n');
  if (details && used + bytes(details) + 2 <= limit) body += `\n${details}\n`;
  else if (details) body += `\n> [!NOTE]\n> The details of the checks that did not pass are left out to stay under GitHub's 1 MiB limit.${where}\n`;
  return body;
}
