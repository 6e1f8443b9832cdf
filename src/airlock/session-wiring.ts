/** The resource monitor of a control plane, wired to its metrics, logger and audit log. */
import type { Logger } from 'pino';
import { createResourceMonitor } from '../metrics/index.ts';
import type { AirlockMetrics, ResourceMonitor } from '../metrics/index.ts';
import type { Store } from '../store/index.ts';

/** What of start-up's settled state the wiring reads. */
export interface WiringInput {
  readonly options: { readonly monitorIntervalMs?: number };
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
}

/** Samples sessions' resource use; an alert is counted, logged and recorded in the audit log. */
export function alertMonitor(prepared: WiringInput, store: Store): ResourceMonitor {
  const { metrics, logger } = prepared;
  return createResourceMonitor({
    intervalMs: prepared.options.monitorIntervalMs ?? 5000,
    onAlert: (alert) => {
      metrics.resourceAlert(alert.resource);
      logger.warn(
        { sessionId: alert.sessionId, resource: alert.resource, fraction: alert.fraction },
        'resource alert',
      );
      const data = {
        resource: alert.resource,
        usage: alert.usage,
        limit: alert.limit,
        fraction: alert.fraction,
      };
      void store
        .commit({ events: [{ type: 'resource.alert', sessionId: alert.sessionId, commandId: null, data }] })
        .catch((error: unknown) => logger.error({ err: error }, 'could not record a resource alert'));
    },
    onError: () => undefined,
  });
}
