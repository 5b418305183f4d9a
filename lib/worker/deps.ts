import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createDocumentClient } from '../aws/clients/dynamodb';
import { createS3Client } from '../aws/clients/s3';
import { createSecretsManagerClient } from '../aws/clients/secrets-manager';
import { createSnsClient } from '../aws/clients/sns';
import { readSecretString } from '../aws/secrets';
import { ConfigError } from '../errors';
import { notificationPublisher } from '../notify/notifications';
import { BackupStore, RestoreStore } from '../store/backups';
import type { WorkerJobDeps } from './jobs';
import { connectionFromSecret, type PgConnection } from './postgres/connection';

/** A database's credentials from Secrets Manager (the RDS secret format); the password is never logged. */
export async function connectionFromSecretId(client: SecretsManagerClient, secretId: string): Promise<PgConnection> {
  return connectionFromSecret(await readSecretString(client, secretId, `the database credentials ${secretId}`));
}

/** One client per region, made when first asked for. */
function clientsByRegion<T>(make: (region: string) => T): (region: string) => T {
  const clients = new Map<string, T>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = make(region);
      clients.set(region, client);
    }
    return client;
  };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set; the worker needs it`);
  return value;
}

/**
 * The worker's dependencies from its environment alone (names, never secrets): the worker task's
 * image is the same for every stage and carries no configuration. Its clients are its own, untraced:
 * the worker runs apart from the control plane's functions and never loads lib/wiring.
 */
export function workerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerJobDeps {
  const tableName = required(env, 'STATE_TABLE');
  const documents = createDocumentClient(env);
  const secretsManager = createSecretsManagerClient(env);
  return {
    store: new BackupStore(documents, tableName),
    restores: new RestoreStore(documents, tableName),
    s3: createS3Client(env),
    s3In: clientsByRegion((region) => createS3Client({ ...env, AWS_REGION: region })),
    publisher: notificationPublisher({
      sns: createSnsClient(env),
      topicArn: env.NOTIFICATIONS_TOPIC_ARN || undefined,
      secretsManager,
      slackWebhookSecret: env.SLACK_WEBHOOK_SECRET_ID || undefined,
    }),
    volumeRoot: env.SLIPWAY_VOLUME_ROOT || '/mnt',
    connectionFor: (secretId) => connectionFromSecretId(secretsManager, secretId),
    ...(env.SLIPWAY_PG_BIN_DIR ? { pgBinDir: env.SLIPWAY_PG_BIN_DIR } : {}),
  };
}
