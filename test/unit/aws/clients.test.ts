import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, isAwsEndpoint, isLoopback, s3ClientConfig } from '../../../lib/aws/client-config';
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

  it('signs with the credentials it is given, an assumed role’s, in place of the loopback placeholders', () => {
    // Given a session's credentials (lib/aws/account-credentials.ts)
    const session = async () => ({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' });

    // Then a client on a loopback endpoint, and one on AWS, sign with them, STS's client too
    expect(clientConfig('ecs', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }, session).credentials).toBe(session);
    expect(clientConfig('rds', {}, session).credentials).toBe(session);
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }, session).credentials).toBe(session);
    expect(endpointFor('sts', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' })).toBe('http://127.0.0.1:5000');
    expect(endpointFor('sts', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_STS: 'http://sts' })).toBe('http://sts');
  });

  it.each([['http://127.0.0.1:4569'], ['http://localhost:4566'], ['http://[::1]:9000']])(
    'given the loopback endpoint %s, when S3 is configured, then path-style and checksums only when required',
    (url) => {
      expect(s3ClientConfig({ AWS_ENDPOINT_URL: url, AWS_REGION: 'us-east-1' })).toEqual({
        region: 'us-east-1',
        retryMode: 'adaptive',
        maxAttempts: 5,
        endpoint: url,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        forcePathStyle: true,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
    },
  );

  it.each([
    ['an S3 interface endpoint', 'https://bucket.vpce-0a1b2c3d4e5f67890-abcdefgh.s3.us-east-1.vpce.amazonaws.com'],
    [
      'an interface endpoint without the bucket label',
      'https://vpce-0a1b2c3d4e5f67890-abcdefgh.s3.us-east-1.vpce.amazonaws.com',
    ],
    ['the regional endpoint', 'https://s3.eu-west-1.amazonaws.com'],
    ['a FIPS endpoint', 'https://s3-fips.us-east-1.amazonaws.com'],
    ['a dual-stack endpoint', 'https://s3.dualstack.eu-west-1.amazonaws.com'],
    ['a China region endpoint', 'https://s3.cn-north-1.amazonaws.com.cn'],
  ])('given %s, when S3 is configured, then virtual-hosted requests with the SDK default checksums', (_, url) => {
    expect(s3ClientConfig({ AWS_ENDPOINT_URL_S3: url, AWS_REGION: 'us-east-1' })).toEqual({
      region: 'us-east-1',
      retryMode: 'adaptive',
      maxAttempts: 5,
      endpoint: url,
    });
  });

  it('given an S3-compatible server on another host, when S3 is configured, then path-style with the SDK default checksums', () => {
    expect(s3ClientConfig({ AWS_ENDPOINT_URL: 'http://minio.internal:9000', AWS_REGION: 'us-east-1' })).toEqual({
      region: 'us-east-1',
      retryMode: 'adaptive',
      maxAttempts: 5,
      endpoint: 'http://minio.internal:9000',
      forcePathStyle: true,
    });
  });

  it('given no endpoint, when S3 is configured, then the SDK defaults', () => {
    expect(s3ClientConfig({ AWS_REGION: 'us-east-1' })).toEqual({
      region: 'us-east-1',
      retryMode: 'adaptive',
      maxAttempts: 5,
    });
    expect(isAwsEndpoint('not a url')).toBe(false);
    expect(isAwsEndpoint('https://amazonaws.com.example.org')).toBe(false);
  });

  it.each([
    [
      'an S3 interface endpoint',
      'https://bucket.vpce-0a1b2c3d4e5f67890-abcdefgh.s3.us-east-1.vpce.amazonaws.com',
      'slipway-prod-backups.bucket.vpce-0a1b2c3d4e5f67890-abcdefgh.s3.us-east-1.vpce.amazonaws.com',
      '/dumps/shop-db/20261122T030000Z.dump',
      true,
    ],
    [
      's3rver on this machine',
      'http://127.0.0.1:4569',
      '127.0.0.1',
      '/slipway-prod-backups/dumps/shop-db/20261122T030000Z.dump',
      false,
    ],
  ])(
    'given %s, when an object is put, then the request goes to its host and path, checksummed only off this machine',
    async (_, url, hostname, path, checksummed) => {
      // given: a client whose requests stop at a handler that records them
      const sent: HttpRequest[] = [];
      const s3 = new S3Client({
        ...s3ClientConfig({ AWS_ENDPOINT_URL_S3: url, AWS_REGION: 'us-east-1' }),
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
        requestHandler: recordingHandler(sent) as never,
      });

      // when
      await s3.send(
        new PutObjectCommand({
          Bucket: 'slipway-prod-backups',
          Key: 'dumps/shop-db/20261122T030000Z.dump',
          Body: Buffer.from('PGDMP'),
        }),
      );

      // then: an Object Lock bucket refuses a put with neither Content-MD5 nor x-amz-checksum-* (S3 API Reference, PutObject)
      const [request] = sent;
      expect(request?.hostname).toBe(hostname);
      expect(request?.path).toBe(path);
      expect(Object.keys(request?.headers ?? {}).some((name) => name.startsWith('x-amz-checksum-'))).toBe(checksummed);
    },
  );
});

interface HttpRequest {
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

/** A request handler that keeps each request and answers 200 with an ETag, as S3 answers a put. */
function recordingHandler(sent: HttpRequest[]) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
    async handle(request: HttpRequest) {
      sent.push(request);
      return {
        response: {
          statusCode: 200,
          reason: 'OK',
          headers: { etag: '"5d41402abc4b2a76b9719d911017c592"' },
          body: Readable.from([]),
        },
      };
    },
  };
}
