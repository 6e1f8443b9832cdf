import { existsSync } from 'node:fs';
import { defineEgressSuite } from './sandbox-suite.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

defineEgressSuite({
  driver: 'bwrap',
  unavailable:
    process.platform !== 'linux' ? 'not Linux' : bwrapMissing ? 'bwrap is not installed' : undefined,
});
