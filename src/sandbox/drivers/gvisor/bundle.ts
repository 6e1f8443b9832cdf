import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEM_CA_BUNDLE } from '../../egress-mount.ts';
import type { SandboxSpec } from '../../types.ts';
import { planOciConfig } from './plan.ts';
import type { Skeleton } from './rootfs.ts';

/** Makes the sandbox's host directory and the OCI bundle runsc runs in it; returns the bundle's path. */
export function writeBundle(dir: string, spec: SandboxSpec, skeleton: Skeleton): string {
  mkdirSync(dir, { mode: 0o700 });
  const bundleDir = join(dir, 'bundle');
  mkdirSync(bundleDir, { mode: 0o700 });
  writeFileSync(
    join(bundleDir, 'config.json'),
    JSON.stringify(
      planOciConfig({
        spec,
        rootfsDir: skeleton.rootfsDir,
        binds: skeleton.binds,
        systemCaBundle: existsSync(join(skeleton.rootfsDir, SYSTEM_CA_BUNDLE)),
      }),
    ),
    { mode: 0o600 },
  );
  return bundleDir;
}
