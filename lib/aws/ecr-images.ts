import { DescribeImagesCommand, type ECRClient, type ImageIdentifier } from '@aws-sdk/client-ecr';
import { ImageNotFound } from '../errors.js';

export interface ImageInfo {
  digest: string;
  tags: string[];
  pushedAt?: string;
  registryId: string;
}

/** Looks an image up by tag or digest; a missing image or repository becomes ImageNotFound with the fix. */
export async function describeImage(
  client: ECRClient,
  repository: string,
  id: { imageTag?: string; imageDigest?: string },
): Promise<ImageInfo> {
  const imageId: ImageIdentifier = id.imageDigest
    ? { imageDigest: id.imageDigest }
    : { imageTag: id.imageTag };
  const what = id.imageDigest ?? `tag "${id.imageTag}"`;
  try {
    const out = await client.send(
      new DescribeImagesCommand({ repositoryName: repository, imageIds: [imageId] }),
    );
    const detail = out.imageDetails?.[0];
    if (!detail?.imageDigest || !detail.registryId)
      throw new ImageNotFound(`${what} is not in ECR repository ${repository}`);
    return {
      digest: detail.imageDigest,
      tags: detail.imageTags ?? [],
      pushedAt: detail.imagePushedAt?.toISOString(),
      registryId: detail.registryId,
    };
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'ImageNotFoundException') {
      throw new ImageNotFound(
        `${what} is not in ECR repository ${repository}; push it first or check the tag (aws ecr list-images --repository-name ${repository})`,
      );
    }
    if (name === 'RepositoryNotFoundException') {
      throw new ImageNotFound(
        `ECR repository ${repository} does not exist in this account/region; fix source.repository in ebship.yml`,
      );
    }
    throw err;
  }
}

export function imageUri(registryId: string, region: string, repository: string, digest: string): string {
  return `${registryId}.dkr.ecr.${region}.amazonaws.com/${repository}@${digest}`;
}
