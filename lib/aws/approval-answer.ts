import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { ApprovalAnswer } from '../store/approval.js';

/**
 * SendTask* answers meaning the wait is over already: its token expired, was answered, or belongs
 * to an attempt or execution that ended (Step Functions API reference, SendTaskSuccess "Errors").
 */
export const TOKEN_CLOSED = new Set(['TaskDoesNotExist', 'TaskTimedOut', 'InvalidToken']);

/** Sends a recorded approval answer to the wait holding `taskToken`. */
export async function sendAnswer(
  client: SFNClient,
  taskToken: string,
  answer: ApprovalAnswer,
): Promise<void> {
  if (answer.kind === 'approved') {
    await client.send(new SendTaskSuccessCommand({ taskToken, output: answer.output }));
  } else {
    await client.send(new SendTaskFailureCommand({ taskToken, error: answer.error, cause: answer.cause }));
  }
}

/** True when `err` says the token's wait is over (see TOKEN_CLOSED); never look at its message. */
export function tokenClosed(err: unknown): boolean {
  return TOKEN_CLOSED.has(err instanceof Error ? err.name : '');
}
