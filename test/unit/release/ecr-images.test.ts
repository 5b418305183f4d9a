import { readFileSync } from 'node:fs';
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { EcrImages } from '../../../lib/release/ecr-images';

const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/shop-backend';
// BatchGetImage's answer for a BuildKit multi-platform push (ECR API Reference, BatchGetImage: Response Syntax).
const BATCH_GET_IMAGE = JSON.parse(readFileSync('test/fixtures/ecr/batch-get-image.image-index.json', 'utf8'));
const INDEX_DIGEST: string = BATCH_GET_IMAGE.images[0].imageId.imageDigest;
const [AMD64, ARM64] = (JSON.parse(BATCH_GET_IMAGE.images[0].imageManifest).manifests as Array<{ digest: string }>).map(
  (entry) => entry.digest,
) as [string, string];

const ecr = mockClient(ECRClient);
const images = new EcrImages(() => new ECRClient({ region: 'us-east-1' }));
const RELEASE = { id: 'release-3f2a1c9e', principal: 'ecr-push' };

const detail = (imageDigest: string, fields: Partial<ImageDetail> = {}): ImageDetail => ({
  registryId: '123456789012',
  repositoryName: 'shop-backend',
  imageDigest,
  imagePushedAt: new Date('2026-11-22T03:00:00Z'),
  imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
  ...fields,
});
const index = detail(INDEX_DIGEST, {
  imageTags: ['1.5.0'],
  imageManifestMediaType: 'application/vnd.oci.image.index.v1+json',
  artifactMediaType: 'application/vnd.oci.image.index.v1+json',
});
const complete = (counts: Record<string, number>): Partial<ImageDetail> => ({
  imageScanStatus: { status: 'COMPLETE', description: 'The scan was completed successfully.' },
  imageScanFindingsSummary: { findingSeverityCounts: counts },
});

beforeEach(() => {
  ecr.reset();
  ecr.on(BatchGetImageCommand).resolves(BATCH_GET_IMAGE);
});

describe('EcrImages#scanOf', () => {
  it('judges an image index by the images it lists, with the worst count of each severity', async () => {
    // Given an index whose amd64 image has HIGH 2 and MEDIUM 9, and whose arm64 image has HIGH 6
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [detail(AMD64, complete({ HIGH: 2, MEDIUM: 9 })), detail(ARM64, complete({ HIGH: 6 }))],
    });

    // When its scan is asked for
    const scan = await images.scanOf(REPOSITORY, index, RELEASE);

    // Then the index was read with the index media types, its two images described, the attestations left out
    expect(scan).toEqual({ index: true, counts: { HIGH: 6, MEDIUM: 9 } });
    expect(ecr).toHaveReceivedCommandWith(BatchGetImageCommand, {
      registryId: '123456789012',
      repositoryName: 'shop-backend',
      imageIds: [{ imageDigest: INDEX_DIGEST }],
      acceptedMediaTypes: [
        'application/vnd.oci.image.index.v1+json',
        'application/vnd.docker.distribution.manifest.list.v2+json',
      ],
    });
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      registryId: '123456789012',
      repositoryName: 'shop-backend',
      imageIds: [{ imageDigest: AMD64 }, { imageDigest: ARM64 }],
    });
  });

  it('has no result for an index while one of its images has none', async () => {
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        detail(AMD64, complete({ HIGH: 2 })),
        detail(ARM64, { imageScanStatus: { status: 'PENDING', description: 'Scan is pending.' } }),
      ],
    });

    expect(await images.scanOf(REPOSITORY, index, RELEASE)).toEqual({ index: true });
  });

  it('reads enhanced scanning’s findings for an ACTIVE image, every page of them', async () => {
    // Given an image Amazon Inspector scans continuously, its findings over two pages
    const image = detail(AMD64, { imageScanStatus: { status: 'ACTIVE' } });
    const finding = (severity: string, n: number, status = 'ACTIVE') =>
      Array.from({ length: n }, (_, i) => ({
        findingArn: `arn:aws:inspector2:us-east-1:123456789012:finding/${severity}${status}${i}`,
        severity,
        status,
        type: 'PACKAGE_VULNERABILITY',
      }));
    ecr
      .on(DescribeImageScanFindingsCommand)
      .resolvesOnce({
        imageScanStatus: { status: 'ACTIVE' },
        imageScanFindings: { enhancedFindings: [...finding('HIGH', 4), ...finding('UNTRIAGED', 2)] },
        nextToken: 'page-2',
      })
      .resolvesOnce({
        imageScanStatus: { status: 'ACTIVE' },
        imageScanFindings: { enhancedFindings: [...finding('HIGH', 2), ...finding('CRITICAL', 1, 'CLOSED')] },
      });

    // Then the open findings of both pages are counted
    expect(await images.scanOf(REPOSITORY, image, RELEASE)).toEqual({ index: false, counts: { HIGH: 6 } });
    expect(ecr).toHaveReceivedCommandTimes(DescribeImageScanFindingsCommand, 2);
    expect(ecr).toHaveReceivedNthSpecificCommandWith(2, DescribeImageScanFindingsCommand, {
      registryId: '123456789012',
      repositoryName: 'shop-backend',
      imageId: { imageDigest: AMD64 },
      maxResults: 1000,
      nextToken: 'page-2',
    });
  });

  it('has no result, and reads nothing more, for a single image still scanning', async () => {
    const image = detail(AMD64, { imageScanStatus: { status: 'PENDING' } });

    expect(await images.scanOf(REPOSITORY, image, RELEASE)).toEqual({ index: false });
    expect(ecr.calls()).toHaveLength(0);
  });
});

describe('EcrImages, for a repository in an account config names', () => {
  const MEMBER_REPOSITORY = '222222222222.dkr.ecr.eu-west-1.amazonaws.com/shop-backend';
  const accounts = { staging: { roleArn: 'arn:aws:iam::222222222222:role/slipway-member' } };

  it('reads it as the release’s session on that account’s role, in the repository’s region; its own account’s with its own', async () => {
    // Given the clients asked for, by region and session
    const asked: Array<[string, unknown]> = [];
    const reading = new EcrImages((region, session) => {
      asked.push([region, session]);
      return new ECRClient({ region });
    }, accounts);
    ecr
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [detail(AMD64, { imageScanStatus: { status: 'ACTIVE' } })] });
    ecr.on(DescribeImageScanFindingsCommand).resolves({ imageScanFindings: { enhancedFindings: [] } });

    // When the release reads an image of the member's repository and its scan, then one of the control plane's
    const image = await reading.describe(MEMBER_REPOSITORY, AMD64, RELEASE);
    await reading.scanOf(MEMBER_REPOSITORY, image as ImageDetail, RELEASE);
    await reading.describe(REPOSITORY, AMD64, RELEASE);

    // Then the member's is read in eu-west-1 as the release's session on account staging, the other without one
    const session = { account: 'staging', operation: RELEASE };
    expect(asked).toEqual([
      ['eu-west-1', session],
      ['eu-west-1', session],
      ['us-east-1', undefined],
    ]);
    expect(ecr).toHaveReceivedCommandWith(DescribeImageScanFindingsCommand, {
      registryId: '222222222222',
      repositoryName: 'shop-backend',
    });
  });
});
