import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { makeHandler } from '../../../functions/http/create-restore';
import type { Archives } from '../../../lib/backup/archives';
import type { BackupRecord } from '../../../lib/backup/records';
import { configSchema } from '../../../lib/config/schema';
import type { Publisher } from '../../../lib/notify/publisher';
import { Restores, type RestoresDeps } from '../../../lib/restore/restores';
import { memoryAudit } from '../../support/audit';
import { httpEvent, lambdaContext, memoryTokenSource } from '../../support/http';

/** POST /v1/restores of a vault copy into an account: what the caller got wrong is a 4xx naming the field. */

const COPY: BackupRecord = {
  id: 'bkp-00000000-0000-4000-8000-000000000002',
  kind: 'snapshot-copy',
  database: 'shop-db',
  source: { type: 'instance', identifier: 'shop-prod' },
  snapshotIdentifier: 'slipway-shop-db-202611220300',
  snapshotArn: 'arn:aws:rds:us-east-1:444444444444:snapshot:slipway-shop-db-202611220300',
  region: 'us-east-1',
  account: 'vault',
  status: 'AVAILABLE',
  trigger: 'schedule',
  createdAt: '2026-11-22T03:00:00.000Z',
  updatedAt: '2026-11-22T03:10:00.000Z',
} as BackupRecord;

const config = configSchema.parse({
  auth: { tokensSecret: 'slipway/api-tokens' },
  accounts: {
    vault: { roleArn: 'arn:aws:iam::444444444444:role/slipway-vault' },
    staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-staging' },
  },
  backups: { vaultAccount: 'vault' },
  databases: { 'shop-db': { rdsInstance: 'shop-prod' } },
});

const tokens = memoryTokenSource();
const reached: string[] = [];
const restores = new Restores({
  config,
  store: {} as RestoresDeps['store'],
  backups: { get: async (id: string) => (id === COPY.id ? COPY : undefined) } as unknown as RestoresDeps['backups'],
  rdsFor: (place) => {
    reached.push(place.account ?? 'home');
    throw new Error('no RDS call is made for a request refused on its account');
  },
  region: 'us-east-1',
  publisher: {} as Publisher,
  audit: memoryAudit().audit,
});
const handler = makeHandler({
  tokens: tokens.source,
  audit: memoryAudit().audit,
  restores,
  archives: {} as Pick<Archives, 'restore'>,
});

const post = async (body: unknown) => {
  const response = (await handler(
    httpEvent('not-found', {
      method: 'POST',
      path: '/v1/restores',
      routeKey: 'POST /v1/restores',
      token: tokens.tokens.admin,
      body,
    }),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
  return { statusCode: response.statusCode, body: JSON.parse(response.body ?? '') };
};

const asked = { database: 'shop-db', backupId: COPY.id, targetIdentifier: 'shop-prod-restore-1' };

describe('POST /v1/restores of a vault copy into a named account', () => {
  it('given an account config does not name, when posted, then it is 422 naming account, and nothing is reached', async () => {
    // When
    const { statusCode, body } = await post({ ...asked, account: 'elsewhere' });

    // Then
    expect(statusCode).toBe(422);
    expect(body.error.message).toMatch(/^account: elsewhere is not a name under accounts \(vault, staging\)/);
    expect(body.error.details).toEqual([
      { location: 'body', field: 'account', message: expect.stringContaining('is not a name under accounts') },
    ]);
    expect(reached).toEqual([]);
  });

  it('given an account that is no name at all, when posted, then it is 400 naming account', async () => {
    const { statusCode, body } = await post({ ...asked, account: 'Not A Name!' });
    expect(statusCode).toBe(400);
    expect(JSON.stringify(body.error.details)).toContain('account');
    expect(reached).toEqual([]);
  });

  it('given another region than the copy’s, when posted into a named account, then it is 422 naming region', async () => {
    const { statusCode, body } = await post({ ...asked, account: 'staging', region: 'eu-west-1' });
    expect(statusCode).toBe(422);
    expect(body.error.message).toMatch(
      /^region: backup .* is a copy in us-east-1, and a snapshot is restored in its own region/,
    );
    expect(reached).toEqual([]);
  });

  it('given @control-plane where no restoring role is known (npm start), when posted, then it is 422 naming account', async () => {
    const { statusCode, body } = await post({ ...asked, account: '@control-plane' });
    expect(statusCode).toBe(422);
    expect(body.error.message).toMatch(/^account: @control-plane is not known where this control plane runs/);
    expect(body.error.details).toEqual([{ location: 'body', field: 'account', message: expect.any(String) }]);
    expect(reached).toEqual([]);
  });

  it.each(['@self', '@Control-Plane', 'control plane'])(
    'given %s, a spelling neither a name nor @control-plane, when posted, then it is 400 naming account',
    async (account) => {
      const { statusCode, body } = await post({ ...asked, account });
      expect(statusCode).toBe(400);
      expect(body.error.details).toEqual([
        expect.objectContaining({ field: 'account', message: expect.stringContaining('or @control-plane') }),
      ]);
      expect(reached).toEqual([]);
    },
  );
});
