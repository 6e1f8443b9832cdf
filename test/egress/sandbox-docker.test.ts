import { dockerAvailability } from '../containment/docker-availability.ts';
import { defineEgressSuite } from './sandbox-suite.ts';

defineEgressSuite({ driver: 'docker', unavailable: await dockerAvailability('runc') });
