import { readdirSync } from 'node:fs';

/** Every stage config committed under config/, each of which must load and point editors at the schema. */
export const COMMITTED_CONFIGS = readdirSync('config')
  .filter((name) => name.endsWith('.yml'))
  .sort()
  .map((name) => `config/${name}`);
