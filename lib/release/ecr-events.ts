import * as z from 'zod/mini';
import '../errors/validation';
import { SCAN_SEVERITIES, type ScanCounts } from './records';
import { countsOf, NOT_SEVERITIES } from './scans';

/**
 * The events releases listen to, as EventBridge delivers them: ECR's own (Amazon ECR user guide,
 * "Amazon ECR events and EventBridge") and Amazon Inspector's for enhanced scanning (ECR user guide,
 * "EventBridge events sent for enhanced scanning in Amazon ECR"; Amazon Inspector user guide,
 * "EventBridge events for Amazon Inspector"). Each schema is built in a call marked pure, so a function
 * bundles only the events it hears.
 */

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const digest = () => z.string().check(z.regex(DIGEST, 'expected sha256:<64 hex digits>'));

const envelope = /* @__PURE__ */ (() => ({
  id: z.string().check(z.minLength(1)),
  account: z.string().check(z.regex(/^\d{12}$/, 'expected a 12-digit account id')),
  region: z.string().check(z.minLength(1)),
  time: z.string().check(z.minLength(1)),
}))();

/** `ECR Image Action`: a push or a delete. A failed push carries no digest. */
export const ecrImageActionEvent = /* @__PURE__ */ (() =>
  z.object({
    ...envelope,
    source: z.literal('aws.ecr'),
    'detail-type': z.literal('ECR Image Action'),
    detail: z.object({
      result: z.enum(['SUCCESS', 'FAILURE']),
      'action-type': z.enum(['PUSH', 'DELETE']),
      'repository-name': z.string().check(z.minLength(1)),
      'image-digest': z.optional(digest()),
      // ECR sends "" for a push by digest alone, as for each image of an image index before the index.
      'image-tag': z.optional(z.string()),
      // Newer pushes carry both media types, which the published example predates; Slipway reads the
      // manifest's type from DescribeImages instead, so an event without them is judged the same.
      'manifest-media-type': z.optional(z.string()),
      'artifact-media-type': z.optional(z.string()),
    }),
  }))();
export type EcrImageActionEvent = z.output<typeof ecrImageActionEvent>;

/** Counts by severity; Amazon Inspector adds TOTAL and UNTRIAGED, which are no severity a limit names. */
const severityCounts = /* @__PURE__ */ (() =>
  z.pipe(
    z._default(
      z.partialRecord(z.enum([...SCAN_SEVERITIES, ...NOT_SEVERITIES]), z.number().check(z.int(), z.minimum(0))),
      {},
    ),
    z.transform(countsOf),
  ))();

/** A scan event's detail: ECR's and Amazon Inspector's differ only in how they name the repository. */
const scanDetail = (repositoryName: z.ZodMiniString) =>
  z.object({
    'scan-status': z.string().check(z.minLength(1)),
    'repository-name': repositoryName,
    'image-digest': digest(),
    'image-tags': z._default(z.array(z.string()), []),
    'finding-severity-counts': severityCounts,
  });

/** `ECR Image Scan`: basic scanning finished for one digest. */
export const ecrImageScanEvent = /* @__PURE__ */ (() =>
  z.object({
    ...envelope,
    source: z.literal('aws.ecr'),
    'detail-type': z.literal('ECR Image Scan'),
    detail: scanDetail(z.string().check(z.minLength(1))),
  }))();
export type EcrImageScanEvent = z.output<typeof ecrImageScanEvent>;

const REPOSITORY_ARN = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/;

/** `Inspector2 Scan` for an ECR image: enhanced scanning's first scan of one digest finished. */
export const inspectorScanEvent = /* @__PURE__ */ (() =>
  z.object({
    ...envelope,
    source: z.literal('aws.inspector2'),
    'detail-type': z.literal('Inspector2 Scan'),
    // The repository's ARN here, not its name as in ECR's own events.
    detail: scanDetail(z.string().check(z.regex(REPOSITORY_ARN, 'expected an ECR repository ARN'))),
  }))();
export type InspectorScanEvent = z.output<typeof inspectorScanEvent>;

/** Either scan event: the ecrImageScan function hears both. */
export const imageScanEvent = /* @__PURE__ */ (() =>
  z.discriminatedUnion('detail-type', [ecrImageScanEvent, inspectorScanEvent]))();
export type ImageScanEvent = z.output<typeof imageScanEvent>;

export function repositoryUri(account: string, region: string, repositoryName: string): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${account}.dkr.ecr.${region}.${suffix}/${repositoryName}`;
}

/** The scan status each event sends once the result is there; any other is not a result. */
const FINISHED = { 'ECR Image Scan': 'COMPLETE', 'Inspector2 Scan': 'INITIAL_SCAN_COMPLETE' } as const;

/** What a scan event says about which image, or why it says nothing a release waits for. */
export function scanOf(
  event: ImageScanEvent,
): { repository: string; digest: string; counts: ScanCounts } | { repository: string; ignored: string } {
  const detail = event.detail;
  const arn = event['detail-type'] === 'Inspector2 Scan' ? REPOSITORY_ARN.exec(detail['repository-name']) : null;
  const repository = arn
    ? repositoryUri(arn[2] as string, arn[1] as string, arn[3] as string)
    : repositoryUri(event.account, event.region, detail['repository-name']);
  if (detail['scan-status'] !== FINISHED[event['detail-type']]) {
    return { repository, ignored: `scan status ${detail['scan-status']}` };
  }
  return { repository, digest: detail['image-digest'], counts: detail['finding-severity-counts'] };
}
