import type { PostgresStore } from './pg-store.ts';

/**
 * The store as a plain object of functions: wrappers spread a store (`{ ...store, commit }`, see
 * audit-trail.ts), which copies own properties only, never a class's methods.
 */
export function plainStore(store: PostgresStore): PostgresStore {
  return {
    kind: store.kind,
    where: store.where,
    transaction: (operation, work) => store.transaction(operation, work),
    query: (operation, text, values) => store.query(operation, text, values),
    controlQuery: (operation, text, values) => store.controlQuery(operation, text, values),
    commit: (batch) => store.commit(batch),
    decideApproval: (id, decision, event) => store.decideApproval(id, decision, event),
    getSession: store.getSession,
    listSessions: store.listSessions,
    getCommand: store.getCommand,
    listCommands: store.listCommands,
    queryCommands: store.queryCommands,
    getApproval: store.getApproval,
    listApprovals: store.listApprovals,
    getOutput: store.getOutput,
    readOutput: (id, page) => store.readOutput(id, page),
    trimSessionOutputs: store.trimSessionOutputs,
    pruneOutputs: store.pruneOutputs,
    listEvents: store.listEvents,
    getAccessToken: store.getAccessToken,
    findAccessToken: store.findAccessToken,
    listAccessTokens: store.listAccessTokens,
    addCheckpoint: store.addCheckpoint,
    lastCheckpoint: store.lastCheckpoint,
    verify: (options) => store.verify(options),
    close: () => store.close(),
  };
}
