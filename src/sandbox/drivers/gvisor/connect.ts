import type { Writable } from 'node:stream';
import type { Launcher } from '../../launcher/index.ts';
import {
  MAX_PROC_ENTRIES,
  SupervisorClient,
  assertBridge,
  withinStartTimeout,
} from '../../supervisor/index.ts';
import type { SandboxSpec } from '../../types.ts';
import { unavailable } from './unavailable.ts';

export interface ConnectSupervisorInput {
  /** The launcher told to run runsc, whose stdio is the supervisor's channel. */
  launcher: Launcher;
  spec: SandboxSpec;
  /** A restored sandbox: the request id its supervisor continues from. */
  resumeAt: number | undefined;
  startTimeoutMs: number;
  /** Removes what was made for the sandbox, when it does not answer. */
  cleanup(): Promise<void>;
}

/** The supervisor's client once the sandbox answers; otherwise the sandbox is cleaned up and refused. */
export async function connectSupervisor(input: ConnectSupervisorInput): Promise<SupervisorClient> {
  const { launcher, spec, resumeAt, startTimeoutMs, cleanup } = input;
  const restored = resumeAt !== undefined;
  const { child } = launcher;
  const client = new SupervisorClient(child.stdin as Writable, child.stdout!, restored ? { resumeAt } : {});
  try {
    // A restored supervisor said ready long ago: a listing of /proc proves it answers again.
    await withinStartTimeout(
      restored ? client.list('/proc', MAX_PROC_ENTRIES) : client.ready,
      startTimeoutMs,
    );
    if (!restored) assertBridge(spec, client);
  } catch (error) {
    const detail = launcher.firstErrorLine() || (error as Error).message;
    await cleanup();
    throw unavailable(
      `the gVisor sandbox did not ${restored ? 'restore' : 'start'}: ${detail}`,
      restored ? 'restore failed' : 'start failed',
    );
  }
  return client;
}
