/**
 * The stacks of the control plane's own account in its other regions (lib/events/region-template.ts), as AWS's linter
 * takes them: cfn-lint finds nothing in the committed resources/control-plane-region/ files, nor in one the generator
 * makes of a region holding an environment, a repository whose pushes and Amazon Inspector scans are forwarded, and a
 * database's copies at once. The committed files' staleness is test/unit/events/region-template.test.ts's.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStageConfig } from '../../lib/config/load';
import type { SlipwayConfig } from '../../lib/config/schema';
import { controlPlaneRegions, regionTemplatePath, renderRegionTemplate } from '../../lib/events/region-template';
import { cfnLint } from './cfn-lint';

const scratch = mkdtempSync(join(tmpdir(), 'slipway-region-templates-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** The kitchen sink with shop's repository in eu-central-1 beside web/europe, and reports-db copied there. */
function everythingInFrankfurt(): SlipwayConfig {
  const config = structuredClone(loadStageConfig('kitchen-sink'));
  (config.apps.shop as SlipwayConfig['apps'][string]).repository =
    '123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop-backend';
  const reports = config.databases['reports-db'] as SlipwayConfig['databases'][string];
  reports.copyToRegion = 'eu-central-1';
  reports.copyKmsKeyId = 'arn:aws:kms:eu-central-1:123456789012:key/5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
  return config;
}

describe('cfn-lint on the regional stacks of the control plane’s account', () => {
  it('finds nothing in any of them, committed or with every kind of forwarding in one region', async () => {
    const generated = join(scratch, 'kitchen-sink-eu-central-1.yml');
    const text = renderRegionTemplate({
      config: everythingInFrankfurt(),
      stage: 'kitchen-sink',
      service: 'slipway',
      controlPlaneRegion: 'us-east-1',
      region: 'eu-central-1',
    });
    // Given the generated one forwards ECS, ECR, Amazon Inspector, RDS and alarm events
    for (const source of ['aws.ecs', 'aws.ecr', 'aws.inspector2', 'aws.rds', 'aws.cloudwatch']) {
      expect(text).toContain(`- ${source}`);
    }
    writeFileSync(generated, text);
    const files = [
      ...controlPlaneRegions(loadStageConfig('kitchen-sink'), 'us-east-1').map((region) =>
        regionTemplatePath('kitchen-sink', region),
      ),
      generated,
    ];

    // When cfn-lint reads each
    const findings: string[] = [];
    for (const file of files) {
      for (const finding of await cfnLint(file)) {
        findings.push(`${file}: ${finding.Rule.Id} ${finding.Location.Path.join('/')}: ${finding.Message}`);
      }
    }

    // Then it finds nothing
    expect(findings).toEqual([]);
  });
});
