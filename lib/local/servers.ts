import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import S3rver from 's3rver';

/** The embedded DynamoDB and S3 servers `npm start` runs when no endpoint is given. */
export interface EmbeddedServer {
  name: string;
  endpoint: string;
  close: () => Promise<void>;
}

export async function startDynalite(dataDir: string | undefined, port = 0): Promise<EmbeddedServer> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server: Server = dynalite({
    ...(dataDir ? { path: dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    name: 'DynamoDB (dynalite)',
    endpoint: `http://127.0.0.1:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function startS3rver(dataDir: string, port = 0): Promise<EmbeddedServer> {
  mkdirSync(dataDir, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port, directory: dataDir, silent: true });
  const { port: bound } = (await server.run()) as AddressInfo;
  return {
    name: 'S3 (s3rver)',
    endpoint: `http://127.0.0.1:${bound}`,
    close: async () => {
      await server.close();
    },
  };
}

export function stateDirs(stateDir: string) {
  return { dynamodb: join(stateDir, 'dynamodb'), s3: join(stateDir, 's3') };
}
