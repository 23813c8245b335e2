#!/usr/bin/env node
// Writes infra/nats/authorization.conf from the contracts' permission table (each service's NATS
// user and the subjects it may use). Run after adding or changing a contract: `npm run nats:authorization`.
import { writeFileSync } from 'node:fs';
import { deploymentAuthorizationConfig } from '@gatehouse/contracts';

const target = new URL('../infra/nats/authorization.conf', import.meta.url);
writeFileSync(target, deploymentAuthorizationConfig());
console.log(`wrote ${target.pathname}`);
