import { describe, it, expect } from '@jest/globals';
import { checkConditions, evaluateCondition, parseCondition, type Condition } from '../../packages/checks/conditions.js';
import { describeStatusExpectation, statusMatches } from '../../packages/checks/status.js';

function parsed(text: string): Condition {
  const result = parseCondition(text);
  if (!result.ok) throw new Error(result.message);
  return result.condition;
}

function check(text: string, json: unknown) {
  return evaluateCondition(parsed(text), json);
}

const doc = {
  status: 'ok',
  version: '1.4.2',
  name: 'alice',
  latency: 12,
  ratio: '0.5',
  tags: ['stable', 'beta'],
  checks: { cache: 'up', queue: 'up' },
  data: { items: [{ id: 3 }, { id: 7 }], empty: [] },
  flags: { enabled: true, owner: null },
  'odd key': 1,
};

describe('status expectations', () => {
  it('matches an exact status, a class, a range and a list', () => {
    expect(statusMatches(200, 200)).toBe(true);
    expect(statusMatches(201, 200)).toBe(false);
    expect(statusMatches(204, '2xx')).toBe(true);
    expect(statusMatches(302, '2xx')).toBe(false);
    expect(statusMatches(250, '200-299')).toBe(true);
    expect(statusMatches(300, '200-299')).toBe(false);
    expect(statusMatches(404, [200, '4xx'])).toBe(true);
    expect(statusMatches(500, [200, '4xx'])).toBe(false);
    expect(statusMatches(404, '404')).toBe(true);
  });

  it('describes expectations the way people say them', () => {
    expect(describeStatusExpectation(200)).toBe('200');
    expect(describeStatusExpectation('2xx')).toBe('2xx');
    expect(describeStatusExpectation('200-299')).toBe('200-299');
    expect(describeStatusExpectation([200, 204, '3xx'])).toBe('200, 204 or 3xx');
  });
});

describe('parsing conditions', () => {
  it('reads a path, an operator and a JSON literal', () => {
    const cond = parsed('$.data.items[0].id >= 3');
    expect(cond.pathText).toBe('$.data.items[0].id');
    expect(cond.operator).toBe('>=');
    expect(cond.value).toBe(3);
  });

  it('takes bare words as strings and quoted strings as JSON strings', () => {
    expect(parsed('$.name != bob').value).toBe('bob');
    expect(parsed('$.status == "ok"').value).toBe('ok');
    expect(parsed("$.status == 'ok'").value).toBe('ok');
    expect(parsed('$.flags.enabled == true').value).toBe(true);
    expect(parsed('$.flags.owner == null').value).toBeNull();
  });

  it('reads quoted keys and negative indexes in paths', () => {
    expect(parsed('$["odd key"] == 1').path).toEqual([{ kind: 'key', key: 'odd key' }]);
    expect(check('$.tags[-1] == beta', doc).passed).toBe(true);
  });

  it('rejects a condition without a path and says how to write one', () => {
    const result = parseCondition('status == ok');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/starts with a JSON path such as \$\.status/);
  });

  it('rejects an unknown operator and lists the known ones', () => {
    const result = parseCondition('$.status = ok');
    expect(!result.ok && result.message).toMatch(/use == to compare/);
    expect(!result.ok && result.message).toMatch(/== != < <= > >= contains matches exists/);
  });

  it('rejects a numeric comparison with a value that is not a number', () => {
    const result = parseCondition('$.latency < fast');
    expect(!result.ok && result.message).toMatch(/"<" compares numbers, and fast is not a number/);
  });

  it('rejects an invalid regular expression with the reason', () => {
    const result = parseCondition('$.version matches ^(1');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(/invalid regular expression \/\^\(1\/: .*unterminated group/i);
  });

  it('rejects a missing value after an operator that needs one', () => {
    expect(parseCondition('$.status ==').ok).toBe(false);
    expect(parseCondition('$.checks.db exists now').ok).toBe(false);
  });
});

describe('evaluating conditions', () => {
  it('passes == and != on strings, numbers, booleans and null', () => {
    expect(check('$.status == "ok"', doc).passed).toBe(true);
    expect(check('$.latency == 12', doc).passed).toBe(true);
    expect(check('$.flags.enabled == true', doc).passed).toBe(true);
    expect(check('$.flags.owner == null', doc).passed).toBe(true);
    expect(check('$.name != bob', doc).passed).toBe(true);
    expect(check('$.tags == ["stable", "beta"]', doc).passed).toBe(true);
  });

  it('fails == with the observed value and the expected one', () => {
    const result = check('$.status == "degraded"', doc);
    expect(result).toMatchObject({ passed: false, observed: '"ok"', message: '$.status is "ok", expected == "degraded"' });
  });

  it('fails != when the value equals the excluded one', () => {
    expect(check('$.name != alice', doc)).toMatchObject({ passed: false, message: '$.name is "alice", expected != "alice"' });
  });

  it('explains a number compared with a quoted number', () => {
    expect(check('$.latency == "12"', doc).message).toMatch(/the value is a number: write it without quotes/);
  });

  it('compares numbers with < <= > >=', () => {
    expect(check('$.data.items[0].id >= 3', doc).passed).toBe(true);
    expect(check('$.data.items[1].id > 3', doc).passed).toBe(true);
    expect(check('$.latency < 300', doc).passed).toBe(true);
    expect(check('$.latency <= 12', doc).passed).toBe(true);
    expect(check('$.latency < 10', doc)).toMatchObject({ passed: false, message: '$.latency is 12, expected < 10' });
  });

  it('fails a numeric comparison against a value that is not a number and says what it is', () => {
    expect(check('$.ratio < 1', doc)).toMatchObject({ passed: false, message: '$.ratio is a string ("0.5"), not a number; `< 1` compares numbers' });
  });

  it('checks contains on strings, arrays and object keys', () => {
    expect(check('$.tags contains "beta"', doc).passed).toBe(true);
    expect(check('$.version contains ".4."', doc).passed).toBe(true);
    expect(check('$.checks contains cache', doc).passed).toBe(true);
    expect(check('$.tags contains alpha', doc)).toMatchObject({ passed: false, message: '$.tags is ["stable","beta"], expected it to contain the element "alpha"' });
    expect(check('$.latency contains 1', doc).message).toMatch(/`contains` needs a string, an array or an object/);
  });

  it('checks matches with a regular expression', () => {
    expect(check('$.version matches ^1\\.', doc).passed).toBe(true);
    expect(check('$.status matches /^OK$/i', doc).passed).toBe(true);
    expect(check('$.version matches ^2\\.', doc)).toMatchObject({ passed: false, message: '$.version is "1.4.2", expected it to match /^2\\./' });
  });

  it('passes exists for a present key, even one holding null', () => {
    expect(check('$.checks.cache exists', doc).passed).toBe(true);
    expect(check('$.flags.owner exists', doc).passed).toBe(true);
  });

  it('fails a missing path naming the deepest part that exists and its keys', () => {
    expect(check('$.checks.db exists', doc)).toMatchObject({
      passed: false,
      message: '$.checks.db: no key `db` under $.checks (keys: cache, queue)',
    });
    expect(check('$.checks.db == up', doc).message).toBe('$.checks.db: no key `db` under $.checks (keys: cache, queue)');
  });

  it('fails an index past the end of an array with its length', () => {
    expect(check('$.data.items[5].id == 1', doc).message).toBe('$.data.items[5].id: no element [5] in $.data.items (length 2)');
    expect(check('$.data.empty[0] exists', doc).message).toBe('$.data.empty[0]: no element [0] in $.data.empty (the array is empty)');
  });

  it('fails a path through a scalar and says what the scalar is', () => {
    expect(check('$.status.code == 200', doc).message).toBe('$.status.code: $.status is a string, not an object');
    expect(check('$.latency[0] exists', doc).message).toBe('$.latency[0]: $.latency is a number, not an array');
    expect(check('$.flags.owner.name exists', doc).message).toBe('$.flags.owner.name: $.flags.owner is null, not an object');
  });

  it('suggests an index when a key is used on an array', () => {
    expect(check('$.tags.first exists', doc).message).toBe('$.tags.first: $.tags is an array, not an object (use $.tags[0] to pick an element)');
  });

  it('cuts the observed value to about 200 characters', () => {
    const result = check('$.big == "x"', { big: 'y'.repeat(1000) });
    expect(result.passed).toBe(false);
    expect(result.observed!.length).toBeLessThanOrEqual(200);
    expect(result.observed!.endsWith('…')).toBe(true);
  });

  it('turns an unreadable condition into a failed assertion', () => {
    const [result] = checkConditions(['$.a ~ b'], {});
    expect(result).toMatchObject({ expectation: '$.a ~ b', passed: false });
    expect(result!.message).toMatch(/unknown operator/);
  });
});
