import * as z from 'zod/mini';
import { SCAN_SEVERITIES, type ScanCounts, type Severity } from './records';

/**
 * What an image scan says, as plain data: the counts a release's `maxFindings` is held against,
 * from basic scanning (ECR) or enhanced scanning (Amazon Inspector), for one image or for the
 * images an image index lists.
 */

/**
 * Keys a count map may carry that are not severities a limit can name: Amazon Inspector adds `TOTAL`
 * (the sum of the others) and `UNTRIAGED` (findings it has not given a severity yet) to the counts of
 * its `Inspector2 Scan` event (Amazon Inspector user guide, "EventBridge events for Amazon Inspector").
 */
export const NOT_SEVERITIES = ['TOTAL', 'UNTRIAGED'] as const;

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const SEVERITIES = new Set<string>(SCAN_SEVERITIES);

/** The counts that are severities; TOTAL and UNTRIAGED are dropped, so TOTAL never counts twice. */
export function countsOf(raw: Partial<Record<string, number>>): ScanCounts {
  return Object.fromEntries(
    Object.entries(raw).filter(
      (entry): entry is [Severity, number] => SEVERITIES.has(entry[0]) && typeof entry[1] === 'number',
    ),
  );
}

/** Severities over their limit, as `HIGH 7 > 5`; empty when the scan passes. */
export function overLimits(counts: ScanCounts, limits: ScanCounts): string[] {
  return SCAN_SEVERITIES.flatMap((severity) => {
    const limit = limits[severity];
    const found = counts[severity] ?? 0;
    return limit !== undefined && found > limit ? [`${severity} ${found} > ${limit}`] : [];
  });
}

/**
 * Where an image's scan result is, by ECR's `imageScanStatus.status` (ECR API Reference, ImageScanStatus):
 * `COMPLETE` is basic scanning's result, its counts in DescribeImages' summary; `ACTIVE` is enhanced
 * scanning's ("the scan is complete and the findings are available", kept up to date by Amazon
 * Inspector), its findings read with DescribeImageScanFindings. Anything else has no result yet.
 */
export function scanResultSource(status: string | undefined): 'summary' | 'findings' | undefined {
  if (status === 'COMPLETE') return 'summary';
  if (status === 'ACTIVE') return 'findings';
  return undefined;
}

/** An enhanced finding as DescribeImageScanFindings lists it (ECR API Reference, EnhancedImageScanFinding). */
export interface EnhancedFinding {
  severity?: string;
  status?: string;
}

/**
 * Enhanced findings counted by severity. Amazon Inspector closes a finding once it is fixed and
 * suppresses one a rule hides (Inspector API Reference, Finding: status ACTIVE | SUPPRESSED | CLOSED):
 * only the open ones count, as in the counts of its own scan event.
 */
export function tallyFindings(findings: readonly EnhancedFinding[]): ScanCounts {
  const tally: Partial<Record<string, number>> = {};
  for (const finding of findings) {
    if (finding.status === 'CLOSED' || finding.status === 'SUPPRESSED' || !finding.severity) continue;
    tally[finding.severity] = (tally[finding.severity] ?? 0) + 1;
  }
  return countsOf(tally);
}

/** The highest count of each severity among several scans: a limit holds for all of them exactly when it holds for this. */
export function worstCounts(scans: readonly ScanCounts[]): ScanCounts {
  const worst: ScanCounts = {};
  for (const counts of scans) {
    for (const severity of SCAN_SEVERITIES) {
      const found = counts[severity];
      if (found !== undefined && found > (worst[severity] ?? -1)) worst[severity] = found;
    }
  }
  return worst;
}

/** The media types of an image index, OCI's and Docker's manifest list (ECR user guide, "Container image manifest format support"). */
export const IMAGE_INDEX_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;
const IMAGE_MANIFEST_MEDIA_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);

export const isImageIndex = (mediaType: string | undefined) =>
  (IMAGE_INDEX_MEDIA_TYPES as readonly (string | undefined)[]).includes(mediaType);

const imageIndex = z.object({
  manifests: z.array(
    z.object({
      mediaType: z.string(),
      digest: z.string().check(z.regex(DIGEST)),
      platform: z.optional(z.object({ architecture: z.string(), os: z.string() })),
      annotations: z.optional(z.record(z.string(), z.string())),
    }),
  ),
});

/**
 * The digests of the images an image index lists, which ECR pushed (and scans) before the index
 * itself, in the order listed. Left out: BuildKit's attestation manifests (annotated
 * `vnd.docker.reference.type: attestation-manifest`, platform `unknown/unknown`), which hold no
 * image to scan or run, and anything that is not an image manifest. Undefined when the manifest
 * is not an image index.
 */
export function indexImages(manifest: string): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(manifest);
  } catch {
    return undefined;
  }
  const index = z.safeParse(imageIndex, parsed);
  if (!index.success) return undefined;
  return index.data.manifests
    .filter(
      (entry) =>
        IMAGE_MANIFEST_MEDIA_TYPES.has(entry.mediaType) &&
        entry.annotations?.['vnd.docker.reference.type'] !== 'attestation-manifest' &&
        entry.platform?.os !== 'unknown',
    )
    .map((entry) => entry.digest)
    .filter((digest, position, all) => all.indexOf(digest) === position);
}
