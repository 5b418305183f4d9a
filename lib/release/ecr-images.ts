import {
  BatchGetImageCommand,
  type BatchGetImageCommandOutput,
  DescribeImagesCommand,
  type ECRClient,
  type ImageDetail,
  paginateDescribeImageScanFindings,
} from '@aws-sdk/client-ecr';
import { type EcrRepository, ecrRepository } from '../deploy/ecs';
import { UpstreamFailed } from '../errors';
import type { ScanCounts } from './records';
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

/** The reads of ECR a release makes: an image's details, and its scan result however ECR scans. */
export class EcrImages {
  constructor(private readonly ecrFor: (region: string) => ECRClient) {}

  /** The image a digest names in an ECR repository; undefined outside ECR or when ECR has no such image. */
  async describe(repository: string, digest: string): Promise<ImageDetail | undefined> {
    const ecr = ecrRepository(repository);
    return ecr ? (await this.describeAll(ecr, [digest]))?.[0] : undefined;
  }

  /**
   * The scan result of an image. An image index is not scanned itself (ECR scans the images it
   * lists, each pushed before it): it is judged by all of them, with the highest count of each
   * severity among them, so it passes a limit only when every image it can run passes it.
   */
  async scanOf(repository: string, image: ImageDetail): Promise<ImageScan> {
    const ecr = ecrRepository(repository);
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

  private async describeAll(ecr: EcrRepository, digests: string[]): Promise<ImageDetail[] | undefined> {
    const details: ImageDetail[] = [];
    try {
      for (let start = 0; start < digests.length; start += DESCRIBE_IMAGES_LIMIT) {
        const { imageDetails } = await this.ecrFor(ecr.region).send(
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
  private async indexImages(ecr: EcrRepository, digest: string): Promise<string[]> {
    let read: BatchGetImageCommandOutput;
    try {
      read = await this.ecrFor(ecr.region).send(
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
  private async resultOf(ecr: EcrRepository, image: ImageDetail): Promise<ScanCounts | undefined> {
    const source = scanResultSource(image.imageScanStatus?.status);
    if (source === 'summary') return countsOf(image.imageScanFindingsSummary?.findingSeverityCounts ?? {});
    if (source === 'findings' && image.imageDigest) return this.enhancedCounts(ecr, image.imageDigest);
    return undefined;
  }

  /**
   * Enhanced scanning's counts, from its findings (ECR API Reference, ImageScanFindings: enhancedFindings);
   * a response without that list is counted from its summary.
   */
  private async enhancedCounts(ecr: EcrRepository, digest: string): Promise<ScanCounts> {
    const findings: EnhancedFinding[] = [];
    let listed = false;
    let summary: ScanCounts = {};
    try {
      const pages = paginateDescribeImageScanFindings(
        { client: this.ecrFor(ecr.region), pageSize: 1000 },
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
