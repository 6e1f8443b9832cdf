import { existsSync } from 'node:fs';
import { defineEgressSuite } from './sandbox-suite.ts';

const runscMissing = ['/usr/bin/runsc', '/usr/local/bin/runsc', '/usr/sbin/runsc'].every(
  (path) => !existsSync(path),
);

defineEgressSuite({
  driver: 'gvisor',
  unavailable:
    process.platform !== 'linux'
      ? 'not Linux'
      : runscMissing
        ? 'runsc (gVisor) is not installed'
        : process.getuid?.() !== 0
          ? 'the gVisor driver needs root'
          : undefined,
});
