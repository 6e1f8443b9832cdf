import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors/index.ts';
import { createStreamReplacer } from './byte-replace.ts';
import {
  PLACEHOLDER_PREFIX,
  createSessionSecrets,
  placeholderGuard,
  substituteBody,
  substituteText,
  valueRedactor,
} from './secrets.ts';

const [token, other] = createSessionSecrets([
  { name: 'API_TOKEN', value: 'tok-value-1234567890', hosts: ['api.example.test'] },
  { name: 'DOCS_KEY', value: 'docs-value-0987654321', hosts: ['*.docs.example.org'] },
]);

describe('createSessionSecrets', () => {
  it('gives each secret a recognisable random placeholder, fresh for every session', () => {
    expect(token!.placeholder).toMatch(/^airlock-secret-API_TOKEN-[0-9a-f]{32}$/);
    const [again] = createSessionSecrets([
      { name: 'API_TOKEN', value: 'tok-value-1234567890', hosts: ['api.example.test'] },
    ]);
    expect(again!.placeholder).not.toBe(token!.placeholder);
    expect(token!.placeholder.startsWith(PLACEHOLDER_PREFIX)).toBe(true);
  });

  it('refuses values that would break a header or the redactor, listing every problem (adversarial)', () => {
    let caught: unknown;
    try {
      createSessionSecrets([
        { name: 'A', value: 'short', hosts: ['a.example'] },
        { name: 'B', value: 'line\r\nX-Injected: 1', hosts: ['a.example'] },
        { name: 'C', value: 'long-enough-value', hosts: [] },
        { name: 'bad name', value: 'long-enough-value', hosts: ['*'] },
      ]);
    } catch (error) {
      caught = error;
    }
    expect(isAirlockError(caught) && caught.code).toBe('INVALID_ARGUMENT');
    const problems = (caught as { details: { problems: string[] } }).details.problems;
    expect(problems.join('\n')).toMatch(/shorter than 8/);
    expect(problems.join('\n')).toMatch(/control characters/);
    expect(problems.join('\n')).toMatch(/names no hosts/);
    expect(problems.join('\n')).toMatch(/not a secret name/);
  });
});

describe('substituteText', () => {
  it('swaps a placeholder for its value only on its own hosts', () => {
    const header = `Bearer ${token!.placeholder}`;
    expect(substituteText(header, 'api.example.test', [token!, other!])).toEqual({
      ok: true,
      text: 'Bearer tok-value-1234567890',
      used: ['API_TOKEN'],
    });
    expect(substituteText(`k=${other!.placeholder}`, 'a.docs.example.org', [token!, other!])).toMatchObject({
      ok: true,
      used: ['DOCS_KEY'],
    });
  });

  it('refuses a placeholder bound for another host instead of sending it (adversarial)', () => {
    const result = substituteText(`Bearer ${token!.placeholder}`, 'evil.example', [token!, other!]);
    expect(result).toEqual({ ok: false, secret: token });
    expect(substituteText(other!.placeholder, 'docs.example.org', [token!, other!]).ok).toBe(false);
  });

  it('finds placeholders inside Basic credentials (curl -u, git)', () => {
    const basic = `Basic ${Buffer.from(`user:${token!.placeholder}`).toString('base64')}`;
    const swapped = substituteText(basic, 'api.example.test', [token!]);
    expect(swapped.ok && Buffer.from(swapped.text.slice(6), 'base64').toString()).toBe(
      'user:tok-value-1234567890',
    );
    expect(substituteText(basic, 'evil.example', [token!]).ok).toBe(false);
  });
});

describe('bodies and streams', () => {
  it('rewrites a whole body for the bound host and refuses it for another', () => {
    const body = Buffer.from(`{"key":"${token!.placeholder}"}`);
    const rewritten = substituteBody(body, 'api.example.test', [token!]);
    expect(rewritten.ok && rewritten.body.toString()).toBe('{"key":"tok-value-1234567890"}');
    expect(substituteBody(body, 'evil.example', [token!])).toEqual({ ok: false, secret: token });
  });

  it('stops a stream at a placeholder cut across any chunk boundary, before any of it is forwarded (property)', () => {
    const placeholder = Buffer.from(token!.placeholder);
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 20 }),
        (before, after, cuts) => {
          const stream = Buffer.concat([before, placeholder, after]);
          const guard = placeholderGuard([token!])!;
          const forwarded: Buffer[] = [];
          let stopped = false;
          let at = 0;
          for (const size of [...cuts, stream.length]) {
            if (at >= stream.length) break;
            const pushed = guard.push(stream.subarray(at, at + size));
            at += size;
            if (!pushed.ok) {
              stopped = true;
              break;
            }
            forwarded.push(pushed.output);
          }
          expect(stopped).toBe(true);
          expect(Buffer.concat(forwarded).includes(placeholder)).toBe(false);
        },
      ),
    );
  });

  it('replaces every occurrence whatever the chunking, and loses no byte (property)', () => {
    const replacer = () =>
      createStreamReplacer([{ needle: Buffer.from('abcab'), replacement: Buffer.from('X') }]);
    fc.assert(
      fc.property(
        fc.stringMatching(/^[abcX]{0,80}$/),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 30 }),
        (text, cuts) => {
          const expected = text.split('abcab').join('X');
          const stream = replacer();
          const out: Buffer[] = [];
          let at = 0;
          for (const size of [...cuts, text.length]) {
            if (at >= text.length) break;
            const pushed = stream.push(Buffer.from(text.slice(at, at + size)));
            if (pushed.ok) out.push(pushed.output);
            at += size;
          }
          out.push(stream.flush());
          expect(Buffer.concat(out).toString()).toBe(expected);
        },
      ),
    );
  });

  it('turns values a secret host echoes back into placeholders', () => {
    const redactor = valueRedactor([token!]);
    const first = redactor.push(Buffer.from('{"echo":"tok-value-12'));
    const second = redactor.push(Buffer.from('34567890"}'));
    const text = Buffer.concat([
      first.ok ? first.output : Buffer.alloc(0),
      second.ok ? second.output : Buffer.alloc(0),
      redactor.flush(),
    ]).toString();
    expect(text).toBe(`{"echo":"${token!.placeholder}"}`);
  });
});
