import type { Clock } from '../clock.js';
import { int, type JsonObject, pageOf, ServiceError, str, strList } from '../protocol.js';

/**
 * SSM's managed-node inventory (JSON 1.1, `AmazonSSM.DescribeInstanceInformation`; shapes from
 * botocore's ssm service-2.json): every instance of every EB environment is a managed node whose
 * agent is Online, unless its instance profile's role may not register it (see canRegister), or a
 * test marks it unmanaged (no agent registered: SSM does not list it at all) or offline
 * (PingStatus ConnectionLost).
 */

export interface ManagedNodeSource {
  /**
   * Each running instance with its EC2 tags (EB tags them `elasticbeanstalk:environment-name`) and
   * its instance profile.
   */
  instances(): { id: string; tags: Record<string, string>; instanceProfile?: string }[];
  /**
   * Whether an agent on an instance with this profile can register: its role must allow
   * ssm:UpdateInstanceInformation (AmazonSSMManagedInstanceCore; Systems Manager user guide,
   * "Configure instance permissions required for Systems Manager"). Undefined: not known, so yes.
   */
  canRegister?(instanceProfile: string | undefined): boolean | undefined;
}

// DescribeInstanceInformation's MaxResults is 5..50 (MaxResultsEC2Compatible); 10 when absent.
const MIN_PAGE = 5;
const MAX_PAGE = 50;
const DEFAULT_PAGE = 10;
// The string filter keys the API accepts (InstanceInformationStringFilterKey's documentation).
const FILTER_KEYS = new Set([
  'ActivationIds',
  'AgentVersion',
  'AssociationStatus',
  'IamRole',
  'InstanceIds',
  'PingStatus',
  'PlatformType',
  'ResourceType',
  'SourceIds',
  'SourceTypes',
  'tag-key',
]);

export class SsmInventory {
  /** Instances whose agent never registered: not listed. */
  readonly unmanaged = new Set<string>();
  /** Instances whose agent stopped answering: listed as ConnectionLost. */
  readonly offline = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly source: ManagedNodeSource,
  ) {}

  handles(operation: string): boolean {
    return operation === 'DescribeInstanceInformation';
  }

  handle(_operation: string, input: JsonObject): unknown {
    return this.describeInstanceInformation(input);
  }

  private describeInstanceInformation(input: JsonObject): unknown {
    const filters = Array.isArray(input.Filters) ? (input.Filters as JsonObject[]) : [];
    for (const f of filters) {
      const key = str(f, 'Key') ?? '';
      if (!FILTER_KEYS.has(key) && !key.startsWith('tag:')) {
        throw new ServiceError('InvalidFilterKey', `The filter key ${key} is not valid.`);
      }
    }
    const max = int(input, 'MaxResults') ?? DEFAULT_PAGE;
    if (max < MIN_PAGE || max > MAX_PAGE) {
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value between ${MIN_PAGE} and ${MAX_PAGE}`,
      );
    }
    const now = new Date(this.clock.now());
    const nodes = this.source
      .instances()
      .filter((i) => !this.unmanaged.has(i.id) && this.source.canRegister?.(i.instanceProfile) !== false)
      .map((i) => ({ ...i, ping: this.offline.has(i.id) ? 'ConnectionLost' : 'Online' }))
      .filter((i) =>
        filters.every((f) => {
          const key = str(f, 'Key') ?? '';
          const values = strList(f, 'Values');
          if (key.startsWith('tag:')) {
            const tag = i.tags[key.slice('tag:'.length)];
            return tag !== undefined && values.includes(tag);
          }
          if (key === 'tag-key') return values.some((v) => v in i.tags);
          if (key === 'InstanceIds') return values.includes(i.id);
          if (key === 'PingStatus') return values.includes(i.ping);
          if (key === 'ResourceType') return values.includes('EC2Instance');
          if (key === 'PlatformType') return values.includes('Linux');
          return true;
        }),
      );
    const { page, next } = pageOf(nodes, str(input, 'NextToken'), max);
    return {
      InstanceInformationList: page.map((i) => ({
        InstanceId: i.id,
        PingStatus: i.ping,
        LastPingDateTime: i.ping === 'Online' ? now : new Date(now.getTime() - 3_600_000),
        AgentVersion: '3.3.1142.0',
        IsLatestVersion: true,
        PlatformType: 'Linux',
        PlatformName: 'Amazon Linux',
        PlatformVersion: '2023',
        ResourceType: 'EC2Instance',
        SourceId: i.id,
        SourceType: 'AWS::EC2::Instance',
      })),
      NextToken: next,
    };
  }
}
