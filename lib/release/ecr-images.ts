import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
  paginateDescribeImageScanFindings,
} from '@aws-sdk/client-ecr';
import type { Operation } from '../aws/account-credentials';
import type { EcrFor } from '../deploy/deployments-context';
import { type EcrRepository, ecrRepository } from '../deploy/ecs';
import { UpstreamFailed } from '../errors';
import type { ScanCounts } from './records';
import { accountsById, repositoryReadSession } from './repository-place';
import {
  countsOf,
  type EnhancedFinding,
  IMAGE_INDEX_MEDIA_TYPES,
  indexImages,
  isImageIndex,
  scanResultSource,
  tallyFindings,
  worstCounts,
} from './scans';

/** A pushed image's scan as ECR knows it now. */
export interface ImageScan {
  /** Set once there is a result: for an image index, once every image it lists has one. */
  counts?: ScanCounts;
  /** An image index: its images are scanned under their own digests, so no scan event names it. */
  index: boolean;
}

// DescribeImages takes at most 100 image ids (ECR API Reference, DescribeImages).
const DESCRIBE_IMAGES_LIMIT = 100;

const failure = (call: string, error: unknown) =>
  new UpstreamFailed(`ECR ${call} failed (${(error as Error).name})`, { cause: error });

/** An ECR repository, with the ECR client that reads it for the operation at hand. */
interface Read extends EcrRepository {
  client: ECRClient;
}

/**
 * The reads of ECR a release makes: an image's details, and its scan result however ECR scans. A repository in
 * an account config names is read as the operation's session on that account's role, in its region.
 */
export class EcrImages {
  private readonly accounts: ReadonlyMap<string, string>;

  constructor(
    private readonly ecrFor: EcrFor,
    accounts: Record<string, { roleArn: string }> = {},
  ) {
    this.accounts = accountsById(accounts);
  }

  /** The image a digest names in an ECR repository; undefined outside ECR or when ECR has no such image. */
  async describe(repository: string, digest: string, operation: Operation): Promise<ImageDetail | undefined> {
    const ecr = this.read(repository, operation);
    return ecr ? (await this.describeAll(ecr, [digest]))?.[0] : undefined;
  }

  /**
   * The scan result of an image. An image index is not scanned itself (ECR scans the images it
   * lists, each pushed before it): it is judged by all of them, with the highest count of each
   * severity among them, so it passes a limit only when every image it can run passes it.
   */
  async scanOf(repository: string, image: ImageDetail, operation: Operation): Promise<ImageScan> {
    const ecr = this.read(repository, operation);
    if (!ecr || !image.imageDigest) return { index: false };
    if (!isImageIndex(image.imageManifestMediaType)) {
      const counts = await this.resultOf(ecr, image);
      return counts ? { index: false, counts } : { index: false };
    }
    const digests = await this.indexImages(ecr, image.imageDigest);
    const images = digests.length > 0 ? await this.describeAll(ecr, digests) : undefined;
    if (!images || images.length < digests.length) return { index: true };
    const results = await Promise.all(images.map((listed) => this.resultOf(ecr, listed)));
    const scanned = results.filter((counts): counts is ScanCounts => counts !== undefined);
    return scanned.length === digests.length ? { index: true, counts: worstCounts(scanned) } : { index: true };
  }

  private read(repository: string, operation: Operation): Read | undefined {
    const ecr = ecrRepository(repository);
    if (!ecr) return undefined;
    return { ...ecr, client: this.ecrFor(ecr.region, repositoryReadSession(this.accounts, ecr, operation)) };
  }

  private async describeAll(ecr: Read, digests: string[]): Promise<ImageDetail[] | undefined> {
    const details: ImageDetail[] = [];
    try {
      for (let start = 0; start < digests.length; start += DESCRIBE_IMAGES_LIMIT) {
        const { imageDetails } = await ecr.client.send(
          new DescribeImagesCommand({
            registryId: ecr.registryId,
            repositoryName: ecr.repositoryName,
            imageIds: digests.slice(start, start + DESCRIBE_IMAGES_LIMIT).map((imageDigest) => ({ imageDigest })),
          }),
        );
        details.push(...(imageDetails ?? []));
      }
    } catch (error) {
      if ((error as Error).name === 'ImageNotFoundException') return undefined;
      throw failure('DescribeImages', error);
    }
    return details;
  }

  /** The images an index lists, read from its manifest (ECR API Reference, BatchGetImage). */
  private async indexImages(ecr: Read, digest: string): Promise<string[]> {
    let read: BatchGetImageCommandOutput;
    try {
      read = await ecr.client.send(
        new BatchGetImageCommand({
          registryId: ecr.registryId,
          repositoryName: ecr.repositoryName,
          imageIds: [{ imageDigest: digest }],
          // Without them ECR answers with a manifest of the default media type instead of the index.
          acceptedMediaTypes: [...IMAGE_INDEX_MEDIA_TYPES],
        }),
      );
    } catch (error) {
      throw failure('BatchGetImage', error);
    }
    const manifest = read.images?.[0]?.imageManifest;
    if (manifest === undefined) return [];
    const listed = indexImages(manifest);
    if (!listed)
      throw new UpstreamFailed(`ECR answered BatchGetImage for ${digest} with a manifest that is no image index`);
    return listed;
  }

  /** An image's own result: basic scanning's summary, or enhanced scanning's findings. */
  private async resultOf(ecr: Read, image: ImageDetail): Promise<ScanCounts | undefined> {
    const source = scanResultSource(image.imageScanStatus?.status);
    if (source === 'summary') return countsOf(image.imageScanFindingsSummary?.findingSeverityCounts ?? {});
    if (source === 'findings' && image.imageDigest) return this.enhancedCounts(ecr, image.imageDigest);
    return undefined;
  }

  /**
   * Enhanced scanning's counts, from its findings (ECR API Reference, ImageScanFindings: enhancedFindings);
   * a response without that list is counted from its summary.
   */
  private async enhancedCounts(ecr: Read, digest: string): Promise<ScanCounts> {
    const findings: EnhancedFinding[] = [];
    let listed = false;
    let summary: ScanCounts = {};
    try {
      const pages = paginateDescribeImageScanFindings(
        { client: ecr.client, pageSize: 1000 },
        { registryId: ecr.registryId, repositoryName: ecr.repositoryName, imageId: { imageDigest: digest } },
      );
      for await (const page of pages) {
        const scan = page.imageScanFindings;
        if (scan?.enhancedFindings) {
          listed = true;
          findings.push(...scan.enhancedFindings);
        } else if (scan?.findingSeverityCounts) {
          summary = countsOf(scan.findingSeverityCounts);
        }
      }
    } catch (error) {
      throw failure('DescribeImageScanFindings', error);
    }
    return listed ? tallyFindings(findings) : summary;
  }
}
