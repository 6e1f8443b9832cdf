import type { StatementSync } from 'node:sqlite';
import { columns, type Params, type Row } from './sqlite-rows.ts';
import type { AccessTokenRecord, AccessTokenRole } from './types.ts';

/** Access-token rows of the SQLite store; minting, hashing and checking live with their callers. */

export function accessTokenParams(token: AccessTokenRecord): Params {
  return {
    id: token.id,
    digest: token.digest,
    role: token.role,
    name: token.name,
    created_at: token.createdAt,
    created_by: token.createdBy,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
    revoked_by: token.revokedBy,
  };
}

export function accessTokenFromRow(row: Row): AccessTokenRecord {
  const read = columns(row, 'access_tokens');
  return {
    id: read.text('id'),
    digest: read.text('digest'),
    role: read.text('role') as AccessTokenRole,
    name: read.text('name'),
    createdAt: read.text('created_at'),
    createdBy: read.text('created_by'),
    expiresAt: read.textOrNull('expires_at'),
    revokedAt: read.textOrNull('revoked_at'),
    revokedBy: read.textOrNull('revoked_by'),
  };
}

export interface AccessTokenRows {
  get(id: string): AccessTokenRecord | null;
  find(digest: string): AccessTokenRecord | null;
  list(): AccessTokenRecord[];
}

export function createAccessTokenRows(statement: (sql: string) => StatementSync): AccessTokenRows {
  const one = (row: Row | undefined): AccessTokenRecord | null =>
    row === undefined ? null : accessTokenFromRow(row);
  return {
    get: (id) => one(statement('SELECT * FROM access_tokens WHERE id = ?').get(id)),
    find: (digest) => one(statement('SELECT * FROM access_tokens WHERE digest = ?').get(digest)),
    list: () =>
      statement('SELECT * FROM access_tokens ORDER BY created_at, id').all().map(accessTokenFromRow),
  };
}
