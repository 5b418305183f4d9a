import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** cfn-lint, the CloudFormation linter AWS maintains, run on one template file: its findings. */

const run = promisify(execFile);

export interface Finding {
  Level: 'Error' | 'Warning' | 'Informational';
  Message: string;
  Rule: { Id: string };
  Location: { Path: Array<string | number> };
}

const INSTALL =
  'cfn-lint is not on PATH: install it with `pip install cfn-lint` (the template tests lint every packaged template with it)';

export async function cfnLint(template: string): Promise<Finding[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('cfn-lint', ['--format', 'json', template], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
    }));
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(INSTALL);
    // cfn-lint's exit code adds 2 for errors, 4 for warnings and 8 for notes; an odd or larger one did not lint.
    if (typeof failure.code !== 'number' || failure.code % 2 !== 0 || failure.code >= 16) {
      throw new Error(`cfn-lint failed (${String(failure.code)}): ${failure.stderr ?? failure.message}`);
    }
    stdout = failure.stdout ?? '';
  }
  return JSON.parse(stdout) as Finding[];
}
