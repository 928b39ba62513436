import { DescribeImagesCommand, type ECRClient } from '@aws-sdk/client-ecr';
import type { ImageInfo } from './ecr-images.js';

/**
 * Every tagged image of a repository (DescribeImages, `filter.tagStatus: TAGGED`, followed through
 * `nextToken`; without `maxResults` ECR returns at most 100 a page: ECR API reference,
 * DescribeImages). Errors (RepositoryNotFoundException, AccessDeniedException) reach the caller.
 */
export async function listTaggedImages(client: ECRClient, repository: string): Promise<ImageInfo[]> {
  const images: ImageInfo[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new DescribeImagesCommand({
        repositoryName: repository,
        filter: { tagStatus: 'TAGGED' },
        maxResults: 1000,
        nextToken,
      }),
    );
    for (const d of page.imageDetails ?? []) {
      if (!d.imageDigest || !d.registryId) continue;
      images.push({
        digest: d.imageDigest,
        tags: d.imageTags ?? [],
        pushedAt: d.imagePushedAt?.toISOString(),
        registryId: d.registryId,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return images;
}
