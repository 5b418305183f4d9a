import { clientConfig, isLoopback, s3ClientConfig } from '../../../lib/aws/clients';
import { endpointFor, regionFrom } from '../../../lib/aws/endpoints';

describe('the SDK client factory', () => {
  it('uses the region, adaptive retries and no endpoint by default', () => {
    expect(clientConfig('ecs', { AWS_REGION: 'eu-west-1' })).toEqual({
      region: 'eu-west-1',
      retryMode: 'adaptive',
      maxAttempts: 5,
    });
    expect(regionFrom({})).toBe('us-east-1');
    expect(regionFrom({ AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
  });

  it('honours AWS_ENDPOINT_URL for every service and AWS_ENDPOINT_URL_<SERVICE> above it', () => {
    const env = { AWS_ENDPOINT_URL: 'http://localstack:4566', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' };
    expect(endpointFor('ecs', env)).toBe('http://localstack:4566');
    expect(endpointFor('secretsmanager', env)).toBe('http://localstack:4566');
    expect(endpointFor('dynamodb', env)).toBe('http://127.0.0.1:8000');
    expect(endpointFor('secretsmanager', { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://sm' })).toBe('http://sm');
  });

  it('signs loopback endpoints with placeholders, never a remote one', () => {
    expect(clientConfig('dynamodb', { AWS_ENDPOINT_URL: 'http://127.0.0.1:8000' }).credentials).toEqual({
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
    expect(
      clientConfig('dynamodb', { AWS_ENDPOINT_URL: 'https://localstack.internal:4566' }).credentials,
    ).toBeUndefined();
    expect(isLoopback('http://localhost:4566')).toBe(true);
    expect(isLoopback('http://[::1]:4566')).toBe(true);
    expect(isLoopback('http://10.0.0.1:4566')).toBe(false);
    expect(isLoopback('not a url')).toBe(false);
  });

  it('gives S3 path-style and checksums only when required when an endpoint is set', () => {
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:4569', AWS_REGION: 'us-east-1' })).toMatchObject({
      endpoint: 'http://127.0.0.1:4569',
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    expect(s3ClientConfig({ AWS_REGION: 'us-east-1' })).not.toHaveProperty('forcePathStyle');
  });
});
