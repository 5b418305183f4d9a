import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createClient } from '../../lib/aws/clients';
import { type EmbeddedServer, startS3rver } from '../../lib/local/servers';

let s3rver: EmbeddedServer;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'slipway-worker-cli-'));
  mkdirSync(join(work, 's3'));
  s3rver = await startS3rver(join(work, 's3'));
  await createClient
    .s3({ AWS_ENDPOINT_URL: s3rver.endpoint, AWS_REGION: 'us-east-1' })
    .send(new CreateBucketCommand({ Bucket: 'backups' }));
});

afterAll(async () => {
  await s3rver.close();
  rmSync(work, { recursive: true, force: true });
});

function worker(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/slipway-worker.mjs', ...args], {
      env: {
        PATH: process.env.PATH,
        AWS_ENDPOINT_URL: s3rver.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('slipway-worker', () => {
  it('backs a directory up to S3 and restores it elsewhere, one JSON line each', async () => {
    // Given a small tree
    const dir = join(work, 'uploads');
    mkdirSync(join(dir, 'images'), { recursive: true });
    writeFileSync(join(dir, 'images', 'logo.txt'), 'slipway\n');
    writeFileSync(join(dir, 'empty.bin'), '');

    // When it is backed up through the command line, against the endpoint in AWS_ENDPOINT_URL
    const backup = await worker(['backup-volume', '--dir', dir, '--bucket', 'backups', '--prefix', 'volumes/uploads']);

    // Then one JSON line says what was written
    expect(backup.code).toBe(0);
    const lines = backup.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const written = JSON.parse(lines[0] ?? '{}');
    expect(written).toMatchObject({
      command: 'backup-volume',
      archiveKey: expect.stringMatching(/^volumes\/uploads\/\d{8}T\d{6}Z\.tar\.gz$/),
      manifestKey: expect.stringMatching(/^volumes\/uploads\/\d{8}T\d{6}Z\.manifest\.ndjson$/),
      archiveSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      consistent: true,
    });

    // And restoring it into a new directory gives the same files
    const target = join(work, 'restored');
    const restore = await worker([
      'restore-volume',
      '--bucket',
      'backups',
      '--manifest',
      written.manifestKey,
      '--dir',
      target,
    ]);
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout.trim())).toMatchObject({ command: 'restore-volume', target });
    expect(readFileSync(join(target, 'images', 'logo.txt'), 'utf8')).toBe('slipway\n');
    expect(readFileSync(join(target, 'empty.bin'), 'utf8')).toBe('');
  });

  it('explains a usage mistake in one line and exits 2', async () => {
    const missing = await worker(['backup-volume', '--dir', work, '--bucket', 'backups']);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('slipway-worker: --prefix is required');
    const both = await worker([
      'backup-postgres',
      '--url',
      'postgres://a@b/c',
      '--secret',
      's',
      '--bucket',
      'b',
      '--prefix',
      'p',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr.split('\n')[0]).toBe('slipway-worker: give exactly one of --url or --secret');
    const unknown = await worker(['backup-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe('slipway-worker: unknown command backup-everything');
  });

  it('fails with the reason, and exits 1, when the restore cannot verify', async () => {
    const result = await worker([
      'restore-volume',
      '--bucket',
      'backups',
      '--manifest',
      'volumes/nothing.manifest.ndjson',
      '--dir',
      join(work, 'never'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('volumes/nothing.manifest.ndjson');
    expect(result.stdout).toBe('');
  });
});
