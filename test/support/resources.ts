import { readFileSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { parse } from 'yaml';
import type { CloudFormationResource } from '../../lib/local/definitions';
import { ensureStateTable } from '../../lib/local/provision';

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

/** A state table named `tableName`, made from resources/state-table.yml as `npm start` makes it, on `client`'s endpoint. */
export async function createStateTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await ensureStateTable(
    client,
    resourcesFragment('resources/state-table.yml', tableName).StateTable as CloudFormationResource,
    () => undefined,
  );
}
