import { readFileSync } from 'node:fs';
import {
  CreateDBInstanceCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
} from '@aws-sdk/client-rds';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { createDynamoDbClient } from '../../lib/aws/clients/dynamodb';
import { createRdsClient } from '../../lib/aws/clients/rds';
import { createSecretsManagerClient } from '../../lib/aws/clients/secrets-manager';
import { createSnsClient } from '../../lib/aws/clients/sns';
import { createSqsClient } from '../../lib/aws/clients/sqs';
import { loadStageConfig } from '../../lib/config/load';
import { httpEvent, lambdaContext } from '../support/http';
import { motoEndpoint, resetMoto } from '../support/moto';
import { ACCOUNT, createNetwork, ec2Client, type Network, REGION, rdsSnapshotCreatedEvent } from '../support/moto-aws';
import { ensureResolvedConfig } from '../support/resolved-config';
import { createStateTable } from '../support/resources';

/**
 * An on-demand RDS snapshot and a restore from it, through the real handlers as deployed (their
 * default wiring, stage kitchen-sink: database shop-db is RDS instance shop-prod-db) with every AWS
 * service on moto: RDS, EC2 (the network it sits in), DynamoDB (the state table), Secrets Manager (the
 * API tokens), SNS and SQS (the notifications topic, read through a queue subscribed to it). Nothing
 * is stubbed; RDS's EventBridge events, which moto does not emit, are built from what RDS then reports.
 */

const STAGE = 'kitchen-sink';
const TABLE = `slipway-${STAGE}-state`;
const SOURCE = 'shop-prod-db';
const SUBNET_GROUP = 'shop-db-subnets';
const adminToken = mintToken();

const endpoint = motoEndpoint();
await resetMoto(endpoint);
const awsEnv = { AWS_ENDPOINT_URL: endpoint, AWS_REGION: REGION };
const rds = createRdsClient(awsEnv);
const sqs = createSqsClient(awsEnv);

// Given the control plane's own resources: the state table, the tokens secret, the notifications topic and the dead-letter queue
await createStateTable(createDynamoDbClient(awsEnv), TABLE);
await createSecretsManagerClient(awsEnv).send(
  new CreateSecretCommand({
    Name: 'slipway/api-tokens',
    SecretString: JSON.stringify({ tokens: [{ name: 'admin', sha256: hashToken(adminToken), roles: ['admin'] }] }),
  }),
);
const { TopicArn } = await createSnsClient(awsEnv).send(
  new CreateTopicCommand({ Name: `slipway-${STAGE}-notifications` }),
);
const { QueueUrl: notificationsQueue } = await sqs.send(new CreateQueueCommand({ QueueName: 'notifications-reader' }));
const { Attributes } = await sqs.send(
  new GetQueueAttributesCommand({ QueueUrl: notificationsQueue, AttributeNames: ['QueueArn'] }),
);
await createSnsClient(awsEnv).send(
  new SubscribeCommand({
    TopicArn,
    Protocol: 'sqs',
    Endpoint: Attributes?.QueueArn,
    Attributes: { RawMessageDelivery: 'true' },
  }),
);
const { QueueUrl: deadLetters } = await sqs.send(
  new CreateQueueCommand({ QueueName: `slipway-${STAGE}-dead-letters` }),
);

// And the functions' environment as serverless.yml sets it, every SDK client pointed at moto
for (const key of Object.keys(process.env)) if (key.startsWith('AWS_ENDPOINT_URL')) delete process.env[key];
Object.assign(process.env, {
  AWS_ENDPOINT_URL: endpoint,
  SLIPWAY_STAGE: STAGE,
  STATE_TABLE: TABLE,
  BACKUP_BUCKET: `slipway-${STAGE}-backups`,
  NOTIFICATIONS_TOPIC_ARN: TopicArn,
  DEAD_LETTER_QUEUE_URL: deadLetters,
});
ensureResolvedConfig(STAGE);
const takeBackup = (await import('../../functions/http/take-backup')).handler;
const getBackup = (await import('../../functions/http/get-backup')).handler;
const createRestore = (await import('../../functions/http/create-restore')).handler;
const getRestore = (await import('../../functions/http/get-restore')).handler;
const rdsEvent = (await import('../../functions/events/rds-event')).handler;

type HttpHandler = (event: APIGatewayProxyEventV2, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
const sample = (name: string) => JSON.parse(readFileSync(`events/http.${name}.json`, 'utf8')) as APIGatewayProxyEventV2;

async function call(handler: unknown, name: string, shape: Parameters<typeof httpEvent>[1]) {
  const response = (await (handler as HttpHandler)(
    httpEvent(sample(name), { token: adminToken, ...shape }),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
  return { status: response.statusCode, body: JSON.parse(response.body ?? 'null') };
}

async function notifications(): Promise<Array<{ type: string; state: string }>> {
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: notificationsQueue,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
    }),
  );
  return (Messages ?? []).map((message) => ({
    type: message.MessageAttributes?.type?.StringValue ?? '',
    state: message.MessageAttributes?.state?.StringValue ?? '',
  }));
}

let network: Network;
let backupId: string;
let snapshotIdentifier: string;

beforeAll(async () => {
  // Given the shop's PostgreSQL instance in a DB subnet group of two subnets, behind its own security group
  network = await createNetwork(ec2Client(awsEnv), 'shop-db');
  await rds.send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: SUBNET_GROUP,
      DBSubnetGroupDescription: 'shop database subnets',
      SubnetIds: network.subnetIds,
    }),
  );
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: SOURCE,
      Engine: 'postgres',
      EngineVersion: '16.4',
      DBInstanceClass: 'db.t4g.medium',
      AllocatedStorage: 50,
      StorageType: 'gp3',
      MasterUsername: 'shop',
      ManageMasterUserPassword: true,
      DBSubnetGroupName: SUBNET_GROUP,
      VpcSecurityGroupIds: [network.securityGroupId],
      // Encrypted with the customer managed key the stage names for it, which the restore must find.
      StorageEncrypted: true,
      KmsKeyId: loadStageConfig(STAGE).databases['shop-db']?.kmsKeyArn,
      Tags: [{ Key: 'app', Value: 'shop' }],
    }),
  );
});

describe('an on-demand RDS snapshot and a restore from it, on moto', () => {
  it('snapshots on request, becomes AVAILABLE on RDS-EVENT-0042, and notifies', async () => {
    // When a backup of shop-db is asked for
    const taken = await call(takeBackup, 'take-backup', { body: { database: 'shop-db' } });

    // Then RDS is creating a manual snapshot of the instance, tagged as Slipway's
    expect(taken.status).toBe(202);
    expect(taken.body.backup).toMatchObject({ status: 'CREATING', kind: 'rds-snapshot', database: 'shop-db' });
    backupId = taken.body.backup.id;
    snapshotIdentifier = taken.body.backup.snapshotIdentifier;
    expect(snapshotIdentifier).toMatch(/^slipway-shop-db-\d{12}$/);
    const { DBSnapshots } = await rds.send(
      new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotIdentifier }),
    );
    expect(DBSnapshots?.[0]).toMatchObject({
      DBInstanceIdentifier: SOURCE,
      SnapshotType: 'manual',
      DBSnapshotArn: `arn:aws:rds:${REGION}:${ACCOUNT}:snapshot:${snapshotIdentifier}`,
    });
    expect(DBSnapshots?.[0]?.TagList).toEqual(
      expect.arrayContaining([
        { Key: 'slipway:database', Value: 'shop-db' },
        { Key: 'slipway:created-by', Value: 'slipway' },
      ]),
    );
    // moto 5.2.1 answers CreateDBSnapshot with a snapshot already "available"; RDS reports "creating" until it is
    // done (Amazon RDS User Guide, "Viewing DB snapshot status"). Slipway records CREATING whatever the answer said,
    // and the event below is what moves it on, as in AWS.
    expect(DBSnapshots?.[0]?.Status).toBe('available');

    // When RDS says the manual snapshot was created (RDS-EVENT-0042)
    const outcome = await (rdsEvent as HttpHandler)(
      (await rdsSnapshotCreatedEvent(rds, snapshotIdentifier)) as never,
      lambdaContext(),
    );

    // Then the backup is AVAILABLE, and the state change was published to the topic
    expect(outcome).toEqual({ handled: true, result: { applied: true, reason: `${snapshotIdentifier} is AVAILABLE` } });
    const read = await call(getBackup, 'get-backup', {
      path: `/v1/backups/${backupId}`,
      pathParameters: { id: backupId },
    });
    expect(read.body.backup).toMatchObject({ id: backupId, status: 'AVAILABLE', snapshotIdentifier });
    expect(await notifications()).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'backup.state', state: 'AVAILABLE' })]),
    );
  });

  it("restores into a new identifier in the source's subnet group and security groups, and refuses an existing one with 409", async () => {
    // When the snapshot is restored into shop-prod-db-restore-1
    const requested = await call(createRestore, 'create-restore', {
      body: { database: 'shop-db', backupId, targetIdentifier: 'shop-prod-db-restore-1' },
    });

    // Then RDS restores a new instance from it where the source lives, and Slipway follows it
    expect(requested.status).toBe(202);
    expect(requested.body.restore).toMatchObject({ status: 'RESTORING', targetIdentifier: 'shop-prod-db-restore-1' });
    const restoreId = requested.body.restore.id as string;
    const [source, restored] = await Promise.all(
      [SOURCE, 'shop-prod-db-restore-1'].map(
        async (id) => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0],
      ),
    );
    expect(restored?.DBSubnetGroup?.DBSubnetGroupName).toBe(SUBNET_GROUP);
    expect(restored?.DBSubnetGroup?.VpcId).toBe(network.vpcId);
    expect(restored?.VpcSecurityGroups?.map((group) => group.VpcSecurityGroupId)).toEqual([network.securityGroupId]);
    expect(restored).toMatchObject({
      DBInstanceClass: source?.DBInstanceClass,
      Engine: 'postgres',
      StorageType: 'gp3',
      AllocatedStorage: 50,
    });
    expect(restored?.TagList).toEqual(
      expect.arrayContaining([
        { Key: 'app', Value: 'shop' },
        { Key: 'slipway:restore-of', Value: SOURCE },
        { Key: 'slipway:restore-id', Value: restoreId },
      ]),
    );

    // When RDS says the instance was restored (RDS-EVENT-0043), then the restore is AVAILABLE
    const restoredEvent = JSON.parse(readFileSync('events/rds.instance-restored.json', 'utf8'));
    restoredEvent.detail.SourceIdentifier = 'shop-prod-db-restore-1';
    const settled = await (rdsEvent as HttpHandler)(restoredEvent, lambdaContext());
    expect(settled).toEqual({ handled: true, result: { applied: true, reason: 'AVAILABLE' } });
    const read = await call(getRestore, 'get-restore', {
      path: `/v1/restores/${restoreId}`,
      pathParameters: { id: restoreId },
    });
    expect(read.body.restore).toMatchObject({ id: restoreId, status: 'AVAILABLE' });

    // When the same identifier, or the source's, is asked for again, then each is refused with 409 and RDS is not asked
    for (const targetIdentifier of ['shop-prod-db-restore-1', SOURCE]) {
      const again = await call(createRestore, 'create-restore', {
        body: { database: 'shop-db', backupId, targetIdentifier },
      });
      expect(again.status).toBe(409);
      expect(again.body.error.code).toBe('CONFLICT');
    }
    const { DBInstances } = await rds.send(new DescribeDBInstancesCommand({}));
    expect(DBInstances?.map((instance) => instance.DBInstanceIdentifier).sort()).toEqual([
      SOURCE,
      'shop-prod-db-restore-1',
    ]);
  });
});
