import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGED_STAGES, type PackagedStage, packagedStage } from '../support/package';
import { allows, CFN_LINT_ALLOWLIST, cfnLint, describeFinding, explained, type Finding } from './cfn-lint';

/**
 * AWS's own rules for the packaged template: cfn-lint (the CloudFormation linter AWS maintains, checking
 * every resource against the CloudFormation resource specification) on both packaged stages. Guarantees:
 * no error, and no warning but those CFN_LINT_ALLOWLIST (cfn-lint.ts) lists with the reason they stay; an entry no warning needs
 * any more fails too, so the list only shrinks.
 */

const findings = new Map<PackagedStage, Finding[]>();
const owned: string[] = [];

beforeAll(async () => {
  await Promise.all(
    PACKAGED_STAGES.map(async (stage) => {
      const { dir, owned: mine } = await packagedStage(stage);
      if (mine) owned.push(dir);
      findings.set(stage, await cfnLint(join(dir, 'cloudformation-template-update-stack.json')));
    }),
  );
});

afterAll(() => {
  for (const dir of owned) rmSync(dir, { recursive: true, force: true });
});

describe.each(PACKAGED_STAGES)('cfn-lint on the packaged template of stage %s', (stage) => {
  it('finds no error', () => {
    const errors = (findings.get(stage) ?? []).filter((finding) => finding.Level === 'Error').map(describeFinding);

    expect(errors).toEqual([]);
  });

  it('finds no warning the allowlist does not explain', () => {
    const unexplained = (findings.get(stage) ?? [])
      .filter((finding) => finding.Level !== 'Error' && !explained(finding))
      .map(describeFinding);

    expect(unexplained).toEqual([]);
  });
});

describe('the cfn-lint allowlist', () => {
  it('has no entry that no warning of either stage needs', () => {
    const all = [...findings.values()].flat();
    const unused = CFN_LINT_ALLOWLIST.filter((entry) => !all.some((finding) => allows(entry, finding))).map(
      (entry) => `${entry.rule} ${entry.path}`,
    );

    expect(unused).toEqual([]);
  });
});
