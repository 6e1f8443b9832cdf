/** The `store:` and `cluster:` sections: PostgreSQL URLs and a cluster node's settings. */
import { describe, expect, it } from 'vitest';
import type { AirlockError } from '../errors/index.ts';
import type { ConfigIssue } from './index.ts';
import { parseConfig } from './index.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

function issuesOf(error: AirlockError): ConfigIssue[] {
  return error.details['issues'] as ConfigIssue[];
}

describe('store and cluster', () => {
  it('refuses a store that is neither sqlite: nor a postgres:// URL naming a database', () => {
    const cases: [string, string][] = [
      ['mysql://db/airlock', 'use sqlite:<path>'],
      ['postgres://db', 'names no database'],
      ['postgres://db:5432/', 'names no database'],
      ['postgres://a b@/x y', 'is not a URL'],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [store, message] of cases) {
      const error = thrownAirlockError(() => parseConfig(`store: "${store}"\n`, 'airlock.yaml'));
      expect(issuesOf(error)[0]?.message, store).toContain(message);
    }
  });

  it('reads a postgres:// or postgresql:// store, and never repeats its password in a message', () => {
    for (const url of [
      'postgres://airlock@db.example.test:5432/airlock',
      'postgresql://u@db.example.test/a?sslmode=require',
    ]) {
      expect(parseConfig(`store: ${url}\n`, 'airlock.yaml').store).toEqual({ kind: 'postgres', url });
    }
    const error = thrownAirlockError(() =>
      parseConfig('store: "postgres://u:hunter2@db.example.test"\n', 'airlock.yaml'),
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('reads a cluster section, and refuses a failure timeout shorter than two heartbeats', () => {
    const config = parseConfig(
      'cluster:\n  nodeId: node-a\n  advertiseUrl: http://10.0.0.5:7400/\n  secretFile: /etc/airlock/cluster-secret\n',
      'airlock.yaml',
    );
    expect(config.cluster).toEqual({
      nodeId: 'node-a',
      advertiseUrl: 'http://10.0.0.5:7400',
      secretFile: '/etc/airlock/cluster-secret',
      heartbeatIntervalMs: 1000,
      failureTimeoutMs: 5000,
      directClients: true,
    });
    expect(parseConfig('cluster:\n  directClients: false\n', 'airlock.yaml').cluster?.directClients).toBe(
      false,
    );
    const bad: [string, string][] = [
      ['  secretFile: /s\n  heartbeatInterval: 2s\n  failureTimeout: 3s\n', 'cluster.failureTimeout'],
      ['  secretFile: relative\n', 'cluster.secretFile'],
      ['  secretFile: /s\n  advertiseUrl: http://user:pw@10.0.0.5:7400\n', 'cluster.advertiseUrl'],
      ['  secretFile: /s\n  advertiseUrl: http://10.0.0.5:7400/v1\n', 'cluster.advertiseUrl'],
      ['  secretFile: /s\n  nodeId: "a b"\n', 'cluster.nodeId'],
      ['  secretFile: /s\n  directClients: "yes"\n', 'cluster.directClients'],
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const [section, path] of bad) {
      const error = thrownAirlockError(() => parseConfig(`cluster:\n${section}`, 'airlock.yaml'));
      expect(
        issuesOf(error).map((issue) => issue.path),
        section,
      ).toContain(path);
    }
  });
});
