/**
 * Makes untrusted text (response bodies, error messages, names) inert in GitHub-flavoured markdown:
 * no HTML, no links or images, no table breaks, no @mentions or #references that notify people.
 */
const MARKDOWN_SPECIAL = /[\\`*_{}[\]()#+!~|<>&]/g;
const ENTITY: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '|': '&#124;' };

export function inert(text: string, maxLength = 500): string {
  let value = text.length > maxLength ? `${text.slice(0, maxLength)}…` : text;
  value = value.replace(/\r?\n|\r/g, ' ');
  value = value.replace(MARKDOWN_SPECIAL, (ch) => ENTITY[ch] ?? `\\${ch}`);
  // A zero-width joiner after @ stops mentions (and team pings) without changing what people read.
  value = value.replace(/@(?=[A-Za-z0-9])/g, '@\u200d');
  // Bare URLs would be autolinked; break the scheme so they stay text.
  value = value.replace(/\b(https?):\/\//gi, '$1:\u200b//');
  return value;
}

/** Inline code that cannot be broken out of: picks a fence longer than any backtick run inside. */
export function code(text: string, maxLength = 200): string {
  const value = (text.length > maxLength ? `${text.slice(0, maxLength)}…` : text).replace(/\r?\n|\r/g, ' ').replace(/\|/g, '¦');
  const longest = Math.max(0, ...[...value.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${value}${pad}${fence}`;
}
