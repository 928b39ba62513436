/**
 * Step Functions ARNs: an execution's ARN is its state machine's with `stateMachine` replaced by
 * `execution` and the execution's name appended (Step Functions API reference, DescribeExecution).
 */

/** arn:…:stateMachine:<machine> and a name → arn:…:execution:<machine>:<name> */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** arn:…:execution:<machine>:<name> → arn:…:stateMachine:<machine>; undefined for anything else. */
export function stateMachineArnOf(executionArn: string): string | undefined {
  const m = /^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):execution:([^:]+):/.exec(executionArn);
  return m ? `${m[1]}:stateMachine:${m[2]}` : undefined;
}
