import { S3Client } from '@aws-sdk/client-s3';
import { type Credentials, s3ClientConfig } from '../client-config';
import type { Env } from '../endpoints';

export const createS3Client = (env?: Env, credentials?: Credentials) => new S3Client(s3ClientConfig(env, credentials));
