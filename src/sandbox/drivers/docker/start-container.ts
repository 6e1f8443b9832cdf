import { rmSync } from 'node:fs';
import type { Duplex, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { isAirlockError } from '../../../errors/index.ts';
import { grantEgressAccess } from '../../egress-mount.ts';
import type { UidLease } from '../../host-uids/index.ts';
import { dockerUnavailable } from '../../image/index.ts';
import { SupervisorClient, assertBridge, withinStartTimeout } from '../../supervisor/index.ts';
import type { SandboxSpec } from '../../types.ts';
import { statusOf } from './containers.ts';
import { DockerStreamDemux } from './demux.ts';
import { oomCounterFile } from './oom-counter.ts';
import { planContainer } from './plan.ts';
import type { DockerRuntime } from './plan.ts';
import type { SharedFiles } from './shared-files.ts';
import { unavailable } from './unavailable.ts';

export interface StartContainerInput {
  docker: Docker;
  spec: SandboxSpec;
  id: string;
  session: string;
  host: string;
  state: string;
  image: string;
  runtime: DockerRuntime;
  files: SharedFiles;
  profile: string;
  /** The session's own host uid under runc; released here when the start fails and the container is gone. */
  lease: UidLease | undefined;
  /** The sandbox's host state directory, removed here when the start fails. */
  dir: string;
  socket: string | undefined;
  startTimeoutMs: number;
}

export interface StartedContainer {
  container: Docker.Container;
  stream: Duplex;
  client: SupervisorClient;
  exited: Promise<void>;
  oomFile: string | undefined;
}

/**
 * Creates the session's container, attaches to its supervisor and starts it, until the supervisor
 * says ready. On failure nothing of it is left (but a uid whose container may still run) and the
 * error says why, in the container's own words when it said any.
 */
export async function startContainer(input: StartContainerInput): Promise<StartedContainer> {
  const { docker, spec, id, session, host, state, image, runtime, files, lease, dir, socket } = input;
  const startTimeoutMs = input.startTimeoutMs;
  let container: Docker.Container | undefined;
  let stream: Duplex | undefined;
  let removed = true;
  const cleanup = async (): Promise<void> => {
    stream?.destroy();
    if (container) {
      removed = await container.remove({ force: true }).then(
        () => true,
        (error: unknown) => statusOf(error) === 404,
      );
    }
    rmSync(dir, { recursive: true, force: true });
    // A container that may still run keeps its uid until a sweep has removed it.
    if (removed) lease?.release();
  };
  const stderrTail: Buffer[] = [];
  let client: SupervisorClient;
  let exited: Promise<void>;
  let oomFile: string | undefined;
  try {
    // Under runc the container's processes are the session's uid and gid.
    if (lease) grantEgressAccess(spec.egress, lease.gid);
    container = await docker.createContainer(
      planContainer({
        spec,
        name: `airlock-${session}`,
        id,
        session,
        host,
        state,
        image,
        runtime,
        sharedVolume: files.volume,
        etcFiles: files.etcFiles,
        dockerSeccompProfile: input.profile,
        ...(lease ? { hostIds: { uid: lease.uid, gid: lease.gid } } : {}),
      }),
    );
    // Attached before start, so not one byte of the supervisor's channel is missed.
    stream = (await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as unknown as Duplex;
    const demux = new DockerStreamDemux((chunk) => {
      if (stderrTail.length < 16) stderrTail.push(chunk);
    });
    stream.on('error', () => {});
    stream.pipe(demux);
    exited = new Promise<void>((resolve) => demux.once('close', () => resolve()));
    client = new SupervisorClient(stream as Writable, demux);
    // Observed below; this keeps a start failure from leaving it rejected with no one listening.
    client.ready.catch(() => {});
    await container.start();
    await withinStartTimeout(client.ready, startTimeoutMs);
    assertBridge(spec, client);
    oomFile = oomCounterFile((await container.inspect()).State.Pid);
  } catch (error) {
    await cleanup();
    const said = Buffer.concat(stderrTail).toString().trim().split('\n')[0];
    if (isAirlockError(error) && (error.code !== 'SANDBOX_LOST' || !said)) throw error;
    const why = said || (error as Error).message;
    if (statusOf(error) === undefined && !said) throw dockerUnavailable(error, socket);
    throw unavailable(`the Docker sandbox did not start: ${why}`, 'start failed');
  }

  return { container, stream, client, exited, oomFile };
}
