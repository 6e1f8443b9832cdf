import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { DriverName } from '../sandbox/index.ts';
import { COMMAND_STATUSES, createMetrics } from './index.ts';
import type { CommandStatus, PolicyDecisionLabel, SessionEndReason } from './index.ts';

/** The value of one exact series line, or undefined when the series is absent. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  it('renders command counters and duration histograms with their labels', async () => {
    const metrics = createMetrics();
    metrics.commandFinished({ status: 'completed', driver: 'bwrap', durationMs: 120, execMs: 100 });
    metrics.commandFinished({ status: 'completed', driver: 'bwrap', durationMs: 30, execMs: 20 });
    metrics.commandFinished({ status: 'denied', driver: 'bwrap', durationMs: 2, execMs: null });

    const text = await metrics.render();
    expect(seriesValue(text, 'airlock_commands_total{status="completed",driver="bwrap"}')).toBe(2);
    expect(seriesValue(text, 'airlock_commands_total{status="denied",driver="bwrap"}')).toBe(1);
    expect(seriesValue(text, 'airlock_commands_total{status="killed",driver="bwrap"}')).toBe(0);
    expect(seriesValue(text, 'airlock_command_duration_seconds_count{driver="bwrap"}')).toBe(3);
    expect(seriesValue(text, 'airlock_command_duration_seconds_sum{driver="bwrap"}')).toBeCloseTo(0.152);
    // A denied command never ran, so it adds nothing to the sandbox-time histogram.
    expect(seriesValue(text, 'airlock_exec_duration_seconds_count{driver="bwrap"}')).toBe(2);
    expect(seriesValue(text, 'airlock_command_duration_seconds_bucket{le="0.001",driver="bwrap"}')).toBe(0);
    expect(seriesValue(text, 'airlock_command_duration_seconds_bucket{le="300",driver="bwrap"}')).toBe(3);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('renders every other helper under its metric name', async () => {
    const metrics = createMetrics();
    metrics.policyDecision('ask');
    metrics.approvalDecided('approved', 4_000);
    metrics.approvalDecided('expired', 300_000);
    metrics.sessionsActive(3);
    metrics.sessionCreated('bwrap');
    metrics.sessionEnded('idle_timeout');
    metrics.sandboxCreateDuration('bwrap', 45);
    metrics.resourceAlert('memory');
    metrics.auditWriteDuration(0.4);
    metrics.auditCheckpoint('signed');
    metrics.auditCheckpoint('refused');
    metrics.auditWitnessFailure();

    const text = await metrics.render();
    expect(seriesValue(text, 'airlock_policy_decisions_total{decision="ask"}')).toBe(1);
    expect(seriesValue(text, 'airlock_policy_decisions_total{decision="deny"}')).toBe(0);
    expect(seriesValue(text, 'airlock_approvals_total{outcome="approved"}')).toBe(1);
    expect(seriesValue(text, 'airlock_approvals_total{outcome="expired"}')).toBe(1);
    expect(seriesValue(text, 'airlock_approval_wait_seconds_sum{outcome="expired"}')).toBe(300);
    expect(seriesValue(text, 'airlock_sessions_active')).toBe(3);
    expect(seriesValue(text, 'airlock_sessions_created_total{driver="bwrap"}')).toBe(1);
    expect(seriesValue(text, 'airlock_sessions_ended_total{reason="idle_timeout"}')).toBe(1);
    expect(seriesValue(text, 'airlock_sandbox_create_duration_seconds_count{driver="bwrap"}')).toBe(1);
    expect(seriesValue(text, 'airlock_resource_alerts_total{resource="memory"}')).toBe(1);
    expect(seriesValue(text, 'airlock_audit_write_duration_seconds_count')).toBe(1);
    expect(seriesValue(text, 'airlock_audit_checkpoints_total{outcome="signed"}')).toBe(1);
    expect(seriesValue(text, 'airlock_audit_checkpoints_total{outcome="refused"}')).toBe(1);
    expect(seriesValue(text, 'airlock_audit_checkpoints_total{outcome="failed"}')).toBe(0);
    expect(seriesValue(text, 'airlock_audit_witness_failures_total')).toBe(1);
  });

  it('keeps two instances apart and never touches the global prom-client registry', async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.commandFinished({ status: 'failed', driver: 'bwrap', durationMs: 5, execMs: 4 });
    first.sessionsActive(7);

    const series = 'airlock_commands_total{status="failed",driver="bwrap"}';
    expect(seriesValue(await first.render(), series)).toBe(1);
    expect(seriesValue(await second.render(), series)).toBe(0);
    expect(seriesValue(await second.render(), 'airlock_sessions_active')).toBe(0);
    expect(globalRegistry.getSingleMetric('airlock_commands_total')).toBeUndefined();
    expect(await globalRegistry.metrics()).not.toContain('airlock_');
  });

  it('records label values outside the fixed sets as other (adversarial: agent-chosen strings)', async () => {
    const metrics = createMetrics();
    const before = (await metrics.render()).split('\n').length;
    const hostile = ['x', 'completed ', 'bwrap"} 1e9\nairlock_fake 1', '__proto__', 'constructor', ''];
    expect(hostile.length).toBeGreaterThan(0);
    for (const value of hostile) {
      metrics.commandFinished({
        status: value as CommandStatus,
        driver: value as DriverName,
        durationMs: 1,
        execMs: 1,
      });
      metrics.policyDecision(value as PolicyDecisionLabel);
      metrics.sessionEnded(value as SessionEndReason);
    }
    metrics.commandFinished({
      status: 'completed',
      driver: 42 as unknown as DriverName,
      durationMs: 1,
      execMs: 1,
    });

    const text = await metrics.render();
    expect(seriesValue(text, 'airlock_commands_total{status="other",driver="other"}')).toBe(hostile.length);
    expect(seriesValue(text, 'airlock_commands_total{status="completed",driver="other"}')).toBe(1);
    expect(seriesValue(text, 'airlock_policy_decisions_total{decision="other"}')).toBe(hostile.length);
    expect(seriesValue(text, 'airlock_sessions_ended_total{reason="other"}')).toBe(hostile.length);
    expect(text).not.toContain('airlock_fake');
    expect(text).not.toContain('__proto__');
    // Only the two histograms' `other` series are new; no value created a series of its own.
    const histogramLines = (name: string): number =>
      text.split('\n').filter((line) => line.startsWith(name)).length;
    expect(text.split('\n').length - before).toBe(
      histogramLines('airlock_command_duration_seconds') + histogramLines('airlock_exec_duration_seconds'),
    );
  });

  it('pre-creates every allowed status at zero so rates work from the first scrape', async () => {
    const text = await createMetrics().render();
    expect(COMMAND_STATUSES.length).toBeGreaterThan(0);
    for (const status of COMMAND_STATUSES) {
      expect(seriesValue(text, `airlock_commands_total{status="${status}",driver="bwrap"}`)).toBe(0);
    }
  });

  it('drops durations that are negative or not finite instead of throwing', async () => {
    const metrics = createMetrics();
    const bad = [Number.NaN, -1, Number.POSITIVE_INFINITY];
    expect(bad.length).toBeGreaterThan(0);
    for (const ms of bad) {
      metrics.commandFinished({ status: 'completed', driver: 'bwrap', durationMs: ms, execMs: ms });
      metrics.auditWriteDuration(ms);
      metrics.sessionsActive(ms);
    }
    const text = await metrics.render();
    expect(seriesValue(text, 'airlock_commands_total{status="completed",driver="bwrap"}')).toBe(bad.length);
    expect(seriesValue(text, 'airlock_command_duration_seconds_count{driver="bwrap"}')).toBeUndefined();
    expect(seriesValue(text, 'airlock_audit_write_duration_seconds_count')).toBe(0);
    expect(seriesValue(text, 'airlock_sessions_active')).toBe(0);
  });

  it('exports Node process metrics only when asked, on its own registry', async () => {
    expect(await createMetrics().render()).not.toContain('process_cpu_user_seconds_total');
    const withProcess = await createMetrics({ processMetrics: true }).render();
    expect(withProcess).toContain('process_cpu_user_seconds_total');
    expect(withProcess).toContain('nodejs_heap_size_used_bytes');
    expect(await globalRegistry.metrics()).not.toContain('process_cpu_user_seconds_total');
  });

  it('counts HTTP requests by route pattern and status class, with a raw path or odd method as other', async () => {
    const metrics = createMetrics();
    metrics.httpRequest({ route: '/v1/sessions/:id', method: 'GET', statusCode: 404, durationMs: 3 });
    metrics.httpRequest({
      route: `/v1/sessions/x?${'a'.repeat(200)}`,
      method: 'TRACE',
      statusCode: 200,
      durationMs: 1,
    });
    metrics.httpRequest({ route: '/healthz', method: 'GET', statusCode: 200, durationMs: Number.NaN });
    const text = await metrics.render();
    expect(text).toMatch(
      /^airlock_http_request_duration_seconds_count\{route="\/v1\/sessions\/:id",method="GET",status="4xx"\} 1$/m,
    );
    expect(text).toMatch(
      /^airlock_http_request_duration_seconds_count\{route="other",method="other",status="2xx"\} 1$/m,
    );
    expect(text).not.toContain('route="/healthz"');
  });
});
