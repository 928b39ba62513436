import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type JsonObject, pageOf, ServiceError, str } from '../protocol.js';

/** ECR (JSON 1.1, `AmazonEC2ContainerRegistry_V20150921.*`): the images a push put in a repository. */

export interface EcrImage {
  digest: string;
  tags: string[];
  pushedAt: Date;
  sizeBytes: number;
}

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

export class Ecr {
  readonly repositories = new Map<string, EcrImage[]>();

  constructor(
    private readonly clock: Clock,
    readonly registryId = '123456789012',
    private readonly region = 'us-east-1',
  ) {}

  get registry(): string {
    return `${this.registryId}.dkr.ecr.${this.region}.amazonaws.com`;
  }

  createRepository(name: string): void {
    if (!this.repositories.has(name)) this.repositories.set(name, []);
  }

  /**
   * Records a push as ECR does: a tag moves to the new digest (mutable repositories), and pushing
   * an existing digest with a new tag adds the tag to that image.
   */
  push(
    repository: string,
    tag: string | undefined,
    digest?: string,
    pushedAt = new Date(this.clock.now()),
  ): EcrImage {
    this.createRepository(repository);
    const images = this.repositories.get(repository) ?? [];
    const d =
      digest ??
      `sha256:${createHash('sha256').update(`${repository}:${tag}:${pushedAt.toISOString()}`).digest('hex')}`;
    if (tag) for (const image of images) image.tags = image.tags.filter((t) => t !== tag);
    let image = images.find((i) => i.digest === d);
    if (!image) {
      image = { digest: d, tags: [], pushedAt, sizeBytes: 180_000_000 + images.length * 1000 };
      images.push(image);
    }
    if (tag && !image.tags.includes(tag)) image.tags.push(tag);
    return image;
  }

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'DescribeImages':
        return this.describeImages(input);
      case 'BatchGetImage':
        return this.batchGetImage(input);
      case 'DescribeRepositories':
        return {
          repositories: [...this.repositories.keys()].map((name) => ({
            repositoryName: name,
            registryId: this.registryId,
            repositoryArn: `arn:aws:ecr:${this.region}:${this.registryId}:repository/${name}`,
            repositoryUri: `${this.registry}/${name}`,
          })),
        };
      default:
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private images(input: JsonObject): { name: string; images: EcrImage[] } {
    const name = str(input, 'repositoryName') ?? '';
    const images = this.repositories.get(name);
    if (!images) {
      throw new ServiceError(
        'RepositoryNotFoundException',
        `The repository with name '${name}' does not exist in the registry with id '${this.registryId}'`,
      );
    }
    return { name, images };
  }

  private find(images: EcrImage[], id: JsonObject): EcrImage | undefined {
    const tag = str(id, 'imageTag');
    const digest = str(id, 'imageDigest');
    return images.find((i) => (!digest || i.digest === digest) && (!tag || i.tags.includes(tag)));
  }

  private describeImages(input: JsonObject): unknown {
    const { name, images } = this.images(input);
    const ids = Array.isArray(input.imageIds) ? (input.imageIds as JsonObject[]) : [];
    let found: EcrImage[];
    if (ids.length > 0) {
      found = ids.map((id) => {
        const image = this.find(images, id);
        if (!image) {
          throw new ServiceError(
            'ImageNotFoundException',
            `The image with imageId {imageDigest:'${str(id, 'imageDigest') ?? 'null'}', imageTag:'${str(id, 'imageTag') ?? 'null'}'} does not exist within the repository with name '${name}' in the registry with id '${this.registryId}'`,
          );
        }
        return image;
      });
    } else {
      const filter = (input.filter ?? {}) as JsonObject;
      found = images.filter((i) =>
        filter.tagStatus === 'TAGGED'
          ? i.tags.length > 0
          : filter.tagStatus === 'UNTAGGED'
            ? i.tags.length === 0
            : true,
      );
    }
    const max = typeof input.maxResults === 'number' ? input.maxResults : 1000;
    const { page, next } = pageOf(found, str(input, 'nextToken'), max);
    return {
      imageDetails: page.map((i) => ({
        registryId: this.registryId,
        repositoryName: name,
        imageDigest: i.digest,
        imageTags: i.tags.length > 0 ? [...i.tags] : undefined,
        imageSizeInBytes: i.sizeBytes,
        imagePushedAt: i.pushedAt,
        imageManifestMediaType: MANIFEST_TYPE,
        artifactMediaType: 'application/vnd.docker.container.image.v1+json',
      })),
      nextToken: next,
    };
  }

  private batchGetImage(input: JsonObject): unknown {
    const { name, images } = this.images(input);
    const ids = Array.isArray(input.imageIds) ? (input.imageIds as JsonObject[]) : [];
    const result: JsonObject[] = [];
    const failures: JsonObject[] = [];
    for (const id of ids) {
      const image = this.find(images, id);
      if (!image) {
        const tagOnly = str(id, 'imageTag') && !str(id, 'imageDigest');
        failures.push({
          imageId: id,
          failureCode:
            tagOnly || !this.find(images, { imageDigest: str(id, 'imageDigest') })
              ? 'ImageNotFound'
              : 'ImageTagDoesNotMatchDigest',
          failureReason: 'Requested image not found',
        });
        continue;
      }
      result.push({
        registryId: this.registryId,
        repositoryName: name,
        imageId: { imageDigest: image.digest, imageTag: str(id, 'imageTag') },
        imageManifest: JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE }),
        imageManifestMediaType: MANIFEST_TYPE,
      });
    }
    return { images: result, failures };
  }
}
