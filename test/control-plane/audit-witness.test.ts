/**
 * The audit witness inside a real control plane: a witness that cannot be written never stops a
 * command, is counted and logged, and catches up once it can be written.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { eventually, openAirlock, tempHome } from './support.ts';

describe('the audit witness of a control plane', () => {
  it('keeps running commands while the witness cannot be written, reports it, then catches up', async () => {
    const home = tempHome();
    const witnessDir = join(home, 'mnt-not-mounted-yet');
    const witness = join(witnessDir, 'audit.jsonl');
    const logged: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(line) });
    const { airlock } = await openAirlock({
      home,
      logger,
      config: { audit: { witness: { file: witness } } },
    });
    const session = await airlock.sessions.create();
    expect(await session.run('echo still-recorded')).toMatchObject({ status: 'completed' });
    expect(
      await eventually(async () =>
        /^airlock_audit_witness_failures_total [1-9]/m.test(await airlock.metrics.render()),
      ),
    ).toBe(true);
    expect(logged.some((line) => line.includes('audit witness write failed'))).toBe(true);
    const events = await airlock.audit.list({ limit: 10_000 });
    expect(events.map((event) => event.type)).toContain('execution.finished');

    // The mount appears; the sink retries on its own (back-off starts at 1 s) and copies everything.
    mkdirSync(witnessDir);
    expect(
      await eventually(() => {
        try {
          return readFileSync(witness, 'utf8').trimEnd().split('\n').length >= events.length;
        } catch {
          return false;
        }
      }, 10_000),
    ).toBe(true);
    const report = await airlock.audit.verify();
    expect(report).toMatchObject({ ok: true, witness: { path: witness, firstSeq: 1 } });
  });
});
