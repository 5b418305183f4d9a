import { z } from 'zod';
import { SCAN_SEVERITIES } from '../config/schema';

/** The ECR events releases listen to, as EventBridge delivers them (Amazon ECR user guide, "ECR events and EventBridge"). */

const DIGEST = /^sha256:[0-9a-f]{64}$/;

const envelope = {
  id: z.string().min(1),
  source: z.literal('aws.ecr'),
  account: z.string().regex(/^\d{12}$/, 'expected a 12-digit account id'),
  region: z.string().min(1),
  time: z.string().min(1),
};

/** `ECR Image Action`: a push or a delete. A failed push carries no digest. */
export const ecrImageActionEvent = z.object({
  ...envelope,
  'detail-type': z.literal('ECR Image Action'),
  detail: z.object({
    result: z.enum(['SUCCESS', 'FAILURE']),
    'action-type': z.enum(['PUSH', 'DELETE']),
    'repository-name': z.string().min(1),
    'image-digest': z.string().regex(DIGEST, 'expected sha256:<64 hex digits>').optional(),
    'image-tag': z.string().min(1).optional(),
  }),
});
export type EcrImageActionEvent = z.output<typeof ecrImageActionEvent>;

/** `ECR Image Scan`: basic scanning finished for one digest. */
export const ecrImageScanEvent = z.object({
  ...envelope,
  'detail-type': z.literal('ECR Image Scan'),
  detail: z.object({
    'scan-status': z.string().min(1),
    'repository-name': z.string().min(1),
    'image-digest': z.string().regex(DIGEST, 'expected sha256:<64 hex digits>'),
    'image-tags': z.array(z.string()).default([]),
    'finding-severity-counts': z.partialRecord(z.enum(SCAN_SEVERITIES), z.number().int().min(0)).default({}),
  }),
});
export type EcrImageScanEvent = z.output<typeof ecrImageScanEvent>;

export function repositoryUri(account: string, region: string, repositoryName: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${account}.dkr.ecr.${region}.${suffix}/${repositoryName}`;
}

export type ScanCounts = Partial<Record<(typeof SCAN_SEVERITIES)[number], number>>;

/** Severities over their limit, as `HIGH 7 > 5`; empty when the scan passes. */
export function overLimits(counts: ScanCounts, limits: ScanCounts): string[] {
  return SCAN_SEVERITIES.flatMap((severity) => {
    const limit = limits[severity];
    const found = counts[severity] ?? 0;
    return limit !== undefined && found > limit ? [`${severity} ${found} > ${limit}`] : [];
  });
}
