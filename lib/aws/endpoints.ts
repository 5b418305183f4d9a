/**
 * Where each AWS service is reached. Follows the SDK's documented variables:
 * AWS_ENDPOINT_URL for every service, AWS_ENDPOINT_URL_<SERVICE> to override one.
 */
export type ServiceId =
  | 'dynamodb'
  | 's3'
  | 'secretsmanager'
  | 'ecs'
  | 'ecr'
  | 'rds'
  | 'cloudwatch'
  | 'sns'
  | 'sqs'
  | 'lambda'
  | 'eventbridge'
  | 'kms'
  | 'sts';

const ENV_SUFFIX: Record<ServiceId, string> = {
  dynamodb: 'DYNAMODB',
  s3: 'S3',
  secretsmanager: 'SECRETS_MANAGER',
  ecs: 'ECS',
  ecr: 'ECR',
  rds: 'RDS',
  cloudwatch: 'CLOUDWATCH',
  sns: 'SNS',
  sqs: 'SQS',
  lambda: 'LAMBDA',
  eventbridge: 'EVENTBRIDGE',
  kms: 'KMS',
  sts: 'STS',
};

export type Env = Record<string, string | undefined>;

export function serviceEndpointVariable(service: ServiceId): string {
  return `AWS_ENDPOINT_URL_${ENV_SUFFIX[service]}`;
}

export function endpointFor(service: ServiceId, env: Env = process.env): string | undefined {
  return env[serviceEndpointVariable(service)] || env.AWS_ENDPOINT_URL || undefined;
}

export function regionFrom(env: Env = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}
