import { describe, expect, it } from '@jest/globals';
import type { CheckResult } from '../../packages/checks/model.js';
import { buildReport } from '../../packages/report/model.js';
import { renderMarkdown, renderSummary, renderText } from '../../packages/report/render.js';
import { inert } from '../../packages/report/escape.js';

function check(name: string, outcome: CheckResult['outcome'], message = 'ok', optional = false): CheckResult {
  return {
    name,
    kind: 'http',
    target: 'http://127.0.0.1:1/health',
    optional,
    outcome,
    message,
    startedAt: new Date(0).toISOString(),
    durationMs: 12,
    attempts: [{ attempt: 1, startedAt: new Date(0).toISOString(), durationMs: 12, outcome, message }],
    assertions: [],
    measurements: { status: 200, latency_ms: 12 },
  };
}

const base = { version: '0.0.0', environment: 'staging', source: 'inputs', startedAt: new Date(0).toISOString(), durationMs: 1000 };

describe('report verdict', () => {
  it('fails a run in which no check ran, because nothing was seen', () => {
    expect(buildReport({ ...base, checks: [] }).verdict).toBe('failed');
  });

  it('fails a run in which only optional checks ran and none passed: nothing was verified', () => {
    const report = buildReport({ ...base, checks: [check('a', 'fail', 'boom', true), check('b', 'error', 'down', true)] });
    expect(report.verdict).toBe('failed');
    expect(renderText(report)).toContain('nothing passed');
  });

  it('does not count an optional failure against the verdict but still reports it', () => {
    const report = buildReport({ ...base, checks: [check('a', 'pass'), check('b', 'fail', 'boom', true)] });
    expect(report.verdict).toBe('passed');
    expect(report.summary.optionalNotPassed).toBe(1);
    expect(renderText(report)).toContain('boom');
  });

  it.each(['fail', 'error', 'no-data'] as const)('fails the run when a required check ends as %s', (outcome) => {
    const report = buildReport({ ...base, checks: [check('a', 'pass'), check('b', outcome)] });
    expect(report.verdict).toBe('failed');
    expect(report.summary.requiredNotPassed).toBe(1);
  });
});

describe('job summary size cap', () => {
  it('cuts a summary that would pass 1 MiB at a row boundary, adds a note and keeps the verdict', () => {
    const cjk = '検証結果の説明文🙂'.repeat(20);
    const checks = Array.from({ length: 3000 }, (_, i) => check(`チェック ${i} ${cjk}`, i === 2999 ? 'fail' : 'pass', `応答 ${cjk}`));
    const report = buildReport({ ...base, checks });
    const full = renderMarkdown(report);
    expect(Buffer.byteLength(full, 'utf8')).toBeGreaterThan(1024 * 1024);
    const summary = renderSummary(report, { reportPath: '/tmp/r.json' });
    expect(Buffer.byteLength(summary, 'utf8')).toBeLessThan(1024 * 1024);
    expect(summary).toContain("Summary cut to stay under GitHub's 1 MiB limit");
    expect(summary).toMatch(/\d+ of 3000 checks are not shown/);
    expect(summary).toContain('FAILED: 2999/3000 checks passed');
    // Every table row is whole: each line that starts a row also ends it.
    for (const line of summary.split('\n').filter((l) => l.startsWith('| '))) expect(line.endsWith(' |')).toBe(true);
    // No character was split: the text round-trips through UTF-8 unchanged.
    expect(Buffer.from(summary, 'utf8').toString('utf8')).toBe(summary);
    expect(summary).not.toContain('\uFFFD');
  });

  it('leaves a small summary whole, without a note', () => {
    const report = buildReport({ ...base, checks: [check('a', 'pass')] });
    expect(renderSummary(report)).not.toContain('Summary cut');
  });
});

describe('untrusted text in markdown', () => {
  it('renders HTML, table pipes and mentions inert', () => {
    const hostile = '<img src=x onerror=alert(1)> | pipes | @everyone [link](http://evil) `x`';
    const out = inert(hostile);
    expect(out).not.toContain('<img');
    expect(out).not.toMatch(/(^|[^\\])\|/);
    expect(out).not.toContain('@everyone');
    expect(out).not.toContain('](http');
  });

  it('keeps a failing check message from breaking the table row', () => {
    const report = buildReport({ ...base, checks: [check('a|b', 'fail', 'line one\nline two | <script>')] });
    const rows = renderMarkdown(report).split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Result'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).not.toContain('<script>');
  });
});
