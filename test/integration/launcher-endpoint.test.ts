import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashToken, mintToken } from '../../lib/auth/tokens';
import { type EmbeddedServer, startDynalite, startS3rver } from '../../lib/local/servers';
import { interrupt, killLaunchers, startLauncher } from '../support/launcher';
import { freePort } from '../support/processes';

/**
 * One AWS-compatible endpoint on loopback, as LocalStack would be: DynamoDB calls
 * (by their X-Amz-Target) go to dynalite, S3 calls to s3rver, and any other
 * service is refused, so a test sees exactly which services used the endpoint.
 */
function compatibleEndpoint(dynamodb: string, s3: string): Promise<Server> {
  const server = createServer((incoming, outgoing) => {
    const target = String(incoming.headers['x-amz-target'] ?? '');
    if (target && !target.startsWith('DynamoDB_')) {
      outgoing.writeHead(501, { 'content-type': 'application/x-amz-json-1.1' });
      outgoing.end(JSON.stringify({ __type: 'NotImplemented', message: `${target} is not served here` }));
      return;
    }
    const upstream = new URL(target ? dynamodb : s3);
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let stateDir: string;
let dynamodb: EmbeddedServer;
let s3: EmbeddedServer;
let endpoint: Server;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'slipway-endpoint-'));
  dynamodb = await startDynalite(undefined);
  s3 = await startS3rver(join(stateDir, 'remote-s3'));
  endpoint = await compatibleEndpoint(dynamodb.endpoint, s3.endpoint);
});

afterAll(async () => {
  killLaunchers();
  await new Promise((done) => endpoint.close(done));
  await Promise.all([dynamodb.close(), s3.close()]);
  rmSync(stateDir, { recursive: true, force: true });
});

it('with AWS_ENDPOINT_URL, creates the table and bucket there and serves from it', async () => {
  // Given an AWS-compatible endpoint and a token
  const token = mintToken();
  writeFileSync(
    join(stateDir, 'tokens.json'),
    JSON.stringify({ tokens: [{ name: 'viewer', sha256: hashToken(token), roles: ['viewer'] }] }),
  );
  const httpPort = await freePort();
  const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;

  // When the launcher starts with AWS_ENDPOINT_URL pointing at it
  const launcher = await startLauncher([], {
    ...process.env,
    AWS_ENDPOINT_URL: url,
    SLIPWAY_STATE_DIR: stateDir,
    SLIPWAY_HTTP_PORT: String(httpPort),
    SLIPWAY_LAMBDA_PORT: String(await freePort()),
  });
  const output = launcher.output();

  // Then no embedded server was started: the table and bucket were created at the endpoint
  expect(output).toContain('table slipway-local-state: created');
  expect(output).toContain('bucket slipway-local-backups: created');
  expect(output).toContain(`DynamoDB        ${url}`);
  expect(output).toContain(`Other services  ${url}`);
  // And the volume functions, which exist in serverless-offline only, are still invoked there
  expect(output).toContain('(serverless-offline: every function, volume archives and restores among them)');

  // And readiness reads them there, while ECS is asked at the endpoint too (which refuses it) instead of being skipped
  const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await response.json()) as { failing: string[]; checks: Record<string, { status: string }> };
  expect(response.status).toBe(503);
  expect(body.failing).toEqual(['ecs']);
  expect(body.checks.stateTable?.status).toBe('healthy');
  expect(body.checks.backupBucket?.status).toBe('healthy');

  expect(await interrupt(launcher)).toBe(0);
});
