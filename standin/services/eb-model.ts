/** Elastic Beanstalk's model in the stand-in: what environments, versions, instances and events are. */

export type Color = 'Green' | 'Yellow' | 'Red' | 'Grey';
export type Severity = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';
export const SEVERITIES: Severity[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'];

/** One point of the health timeline after an update ends, in simulated seconds after the end. */
export interface HealthStep {
  afterSeconds: number;
  color: Color;
  healthStatus?: string;
  causes?: string[];
}

/** What the environment does with one UpdateEnvironment (scenario data; the last one repeats). */
export interface UpdateBehaviour {
  /** Simulated seconds the environment stays Updating. */
  durationSeconds: number;
  /**
   * deployed: every instance runs the new version. reverted: the deploy failed and EB put the
   * previous version back. stuck: never leaves Updating (until AbortEnvironmentUpdate).
   * partial: Ready, but some instances kept the old version (a rolling deploy that failed midway).
   * crash-loop: the new version lands on the instances and fails its health checks over and over
   * (Severe) while EB stays Updating until its command timeout (`durationSeconds`, 600 by default
   * in EB), then fails and reverts.
   */
  result: 'deployed' | 'reverted' | 'stuck' | 'partial' | 'crash-loop';
  /** Health after the update ends; default: Green / Ok at once. */
  health: HealthStep[];
}

export interface EbEnvironmentSpec {
  application: string;
  environment: string;
  versionLabel: string;
  instances: number;
  platformArn: string;
  solutionStackName: string;
  optionSettings: { Namespace: string; OptionName: string; Value: string }[];
  onUpdate: UpdateBehaviour[];
}

export interface EbOptions {
  /** Application versions allowed per region (DescribeAccountAttributes), default 1000. */
  versionQuota: number;
  /** Describe* token bucket, in calls per simulated second. */
  throttleRate: number;
  throttleBurst: number;
  /** Page size of DescribeInstancesHealth. */
  instancesPageSize: number;
  /** Simulated seconds CreateApplicationVersion Process=true takes. */
  processSeconds: number;
}

export const DEFAULT_EB_OPTIONS: EbOptions = {
  versionQuota: 1000,
  throttleRate: 2,
  throttleBurst: 15,
  instancesPageSize: 10,
  processSeconds: 10,
};

export interface AppVersion {
  application: string;
  label: string;
  description?: string;
  bucket?: string;
  key?: string;
  status: 'Processing' | 'Processed' | 'Unprocessed' | 'Failed';
  createdAt: Date;
  updatedAt: Date;
}

export interface Instance {
  id: string;
  launchedAt: Date;
  versionLabel: string;
  deploymentId: number;
  deploymentStatus: 'In Progress' | 'Deployed' | 'Failed';
  deploymentTime: Date;
}

export interface EbEvent {
  seq: number;
  date: Date;
  message: string;
  severity: Severity;
  application: string;
  environment?: string;
  versionLabel?: string;
  requestId: string;
}

export interface Environment {
  spec: EbEnvironmentSpec;
  id: string;
  status: 'Launching' | 'Updating' | 'Ready' | 'Aborting' | 'Terminating' | 'Terminated';
  versionLabel: string;
  color: Color;
  healthStatus: string;
  causes: string[];
  instances: Instance[];
  createdAt: Date;
  updatedAt: Date;
  updates: number;
  deployments: number;
  /** The version running before the update in progress (what an abort or a revert restores). */
  previousVersion?: string;
  requestId?: string;
  /** The role EB uses for downstream calls (AssociateEnvironmentOperationsRole), if any. */
  operationsRole?: string;
}

export const DEFAULT_HEALTH_STATUS: Record<Color, string> = {
  Green: 'Ok',
  Yellow: 'Warning',
  Red: 'Severe',
  Grey: 'Unknown',
};
