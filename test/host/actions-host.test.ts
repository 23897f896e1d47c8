import { describe, expect, it, jest } from '@jest/globals';
import { actionsHost } from '../../packages/host/actions-host.js';
import { Secrets } from '../../packages/config/secrets.js';

/** What the host writes to stdout (where the runner reads workflow commands) while `work` runs. */
function capture(work: () => void): string {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    work();
  } finally {
    spy.mockRestore();
  }
  return written.join('');
}

describe('the Actions host', () => {
  it('defuses workflow commands hidden in untrusted text, on the first line and after line breaks', () => {
    const host = actionsHost(new Secrets());
    const out = capture(() => {
      host.info('::set-output name=passed::true');
      host.warning('server said:\n::add-mask::x\n  ::stop-commands::abc');
      host.error('deploying 1.0\n::warning title=INJECTED::from version');
    });
    const lines = out.split(/\r?\n/);
    const commands = lines.filter((line) => /^\s*::/.test(line)).map((line) => line.replace(/::.*$/, '::'));
    // Only the host's own commands remain: the ::warning:: and ::error:: it emits for warning() and error().
    expect(lines.filter((line) => /^\s*::(set-output|add-mask|stop-commands)/.test(line))).toEqual([]);
    expect(lines.some((line) => line.startsWith('::warning title=INJECTED'))).toBe(false);
    expect(commands.length).toBeGreaterThan(0);
  });

  it('masks secrets before anything is written', () => {
    const secrets = new Secrets();
    secrets.add('tok-0123456789');
    const host = actionsHost(secrets);
    const out = capture(() => host.info('token is tok-0123456789'));
    expect(out).toContain('token is ***');
    expect(out).not.toContain('tok-0123456789');
  });
});
