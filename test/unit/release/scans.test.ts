import { readFileSync } from 'node:fs';
import { imageScanEvent, scanOf } from '../../../lib/release/ecr-events';
import {
  countsOf,
  indexImages,
  isImageIndex,
  overLimits,
  scanResultSource,
  tallyFindings,
  worstCounts,
} from '../../../lib/release/scans';

const sample = (name: string) => JSON.parse(readFileSync(`events/${name}`, 'utf8'));
const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend';
const BATCH_GET_IMAGE = JSON.parse(readFileSync('test/fixtures/ecr/batch-get-image.image-index.json', 'utf8'));
const INDEX_MANIFEST: string = BATCH_GET_IMAGE.images[0].imageManifest;

describe('countsOf', () => {
  it('keeps the severities and drops TOTAL and UNTRIAGED, which Amazon Inspector adds', () => {
    // Given the counts of an Inspector2 Scan event (Amazon Inspector user guide's example, with untriaged findings)
    const counts = { CRITICAL: 7, HIGH: 61, MEDIUM: 62, UNTRIAGED: 3, TOTAL: 158 };

    // Then only what a limit can name is kept
    expect(countsOf(counts)).toEqual({ CRITICAL: 7, HIGH: 61, MEDIUM: 62 });
  });

  it('holds TOTAL to no limit: a scan within every severity passes however large its TOTAL', () => {
    expect(overLimits(countsOf({ HIGH: 5, MEDIUM: 90, TOTAL: 95 }), { CRITICAL: 0, HIGH: 5, MEDIUM: 90 })).toEqual([]);
  });
});

describe('scanResultSource', () => {
  it.each([
    ['COMPLETE', 'summary'],
    ['ACTIVE', 'findings'],
    ['PENDING', undefined],
    ['IN_PROGRESS', undefined],
    ['FAILED', undefined],
    ['UNSUPPORTED_IMAGE', undefined],
    ['SCAN_ELIGIBILITY_EXPIRED', undefined],
    ['FINDINGS_UNAVAILABLE', undefined],
    [undefined, undefined],
  ])('takes ECR status %s as a result in %s', (status, source) => {
    expect(scanResultSource(status)).toBe(source);
  });
});

describe('tallyFindings', () => {
  it('counts the open enhanced findings by severity, leaving out closed, suppressed and untriaged ones', () => {
    const findings = [
      { severity: 'HIGH', status: 'ACTIVE' },
      { severity: 'HIGH', status: 'ACTIVE' },
      { severity: 'HIGH', status: 'SUPPRESSED' },
      { severity: 'CRITICAL', status: 'CLOSED' },
      { severity: 'UNTRIAGED', status: 'ACTIVE' },
      { severity: 'MEDIUM' },
      { status: 'ACTIVE' },
    ];

    expect(tallyFindings(findings)).toEqual({ HIGH: 2, MEDIUM: 1 });
  });
});

describe('worstCounts', () => {
  it('takes the highest count of each severity, so a limit holds for all the scans exactly when it holds for it', () => {
    // Given the scans of an amd64 and an arm64 image
    const scans = [
      { HIGH: 2, MEDIUM: 9 },
      { CRITICAL: 1, HIGH: 6 },
    ];

    // Then the worst of each is judged
    expect(worstCounts(scans)).toEqual({ CRITICAL: 1, HIGH: 6, MEDIUM: 9 });
    expect(overLimits(worstCounts(scans), { CRITICAL: 0, HIGH: 5 })).toEqual(['CRITICAL 1 > 0', 'HIGH 6 > 5']);
    expect(worstCounts([{}, {}])).toEqual({});
  });
});

describe('image indexes', () => {
  it.each([
    ['application/vnd.oci.image.index.v1+json', true],
    ['application/vnd.docker.distribution.manifest.list.v2+json', true],
    ['application/vnd.oci.image.manifest.v1+json', false],
    ['application/vnd.docker.distribution.manifest.v2+json', false],
    [undefined, false],
  ])('takes %s as an image index: %s', (mediaType, index) => {
    expect(isImageIndex(mediaType)).toBe(index);
  });

  it('lists the images of an index, not its attestation manifests', () => {
    // Given the manifest BatchGetImage answers for a BuildKit multi-platform push (amd64, arm64, two attestations)
    const manifest = JSON.parse(INDEX_MANIFEST);

    // Then the two images are what is judged
    expect(indexImages(INDEX_MANIFEST)).toEqual([manifest.manifests[0].digest, manifest.manifests[1].digest]);
  });

  it('reads a Docker manifest list too, and says undefined for what is no index', () => {
    const digest = `sha256:${'a1'.repeat(32)}`;
    const list = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [
        {
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          digest,
          size: 1570,
          platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
        },
      ],
    };
    expect(indexImages(JSON.stringify(list))).toEqual([digest]);
    expect(indexImages('{"schemaVersion":2,"config":{}}')).toBeUndefined();
    expect(indexImages('not json')).toBeUndefined();
  });
});

describe('scan events', () => {
  it('reads the Inspector2 Scan sample: the repository from its ARN, the counts without TOTAL', () => {
    const event = imageScanEvent.parse(sample('inspector2.scan.json'));

    expect(scanOf(event)).toEqual({
      repository: REPOSITORY,
      digest: event.detail['image-digest'],
      counts: { CRITICAL: 7, HIGH: 61, MEDIUM: 62 },
    });
  });

  it('reads the Amazon Inspector user guide’s ECR example, version field and zero counts included', () => {
    // Given the guide's "Amazon ECR image initial scan" example, in our account and repository
    const event = {
      version: '0',
      id: 'fdaa751a-984c-a709-44f9-9a9da9cd3606',
      'detail-type': 'Inspector2 Scan',
      source: 'aws.inspector2',
      account: '123456789012',
      time: '2026-11-22T03:05:18Z',
      region: 'us-east-1',
      resources: ['arn:aws:ecr:us-east-1:123456789012:repository/shop-backend'],
      detail: {
        'scan-status': 'INITIAL_SCAN_COMPLETE',
        'repository-name': 'arn:aws:ecr:us-east-1:123456789012:repository/shop-backend',
        'finding-severity-counts': { CRITICAL: 0, HIGH: 0, MEDIUM: 0, TOTAL: 0 },
        'image-digest': `sha256:${'96'.repeat(32)}`,
        'image-tags': ['ubuntu22'],
        version: '1.0',
      },
    };

    // Then it is a clean result for that repository
    expect(scanOf(imageScanEvent.parse(event))).toEqual({
      repository: REPOSITORY,
      digest: `sha256:${'96'.repeat(32)}`,
      counts: { CRITICAL: 0, HIGH: 0, MEDIUM: 0 },
    });
  });

  it('takes an ECR repository ARN of another region and partition to its repository URI', () => {
    const event = sample('inspector2.scan.json');
    event.detail['repository-name'] = 'arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/shop';

    expect(scanOf(imageScanEvent.parse(event))).toMatchObject({
      repository: '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/shop',
    });
  });

  it('reads ECR’s own scan event by repository name, and ignores a scan that did not complete', () => {
    const findings = imageScanEvent.parse(sample('ecr.image-scan.findings.json'));
    expect(scanOf(findings)).toMatchObject({ repository: REPOSITORY, counts: { CRITICAL: 1, HIGH: 7, MEDIUM: 9 } });

    const failed = sample('ecr.image-scan.findings.json');
    failed.detail['scan-status'] = 'FAILED';
    expect(scanOf(imageScanEvent.parse(failed))).toEqual({ repository: REPOSITORY, ignored: 'scan status FAILED' });
  });

  it.each([
    ['a repository name where Inspector sends an ARN', { 'repository-name': 'shop-backend' }, 'detail.repository-name'],
    ['a count that is no severity', { 'finding-severity-counts': { SEVERE: 1 } }, 'detail.finding-severity-counts'],
  ])('refuses an Inspector2 Scan with %s, naming the field', (_, change, path) => {
    const event = sample('inspector2.scan.json');
    Object.assign(event.detail, change);

    const issues = imageScanEvent.safeParse(event).error?.issues ?? [];
    expect(issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});
