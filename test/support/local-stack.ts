import { join } from 'node:path';
import { startDynalite, startS3rver } from '../../lib/local/servers';
import { type AwsEndpoint, startAwsEndpoint } from './aws-endpoint';
import { interrupt, killLaunchers, startLauncherAt } from './launcher';

/**
 * `npm start` as the CLI's tests run it: DynamoDB (dynalite) and S3 (s3rver) embedded, every other AWS
 * service the fake endpoint, the launcher on free ports. `stop` ends what was started, last first.
 */
export interface LocalStack {
  aws: AwsEndpoint;
  apiUrl: string;
  /** serverless-offline's Lambda invoke endpoint, where a test delivers what EventBridge would. */
  lambdaPort: number;
  stop(): Promise<void>;
}

export async function startLocalStack(
  stateDir: string,
  options: { stage?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<LocalStack> {
  const started: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const close of started.splice(0).reverse()) await close();
  };
  try {
    const dynamodb = await startDynalite(undefined);
    started.push(() => dynamodb.close());
    const s3 = await startS3rver(join(stateDir, 'remote-s3'));
    started.push(() => s3.close());
    const aws = await startAwsEndpoint({ dynamodb: dynamodb.endpoint, s3: s3.endpoint });
    started.push(() => aws.close());
    // A launcher that failed its start is killed too, with whatever it started.
    started.push(async () => killLaunchers());
    const { launcher, apiUrl, lambdaPort } = await startLauncherAt(aws.url, stateDir, options);
    started.push(() => interrupt(launcher));
    return { aws, apiUrl, lambdaPort, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
