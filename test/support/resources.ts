import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { CloudFormationResource } from '../../lib/local/definitions';

/** A resources/ fragment as Serverless resolves it, with the few variables tests need filled in. */
export function resourcesFragment(
  file: string,
  tableName = 'slipway-local-state',
): Record<string, CloudFormationResource> {
  const text = readFileSync(file, 'utf8')
    .replace(/\$\{self:custom\.stateTableName\}/g, tableName)
    .replace(/\$\{param:deletionProtection\}/g, 'false');
  return (parse(text) as { Resources: Record<string, CloudFormationResource> }).Resources;
}
