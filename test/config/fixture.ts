/** Helpers for config tests: fixtures written to a temp dir, and positions computed from the fixture text. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FixtureDir {
  readonly dir = mkdtempSync(join(tmpdir(), 'rollgate-config-'));

  write(name: string, text: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return path;
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** 1-based line and column where `needle` starts (the `nth` occurrence, 0-based), counting CRLF as one break. */
export function positionOf(text: string, needle: string, nth = 0): { line: number; col: number } {
  let offset = -1;
  for (let i = 0; i <= nth; i++) {
    offset = text.indexOf(needle, offset + 1);
    if (offset < 0) throw new Error(`fixture does not contain ${JSON.stringify(needle)} ${nth + 1} time(s)`);
  }
  const before = text.slice(0, offset);
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, col: lines.at(-1)!.length + 1 };
}

/** Joins lines with LF; fixtures read better as arrays than as template literals with indentation. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
