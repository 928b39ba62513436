import { type JsonObject, ServiceError, str } from '../protocol.js';

/**
 * EB platform versions as DescribePlatformVersion describes them (EB API reference,
 * PlatformDescription). The catalogue is the stand-in's: the release dates are illustrative, not
 * AWS's release history. What matters to ebship is the shape and that DateCreated tells whether a
 * version supports the `environmentsecrets` namespace (platform versions released on or after
 * 2025-03-26, EB developer guide, "Using Secrets Manager and Parameter Store with environment
 * variables").
 */

interface PlatformVersion {
  branch: string;
  version: string;
  created: string;
  lifecycle?: 'Retired';
}

const ECS_AL2023 = 'ECS running on 64bit Amazon Linux 2023';
const DOCKER_AL2023 = 'Docker running on 64bit Amazon Linux 2023';
const ECS_AL2 = 'ECS running on 64bit Amazon Linux 2';

const CATALOGUE: PlatformVersion[] = [
  { branch: ECS_AL2023, version: '4.5.0', created: '2025-04-10T00:00:00Z' },
  { branch: ECS_AL2023, version: '4.4.0', created: '2024-11-20T00:00:00Z' },
  { branch: DOCKER_AL2023, version: '4.5.0', created: '2025-04-10T00:00:00Z' },
  { branch: DOCKER_AL2023, version: '4.4.0', created: '2024-11-20T00:00:00Z' },
  { branch: ECS_AL2, version: '3.9.0', created: '2024-06-01T00:00:00Z' },
];

export function platformArn(region: string, branch: string, version: string): string {
  return `arn:aws:elasticbeanstalk:${region}::platform/${branch}/${version}`;
}

export function describePlatformVersion(input: JsonObject, region: string): unknown {
  const arn = str(input, 'PlatformArn');
  const found = CATALOGUE.find((p) => platformArn(region, p.branch, p.version) === arn);
  if (!arn || !found) {
    throw new ServiceError('InvalidParameterValue', `No Platform found for ARN: ${arn ?? ''}.`);
  }
  const ecs = found.branch.startsWith('ECS');
  const os = found.branch.endsWith('2023') ? '2023' : '2';
  const created = new Date(found.created);
  return {
    PlatformDescription: {
      PlatformArn: arn,
      PlatformOwner: 'AWSElasticBeanstalk',
      PlatformName: found.branch,
      PlatformVersion: found.version,
      SolutionStackName: `64bit Amazon Linux ${os} v${found.version} running ${ecs ? 'ECS' : 'Docker'}`,
      PlatformStatus: 'Ready',
      DateCreated: created,
      DateUpdated: created,
      PlatformCategory: ecs ? 'ECS' : 'Docker',
      Description: found.branch,
      Maintainer: 'aws-elasticbeanstalk',
      OperatingSystemName: 'Amazon Linux',
      OperatingSystemVersion: os,
      ProgrammingLanguages: [],
      Frameworks: [],
      CustomAmiList: [],
      SupportedTierList: ['WebServer/Standard', 'Worker/SQS/HTTP'],
      SupportedAddonList: ['Log/S3', 'Monitoring/Healthd', 'WorkerDaemon/SQSD'],
      PlatformLifecycleState: found.lifecycle,
      PlatformBranchName: found.branch,
      PlatformBranchLifecycleState: 'Supported',
    },
  };
}
