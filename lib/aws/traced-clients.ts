import { tracer } from '../observability/tracer';
import { createClient, documentClient } from './clients';
import { type Env, regionFrom } from './endpoints';

// Apart from the factory so that the backup worker, which streams gigabytes and traces nothing,
// never loads the X-Ray SDK: its async hooks cost a tenth of the worker's throughput.

/** One traced client per service per container, made on first use. */
function once<T extends object>(make: () => T): () => T {
  let client: T | undefined;
  return () => {
    client ??= tracer.captureAWSv3Client(make());
    return client;
  };
}

export const clients = {
  dynamodb: once(() => createClient.dynamodb()),
  documents: once(() => documentClient(createClient.dynamodb())),
  s3: once(() => createClient.s3()),
  secretsManager: once(() => createClient.secretsManager()),
  ecs: once(() => createClient.ecs()),
  ecr: once(() => createClient.ecr()),
  sns: once(() => createClient.sns()),
  sqs: once(() => createClient.sqs()),
  rds: once(() => createClient.rds()),
  lambda: once(() => createClient.lambda()),
};

/** One client per region, made on first use: repositories and snapshot copies may live elsewhere. */
export function perRegion<T extends object>(home: () => T, make: (env: Env) => T): (region: string) => T {
  const byRegion = new Map<string, T>();
  return (region) => {
    let client = byRegion.get(region);
    if (!client) {
      client =
        region === regionFrom() ? home() : tracer.captureAWSv3Client(make({ ...process.env, AWS_REGION: region }));
      byRegion.set(region, client);
    }
    return client;
  };
}
