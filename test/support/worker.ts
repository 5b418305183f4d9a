import { spawn } from 'node:child_process';

export interface WorkerRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `slipway-worker …` as the worker task runs it: a process of its own, with only the environment given. */
export function runWorker(args: string[], env: Record<string, string | undefined>): Promise<WorkerRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/slipway-worker.mjs', ...args], {
      env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
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
