import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createClient, documentClient } from '../aws/clients';
import { ConfigError, InvalidInput } from '../errors';
import { notificationPublisher } from '../notify/notifications';
import { registerSecretValue } from '../observability';
import { BackupStore, RestoreStore } from '../store/backups';
import type { WorkerJobDeps } from './jobs';
import { connectionFromSecret, type PgConnection } from './postgres';

/** A database's credentials from Secrets Manager (the RDS secret format); the password is never logged. */
export async function connectionFromSecretId(client: SecretsManagerClient, secretId: string): Promise<PgConnection> {
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!SecretString) throw new InvalidInput(`secret ${secretId} has no string value`);
  registerSecretValue(SecretString);
  return connectionFromSecret(SecretString);
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set; the worker needs it`);
  return value;
}

/**
 * The worker's dependencies from its environment alone (names, never secrets): the worker task's
 * image is the same for every stage and carries no configuration.
 */
export function workerDepsFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerJobDeps {
  const tableName = required(env, 'STATE_TABLE');
  const documents = documentClient(createClient.dynamodb(env));
  const secretsManager = createClient.secretsManager(env);
  return {
    store: new BackupStore(documents, tableName),
    restores: new RestoreStore(documents, tableName),
    s3: createClient.s3(env),
    publisher: notificationPublisher({
      sns: createClient.sns(env),
      topicArn: env.NOTIFICATIONS_TOPIC_ARN || undefined,
      secretsManager,
      slackWebhookSecret: env.SLACK_WEBHOOK_SECRET_ID || undefined,
    }),
    volumeRoot: env.SLIPWAY_VOLUME_ROOT || '/mnt',
    connectionFor: (secretId) => connectionFromSecretId(secretsManager, secretId),
    ...(env.SLIPWAY_PG_BIN_DIR ? { pgBinDir: env.SLIPWAY_PG_BIN_DIR } : {}),
  };
}
