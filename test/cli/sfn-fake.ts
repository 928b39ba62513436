import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  type SFNClientResolvedConfig,
} from '@aws-sdk/client-sfn';
import type { AwsStub } from 'aws-sdk-client-mock';
import { STATE_MACHINE_ARN } from './harness.js';

type SfnStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig>;

/** The stage's state machine exists, with no running executions unless the test adds some. */
export function stateMachineDeployed(sfn: SfnStub): void {
  sfn.on(ListStateMachinesCommand).resolves({
    stateMachines: [
      {
        stateMachineArn: STATE_MACHINE_ARN,
        name: 'ebship-dev-deploy',
        type: 'STANDARD',
        creationDate: new Date(),
      },
    ],
  });
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
}

/**
 * Serves one execution's history like Step Functions: oldest first, `pageSize` events per page with
 * a nextToken, and `perCall` more events visible on each GetExecutionHistory call, so a follower
 * sees the execution progress across polls. DescribeExecution says RUNNING until all are visible.
 */
export function serveExecution(
  sfn: SfnStub,
  e: {
    arn: string;
    name: string;
    events: HistoryEvent[];
    input?: unknown;
    pageSize?: number;
    perCall?: number;
    /** Ends with this status once every event is visible (default: from the last event). */
    finalStatus?: string;
  },
): { historyCalls: () => number } {
  const pageSize = e.pageSize ?? 1000;
  const perCall = e.perCall ?? e.events.length;
  let calls = 0;
  let visible = 0;
  const last = e.events[e.events.length - 1];
  const final =
    e.finalStatus ??
    (last?.type === 'ExecutionSucceeded'
      ? 'SUCCEEDED'
      : last?.type === 'ExecutionFailed'
        ? 'FAILED'
        : last?.type === 'ExecutionAborted'
          ? 'ABORTED'
          : 'RUNNING');
  sfn.on(GetExecutionHistoryCommand, { executionArn: e.arn }).callsFake((input: { nextToken?: string }) => {
    calls += 1;
    visible = Math.min(e.events.length, visible + perCall);
    const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64').toString()) : 0;
    const end = Math.min(visible, start + pageSize);
    return {
      events: e.events.slice(start, end),
      nextToken: end < visible ? Buffer.from(String(end)).toString('base64') : undefined,
    };
  });
  sfn.on(DescribeExecutionCommand, { executionArn: e.arn }).callsFake(() => {
    const done = visible >= e.events.length && final !== 'RUNNING';
    const failed = [...e.events].reverse().find((ev) => ev.type === 'ExecutionFailed');
    return {
      executionArn: e.arn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: e.name,
      status: done ? final : 'RUNNING',
      startDate: e.events[0]?.timestamp ?? new Date('2025-06-02T09:00:00Z'),
      stopDate: done ? last?.timestamp : undefined,
      input: JSON.stringify(e.input ?? {}),
      error: done ? failed?.executionFailedEventDetails?.error : undefined,
      cause: done ? failed?.executionFailedEventDetails?.cause : undefined,
    };
  });
  return { historyCalls: () => calls };
}
