import { describe, expect, it } from 'vitest';
import type { AirlockError } from '../errors/index.ts';
import type { ConfigIssue } from './index.ts';
import { defaultConfig, parseConfig } from './index.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

function issuesOf(error: AirlockError): Record<string, string> {
  return Object.fromEntries(
    (error.details['issues'] as ConfigIssue[]).map((issue) => [issue.path, issue.message]),
  );
}

describe('the audit section of airlock.yaml', () => {
  it('defaults to a checkpoint every 1000 events or minute, the key in AIRLOCK_HOME and no witness', () => {
    expect(defaultConfig().audit).toEqual({
      checkpointEvery: 1000,
      checkpointIntervalMs: 60_000,
      witness: null,
    });
    expect(parseConfig('audit:\n', 'airlock.yaml').audit).toEqual(defaultConfig().audit);
  });

  it('takes a key file, a checkpoint cadence and a witness file', () => {
    const config = parseConfig(
      [
        'audit:',
        '  keyFile: /etc/airlock/audit-key',
        '  checkpointEvery: 250',
        '  checkpointInterval: 30s',
        '  witness: { file: /mnt/witness/airlock-audit.jsonl }',
      ].join('\n'),
      'airlock.yaml',
    );
    expect(config.audit).toEqual({
      keyFile: '/etc/airlock/audit-key',
      checkpointEvery: 250,
      checkpointIntervalMs: 30_000,
      witness: { file: '/mnt/witness/airlock-audit.jsonl' },
    });
  });

  it('refuses relative paths, a cadence out of bounds and unknown keys, listing each', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        [
          'audit:',
          '  keyFile: keys/audit-key',
          '  checkpointEvery: 0',
          '  checkpointInterval: 10ms',
          '  witness: { file: audit.jsonl, fsync: true }',
          '  witnes: { file: /x }',
        ].join('\n'),
        'airlock.yaml',
      ),
    );
    const messages = issuesOf(error);
    expect(messages['audit.keyFile']).toMatch(/"keys\/audit-key" is not an absolute path/);
    expect(messages['audit.checkpointEvery']).toMatch(/not a positive number/);
    expect(messages['audit.checkpointInterval']).toMatch(/10ms/);
    expect(messages['audit.witness.file']).toMatch(/"audit.jsonl" is not an absolute path/);
    expect(messages['audit.witness.fsync']).toMatch(/unknown key "fsync"/);
    expect(messages['audit.witnes']).toContain('did you mean "witness"?');
  });
});
