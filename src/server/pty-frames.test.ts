import { describe, expect, it } from 'vitest';
import { createMessageBudget, parseClientMessage, tokenFromProtocols } from './pty-frames.ts';

describe('parseClientMessage', () => {
  it('takes binary as input bytes, and JSON resize and input controls', () => {
    expect(parseClientMessage(Buffer.from([0x03]), true)).toEqual({ kind: 'input', data: Buffer.from([3]) });
    expect(parseClientMessage(Buffer.from('{"type":"resize","cols":80,"rows":24}'), false)).toEqual({
      kind: 'resize',
      cols: 80,
      rows: 24,
    });
    expect(parseClientMessage(Buffer.from('{"type":"input","data":"ls\\r"}'), false)).toEqual({
      kind: 'input',
      data: Buffer.from('ls\r'),
    });
  });

  it('refuses anything else whole: not JSON, unknown types or fields, sizes out of range (adversarial)', () => {
    const cases = [
      'ls',
      '{"type":"exec","command":"id"}',
      '{"type":"resize","cols":0,"rows":24}',
      '{"type":"resize","cols":80,"rows":1001}',
      '{"type":"resize","cols":80.5,"rows":24}',
      '{"type":"input","data":"x","extra":1}',
      '{"__proto__":{"type":"input"},"data":"x"}',
      '[]',
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const text of cases) expect(parseClientMessage(Buffer.from(text), false).kind).toBe('invalid');
  });
});

describe('tokenFromProtocols', () => {
  it('decodes the token subprotocol beside the format', () => {
    const token = 'alk_sess_abc-DEF_123';
    const header = `airlock.pty.v1, airlock.token.${Buffer.from(token).toString('base64url')}`;
    expect(tokenFromProtocols(header)).toBe(token);
    expect(tokenFromProtocols('airlock.pty.v1')).toBeUndefined();
    expect(tokenFromProtocols(undefined)).toBeUndefined();
  });

  it('ignores an entry that is not base64url or does not decode to a printable token (adversarial)', () => {
    expect(tokenFromProtocols('airlock.token.not base64')).toBeUndefined();
    expect(tokenFromProtocols(`airlock.token.${Buffer.from('a b\n').toString('base64url')}`)).toBeUndefined();
    expect(tokenFromProtocols(`airlock.token.${'A'.repeat(600)}`)).toBeUndefined();
  });
});

describe('createMessageBudget', () => {
  it('allows a burst of one second’s messages, then refills with time', () => {
    let now = 0;
    const budget = createMessageBudget(10, () => now);
    const burst = Array.from({ length: 12 }, () => budget.take());
    expect(burst.filter(Boolean)).toHaveLength(10);
    now += 500;
    expect(Array.from({ length: 6 }, () => budget.take()).filter(Boolean)).toHaveLength(5);
  });
});
