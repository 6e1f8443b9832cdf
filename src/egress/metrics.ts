/**
 * Prometheus metrics of the proxy, on a registry the caller passes (the control plane's) or a fresh one.
 * Label values come from fixed sets only: a host name in a label would be a new series per host, held
 * in memory for good, and hosts are chosen by whatever runs in the sandbox.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ALLOW_VIAS, REFUSAL_CODES, type EgressEvent } from './types.ts';

export interface EgressMetrics {
  readonly registry: Registry;
  connectionEnded(event: EgressEvent): void;
  connectionsOpen(delta: number): void;
}

const DURATION_BUCKETS_S = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

export function createEgressMetrics(registry: Registry = new Registry()): EgressMetrics {
  const registers = [registry];
  const connections = new Counter({
    name: 'airlock_egress_connections_total',
    help: 'Egress connections (plain-HTTP proxy requests count one each), by decision and reason.',
    labelNames: ['decision', 'reason'] as const,
    registers,
  });
  const bytes = new Counter({
    name: 'airlock_egress_bytes_total',
    help: 'Bytes through the egress proxy: up (sandbox to the world) and down.',
    labelNames: ['direction'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'airlock_egress_connection_duration_seconds',
    help: 'How long egress connections lasted, by decision.',
    labelNames: ['decision'] as const,
    buckets: DURATION_BUCKETS_S,
    registers,
  });
  const open = new Gauge({
    name: 'airlock_egress_connections_open',
    help: 'Connections the egress proxy holds open now.',
    registers,
  });
  // Zero series up front, so a dashboard sees "no refusals yet" rather than no data.
  for (const reason of ALLOW_VIAS) connections.inc({ decision: 'allowed', reason }, 0);
  for (const reason of REFUSAL_CODES) connections.inc({ decision: 'refused', reason }, 0);
  return {
    registry,
    connectionEnded(event) {
      connections.inc({ decision: event.decision, reason: event.reason });
      bytes.inc({ direction: 'up' }, event.bytesUp);
      bytes.inc({ direction: 'down' }, event.bytesDown);
      duration.observe({ decision: event.decision }, event.durationMs / 1000);
    },
    connectionsOpen(delta) {
      open.inc(delta);
    },
  };
}
