import { int, type JsonObject, pageOf, str } from '../protocol.js';
import { type EbEvent, SEVERITIES, type Severity } from './eb-model.js';

/** EB's event stream: DescribeEvents' filters, and the events EB also sends to EventBridge. */

/**
 * The EventBridge event EB sends for an environment event, if any (EB developer guide, "Using Elastic
 * Beanstalk with Amazon EventBridge", event field mapping).
 */
export function busEventOf(message: string): { detailType: string; status: string } | undefined {
  const change = 'Elastic Beanstalk resource status change';
  if (message.startsWith('Environment health has transitioned'))
    return { detailType: 'Health status change', status: 'Environment health changed' };
  if (message === 'Environment update is starting.')
    return { detailType: change, status: 'Environment update started' };
  if (message === 'Environment update completed successfully.')
    return { detailType: change, status: 'Environment update successful' };
  if (message.startsWith('Update environment operation is complete, but with errors'))
    return { detailType: change, status: 'Environment update failed' };
  if (message === 'terminateEnvironment is starting.')
    return { detailType: change, status: 'Environment termination started' };
  if (message === 'terminateEnvironment completed successfully.')
    return { detailType: change, status: 'Environment termination successful' };
  return undefined;
}

/** DescribeEvents: the events matching its filters, newest first, one page. */
export function matchingEvents(events: EbEvent[], input: JsonObject): JsonObject {
  const application = str(input, 'ApplicationName');
  const environment = str(input, 'EnvironmentName');
  const label = str(input, 'VersionLabel');
  const request = str(input, 'RequestId');
  const severity = str(input, 'Severity') as Severity | undefined;
  const minSeverity = severity ? SEVERITIES.indexOf(severity) : 0;
  const start = input.StartTime ? Date.parse(String(input.StartTime)) : undefined;
  const end = input.EndTime ? Date.parse(String(input.EndTime)) : undefined;
  const matching = events
    .filter(
      (e) =>
        (!application || e.application === application) &&
        (!environment || e.environment === environment) &&
        (!label || e.versionLabel === label) &&
        (!request || e.requestId === request) &&
        SEVERITIES.indexOf(e.severity) >= minSeverity &&
        (start === undefined || e.date.getTime() >= start) &&
        (end === undefined || e.date.getTime() < end),
    )
    // EB lists the newest event first.
    .sort((a, b) => b.date.getTime() - a.date.getTime() || b.seq - a.seq);
  const { page, next } = pageOf(
    matching,
    str(input, 'NextToken'),
    Math.min(int(input, 'MaxRecords') ?? 1000, 1000),
  );
  return {
    Events: page.map((e) => ({
      EventDate: e.date,
      Message: e.message,
      ApplicationName: e.application,
      VersionLabel: e.versionLabel,
      EnvironmentName: e.environment,
      RequestId: e.requestId,
      Severity: e.severity,
    })),
    NextToken: next,
  };
}
