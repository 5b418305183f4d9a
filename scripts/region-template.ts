/**
 * `npm run region-template -- [--stage STAGE] [--region REGION]`: writes resources/control-plane-region/<stage>-<r>.yml
 * for each region r other than the control plane's where config/<stage>.yml places something of the control plane's
 * own account (lib/events/region-template.ts), and deletes the stage's files of regions it no longer places anything
 * in. REGION is the control plane's: as serverless.yml takes it, --region, else AWS_REGION, else us-east-1. A unit
 * test fails when a committed file is stale.
 */
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadStageConfig } from '../lib/config/load';
import {
  controlPlaneRegions,
  REGION_TEMPLATE_DIR,
  regionTemplatePath,
  renderRegionTemplate,
} from '../lib/events/region-template';
import { writeGenerated } from './write-generated';

const { values } = parseArgs({
  options: { stage: { type: 'string', default: 'prod' }, region: { type: 'string' } },
});
const stage = values.stage as string;
const controlPlaneRegion = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
const config = loadStageConfig(stage);
const regions = controlPlaneRegions(config, controlPlaneRegion);
mkdirSync(REGION_TEMPLATE_DIR, { recursive: true });
for (const region of regions) {
  const text = renderRegionTemplate({ config, stage, service: 'slipway', controlPlaneRegion, region });
  writeGenerated(regionTemplatePath(stage, region), text);
}
const kept = new Set(regions.map((region) => regionTemplatePath(stage, region)));
for (const file of readdirSync(REGION_TEMPLATE_DIR)) {
  const path = join(REGION_TEMPLATE_DIR, file);
  // <stage>-<region>.yml exactly: another stage's name may start with this one's.
  const region = file.startsWith(`${stage}-`) ? file.slice(stage.length + 1).replace(/\.yml$/, '') : '';
  if (/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/.test(region) && file.endsWith('.yml') && !kept.has(path)) {
    rmSync(path);
    process.stdout.write(`deleted ${path}: config places nothing of the control plane's account there\n`);
  }
}
if (regions.length === 0) process.stdout.write(`config/${stage}.yml places nothing outside ${controlPlaneRegion}\n`);
