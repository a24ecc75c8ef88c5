import { expect } from 'chai';
import { escapeControl, escapeJson } from '../../bin/cli/escape';
import { table } from '../../bin/cli/format';
import { integerOption, MAX_TIMEOUT_MS } from '../../bin/cli/program';

// eslint-disable-next-line no-control-regex
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

describe('CLI output escaping', () => {
  it('shows every control character as a visible escape', () => {
    expect(escapeControl('a\x1b[2Jb')).to.equal('a\\x1b[2Jb');
    expect(escapeControl('x\ny\rz\tw')).to.equal('x\\ny\\rz\\tw');
    expect(escapeControl('\u009b31m')).to.equal('\\x9b31m');
    expect(escapeControl('\u0000\u007f')).to.equal('\\x00\\x7f');
    expect(escapeControl('evil\u202etxt.exe\u2028')).to.equal('evil\\u202etxt.exe\\u2028');
    expect(escapeControl('plain ünïcode ✓ ws://h:1/p?q')).to.equal('plain ünïcode ✓ ws://h:1/p?q');
  });

  it('shows the invisible characters too: U+061C, zero-width ones, the BOM', () => {
    expect(escapeControl('a\u061cb')).to.equal('a\\u061cb');
    expect(escapeControl('ad\u200bmin\u2060\ufeff')).to.equal('ad\\u200bmin\\u2060\\ufeff');
    expect(JSON.parse(escapeJson(JSON.stringify('a\u061c\u200d')))).to.equal('a\u061c\u200d');
  });

  it('escaped JSON is still the same JSON, with no raw control character', () => {
    const value = { id: 'a\x1b[31m\nFORGED\u009b\u202e', n: 1 };
    const json = escapeJson(JSON.stringify(value));
    expect(json).to.not.match(RAW_CONTROL);
    expect(JSON.parse(json)).to.deep.equal(value);
  });

  it('a table cell with a newline cannot forge a row', () => {
    const out = table([['ID', 'URL'], ['a\n1  forged  row', 'ws://x:1'], ['b', 'ws://y:2']]);
    expect(out.split('\n')).to.have.length(3);
    for (const line of out.split('\n')) expect(line).to.not.match(RAW_CONTROL);
    expect(out.split('\n')[1]).to.contain('a\\n1  forged  row');
  });
});

describe('CLI numeric options are bounded', () => {
  const timeout = integerOption(1, MAX_TIMEOUT_MS, ' (ms)');
  it('accepts values in range', () => {
    expect(timeout('1')).to.equal(1);
    expect(timeout(String(MAX_TIMEOUT_MS))).to.equal(MAX_TIMEOUT_MS);
  });
  it('rejects values out of range, non-integers and absurd sizes with the bounds in the message', () => {
    for (const bad of ['0', '-1', '1.5', '99999999999', '1e3', '', ' 5', '0x10', String(2 ** 31)]) {
      expect(() => timeout(bad), bad).to.throw(`must be an integer from 1 to ${MAX_TIMEOUT_MS} (ms)`);
    }
  });
});
