import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isLoopbackHost } from '../net/addresses';
import { type Env, endpointFor, regionFrom, type ServiceId } from './endpoints';

const MAX_ATTEMPTS = 5;

export interface BaseClientConfig {
  region: string;
  endpoint?: string;
  retryMode: 'adaptive';
  maxAttempts: number;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

// Emulators on this machine need no real credentials: dynalite and LocalStack take any,
// s3rver takes its documented S3RVER pair. Placeholders let them work where AWS has none.
const LOOPBACK_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export function isLoopback(endpoint: string): boolean {
  try {
    return isLoopbackHost(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

/** The settings every SDK client in Slipway is built with. */
export function clientConfig(service: ServiceId, env: Env = process.env): BaseClientConfig {
  const endpoint = endpointFor(service, env);
  return {
    region: regionFrom(env),
    retryMode: 'adaptive',
    maxAttempts: MAX_ATTEMPTS,
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && isLoopback(endpoint) ? { credentials: LOOPBACK_CREDENTIALS } : {}),
  };
}

// AWS's own S3 endpoints: public, FIPS and dual-stack, and interface endpoints (`*.vpce.amazonaws.com`).
const AWS_HOST = /(^|\.)(amazonaws\.com|amazonaws\.com\.cn|api\.aws)$/;

export function isAwsEndpoint(endpoint: string): boolean {
  try {
    return AWS_HOST.test(new URL(endpoint).hostname);
  } catch {
    return false;
  }
}

export function s3ClientConfig(env: Env = process.env) {
  const base = clientConfig('s3', env);
  if (!base.endpoint) return base;
  return {
    ...base,
    // AWS endpoints take virtual-hosted requests, an interface endpoint as `<bucket>.bucket.vpce-…` (Amazon S3
    // user guide, AWS PrivateLink for Amazon S3); other S3-compatible servers seldom resolve `<bucket>.<host>`.
    ...(isAwsEndpoint(base.endpoint) ? {} : { forcePathStyle: true }),
    // Only the emulators run here (s3rver) mangle the SDK's streamed checksums. Real S3 needs them: a put into an
    // Object Lock bucket without Content-MD5 or x-amz-checksum-* is refused (Amazon S3 API Reference, PutObject).
    ...(isLoopback(base.endpoint)
      ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
  };
}

type Factory<T> = (env?: Env) => T;

export const createClient = {
  dynamodb: (env?: Env) => new DynamoDBClient(clientConfig('dynamodb', env)),
  s3: (env?: Env) => new S3Client(s3ClientConfig(env)),
  secretsManager: (env?: Env) => new SecretsManagerClient(clientConfig('secretsmanager', env)),
  ecs: (env?: Env) => new ECSClient(clientConfig('ecs', env)),
  ecr: (env?: Env) => new ECRClient(clientConfig('ecr', env)),
  sns: (env?: Env) => new SNSClient(clientConfig('sns', env)),
  sqs: (env?: Env) => new SQSClient(clientConfig('sqs', env)),
  rds: (env?: Env) => new RDSClient(clientConfig('rds', env)),
  lambda: (env?: Env) => new LambdaClient(clientConfig('lambda', env)),
} satisfies Record<string, Factory<unknown>>;

/** The document client every repository in lib/store is given. */
export function documentClient(dynamodb: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}
