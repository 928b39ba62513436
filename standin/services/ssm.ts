import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { type JsonObject, ServiceError, str, strList } from '../protocol.js';

/**
 * SSM Run Command (JSON 1.1, `AmazonSSM.*`). Nothing runs: the scenario says what the command
 * prints and how it exits. Like AWS, GetCommandInvocation answers InvocationDoesNotExist for the
 * first call(s) after SendCommand.
 */

export interface CommandOutcome {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Simulated seconds the command runs. */
  durationSeconds: number;
  /** GetCommandInvocation calls per instance answered InvocationDoesNotExist before it appears. */
  notFoundCalls: number;
}

export const DEFAULT_COMMAND_OUTCOME: CommandOutcome = {
  exitCode: 0,
  stdout: 'No changes detected\n',
  stderr: '',
  durationSeconds: 20,
  notFoundCalls: 1,
};

interface Command {
  id: string;
  document: string;
  parameters: JsonObject;
  instanceIds: string[];
  targets: unknown;
  comment?: string;
  requestedAt: number;
  outcome: CommandOutcome;
  lookups: Map<string, number>;
}

// Run Command cuts stdout at 24,000 characters and stderr at 8,000.
const STDOUT_LIMIT = 24_000;
const STDERR_LIMIT = 8_000;

export class Ssm {
  readonly commands = new Map<string, Command>();
  /** Documents SendCommand accepts (empty: any). */
  readonly documents = new Set<string>();
  outcome: CommandOutcome = DEFAULT_COMMAND_OUTCOME;

  constructor(
    private readonly clock: Clock,
    /** Resolves `tag:elasticbeanstalk:environment-name` targets to instance ids. */
    private readonly instancesOf: (environment: string) => string[],
    private readonly knownInstance: (id: string) => boolean,
  ) {}

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'SendCommand':
        return this.sendCommand(input);
      case 'GetCommandInvocation':
        return this.getCommandInvocation(input);
      case 'ListCommandInvocations':
        return this.listCommandInvocations(input);
      default:
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private sendCommand(input: JsonObject): unknown {
    const document = str(input, 'DocumentName') ?? '';
    if (this.documents.size > 0 && !this.documents.has(document)) {
      throw new ServiceError('InvalidDocument', `Document with name ${document} does not exist.`);
    }
    let instanceIds = strList(input, 'InstanceIds');
    for (const id of instanceIds) {
      if (!this.knownInstance(id))
        throw new ServiceError('InvalidInstanceId', 'Instances not in a valid state for account');
    }
    const targets = Array.isArray(input.Targets) ? (input.Targets as JsonObject[]) : [];
    for (const t of targets) {
      const key = str(t, 'Key');
      if (key === 'tag:elasticbeanstalk:environment-name') {
        instanceIds = [...instanceIds, ...strList(t, 'Values').flatMap((env) => this.instancesOf(env))];
      } else if (key === 'InstanceIds') {
        instanceIds = [...instanceIds, ...strList(t, 'Values')];
      }
    }
    const command: Command = {
      id: randomUUID(),
      document,
      parameters: (input.Parameters ?? {}) as JsonObject,
      instanceIds,
      targets: input.Targets,
      comment: str(input, 'Comment'),
      requestedAt: this.clock.now(),
      outcome: this.outcome,
      lookups: new Map(),
    };
    this.commands.set(command.id, command);
    return {
      Command: {
        CommandId: command.id,
        DocumentName: document,
        Comment: command.comment,
        Parameters: command.parameters,
        InstanceIds: strList(input, 'InstanceIds'),
        Targets: input.Targets,
        RequestedDateTime: new Date(command.requestedAt),
        Status: 'Pending',
        StatusDetails: 'Pending',
        TargetCount: instanceIds.length,
        CompletedCount: 0,
        ErrorCount: 0,
        TimeoutSeconds: typeof input.TimeoutSeconds === 'number' ? input.TimeoutSeconds : 3600,
      },
    };
  }

  private state(command: Command): {
    status: 'InProgress' | 'Success' | 'Failed';
    startedAt: number;
    endedAt?: number;
  } {
    const startedAt = command.requestedAt + 1000;
    const endedAt = command.requestedAt + command.outcome.durationSeconds * 1000;
    if (this.clock.now() < endedAt) return { status: 'InProgress', startedAt };
    return { status: command.outcome.exitCode === 0 ? 'Success' : 'Failed', startedAt, endedAt };
  }

  private getCommandInvocation(input: JsonObject): unknown {
    const commandId = str(input, 'CommandId') ?? '';
    const instanceId = str(input, 'InstanceId') ?? '';
    const command = this.commands.get(commandId);
    if (!command?.instanceIds.includes(instanceId)) {
      throw new ServiceError('InvocationDoesNotExist', '');
    }
    const seen = command.lookups.get(instanceId) ?? 0;
    command.lookups.set(instanceId, seen + 1);
    if (seen < command.outcome.notFoundCalls) throw new ServiceError('InvocationDoesNotExist', '');
    const s = this.state(command);
    const done = s.status !== 'InProgress';
    return {
      CommandId: command.id,
      InstanceId: instanceId,
      Comment: command.comment,
      DocumentName: command.document,
      DocumentVersion: '$DEFAULT',
      PluginName: str(input, 'PluginName') ?? 'runShellScript',
      ResponseCode: done ? command.outcome.exitCode : -1,
      ExecutionStartDateTime: new Date(s.startedAt).toISOString(),
      ExecutionElapsedTime: `PT${Math.round(((s.endedAt ?? this.clock.now()) - s.startedAt) / 1000)}S`,
      ExecutionEndDateTime: s.endedAt ? new Date(s.endedAt).toISOString() : '',
      Status: s.status,
      StatusDetails: s.status,
      StandardOutputContent: done ? command.outcome.stdout.slice(0, STDOUT_LIMIT) : '',
      StandardErrorContent: done ? command.outcome.stderr.slice(0, STDERR_LIMIT) : '',
    };
  }

  private listCommandInvocations(input: JsonObject): unknown {
    const commandId = str(input, 'CommandId');
    const instanceId = str(input, 'InstanceId');
    const details = input.Details === true;
    const invocations = [...this.commands.values()]
      .filter((c) => !commandId || c.id === commandId)
      .flatMap((c) =>
        c.instanceIds
          .filter((i) => !instanceId || i === instanceId)
          .map((i) => {
            const s = this.state(c);
            const done = s.status !== 'InProgress';
            return {
              CommandId: c.id,
              InstanceId: i,
              DocumentName: c.document,
              Comment: c.comment,
              RequestedDateTime: new Date(c.requestedAt),
              Status: s.status,
              StatusDetails: s.status,
              CommandPlugins: details
                ? [
                    {
                      Name: 'runShellScript',
                      Status: s.status,
                      StatusDetails: s.status,
                      ResponseCode: done ? c.outcome.exitCode : -1,
                      ResponseStartDateTime: new Date(s.startedAt),
                      ResponseFinishDateTime: s.endedAt ? new Date(s.endedAt) : undefined,
                      Output: done ? (c.outcome.stdout + c.outcome.stderr).slice(0, 2500) : '',
                    },
                  ]
                : undefined,
            };
          }),
      );
    return { CommandInvocations: invocations };
  }
}
