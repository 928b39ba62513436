import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { commandOutcome, type DocumentRun, type SchemaWorld } from '../database-schema.js';
import type { Faults, SsmStatusFault } from '../faults.js';
import { type JsonObject, ServiceError, str, strList } from '../protocol.js';
import type { SsmInventory } from './ssm-inventory.js';

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
  /** A status a fault forces on the invocations (faults.ts, ssm-status). */
  forced?: SsmStatusFault;
  /** The document's execution timeout (seconds), if it has one. */
  executionTimeout?: number;
}

/** What SendCommand checks a document's parameters against, and its execution timeout. */
export interface SsmDocumentSpec {
  parameters: Record<string, { allowedPattern?: string; default?: string }>;
  /** Seconds the command may run (the step's timeoutSeconds / an executionTimeout parameter). */
  executionTimeoutSeconds?: number;
  /** What the document runs, for a world with a database schema (standin/database-schema.ts). */
  run?: DocumentRun;
}

type InvocationStatus =
  | 'Pending'
  | 'InProgress'
  | 'Delayed'
  | 'Success'
  | 'Cancelled'
  | 'TimedOut'
  | 'Failed'
  | 'Cancelling';

/**
 * StatusDetails texts as the API reference gives them (GetCommandInvocation, StatusDetails):
 * "In Progress", "Delivery Timed Out", "Execution Timed Out", ... Undeliverable and Terminated are
 * StatusDetails only: the Status enum (CommandInvocationStatus) has no such value, so Status is Failed.
 */
const STATUS_OF: Record<SsmStatusFault['status'], { status: InvocationStatus; details: string }> = {
  Pending: { status: 'Pending', details: 'Pending' },
  Delayed: { status: 'Delayed', details: 'Delayed' },
  Cancelling: { status: 'Cancelling', details: 'Cancelling' },
  TimedOut: { status: 'TimedOut', details: 'Execution Timed Out' },
  Cancelled: { status: 'Cancelled', details: 'Cancelled' },
  Undeliverable: { status: 'Failed', details: 'Undeliverable' },
  Terminated: { status: 'Failed', details: 'Terminated' },
  Failed: { status: 'Failed', details: 'Failed' },
};

// Run Command cuts stdout at 24,000 characters and stderr at 8,000.
const STDOUT_LIMIT = 24_000;
const STDERR_LIMIT = 8_000;

export class Ssm {
  readonly commands = new Map<string, Command>();
  /** Documents SendCommand accepts (empty: any). */
  readonly documents = new Set<string>();
  /** Parameter rules and execution timeouts of the documents that have them. */
  readonly definitions = new Map<string, SsmDocumentSpec>();
  outcome: CommandOutcome = DEFAULT_COMMAND_OUTCOME;
  /** Set by a scenario with a database: commands of documents that say what they run act on it. */
  schema?: SchemaWorld;

  constructor(
    private readonly clock: Clock,
    /** Resolves `tag:elasticbeanstalk:environment-name` targets to instance ids. */
    private readonly instancesOf: (environment: string) => string[],
    private readonly knownInstance: (id: string) => boolean,
    private readonly faults?: Faults,
  ) {}

  /** Managed-node inventory (DescribeInstanceInformation), in ssm-inventory.ts. */
  inventory?: SsmInventory;

  /** Registers a document with its parameter rules (allowedPattern) and execution timeout. */
  addDocument(name: string, spec?: SsmDocumentSpec): void {
    this.documents.add(name);
    if (spec) this.definitions.set(name, spec);
  }

  handle(operation: string, input: JsonObject): unknown {
    switch (operation) {
      case 'SendCommand':
        return this.sendCommand(input);
      case 'GetCommandInvocation':
        return this.getCommandInvocation(input);
      case 'ListCommandInvocations':
        return this.listCommandInvocations(input);
      case 'ListCommands':
        return this.listCommands(input);
      default:
        if (this.inventory?.handles(operation)) return this.inventory.handle(operation, input);
        throw new ServiceError('UnknownOperationException', `Unknown operation ${operation}`);
    }
  }

  private sendCommand(input: JsonObject): unknown {
    const document = str(input, 'DocumentName') ?? '';
    if (this.documents.size > 0 && !this.documents.has(document)) {
      throw new ServiceError('InvalidDocument', `Document with name ${document} does not exist.`);
    }
    const definition = this.definitions.get(document);
    const parameters = (input.Parameters ?? {}) as JsonObject;
    if (definition) checkParameters(definition, parameters);
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
      outcome: this.outcomeOf(definition, parameters, instanceIds),
      lookups: new Map(),
      forced: this.faults?.onSendCommand(),
      executionTimeout: definition?.executionTimeoutSeconds,
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

  /**
   * The scenario's outcome, or with a database schema what the document's command does to it. The
   * release phase runs the digest it is given; an exec runs in the image the first instance runs.
   */
  private outcomeOf(
    definition: SsmDocumentSpec | undefined,
    parameters: JsonObject,
    instanceIds: string[],
  ): CommandOutcome {
    if (!definition?.run) return this.outcome;
    if (!this.schema) {
      // The scenario's outcome is the migration check's; the release phase and checks pass.
      return definition.run.owner === 'migration-check'
        ? this.outcome
        : { ...DEFAULT_COMMAND_OUTCOME, stdout: 'ok\n' };
    }
    const given = parameters.imageDigest;
    const image =
      definition.run.kind === 'release'
        ? Array.isArray(given)
          ? String(given[0])
          : undefined
        : instanceIds[0] && this.schema.digestOn(instanceIds[0]);
    return commandOutcome(this.schema, definition.run, image || undefined, DEFAULT_COMMAND_OUTCOME);
  }

  private state(command: Command): {
    status: InvocationStatus;
    details: string;
    startedAt: number;
    endedAt?: number;
    exitCode: number;
  } {
    const now = this.clock.now();
    const startedAt = command.requestedAt + 1000;
    const forced = command.forced;
    if (forced) {
      const target = STATUS_OF[forced.status];
      const details = forced.statusDetails ?? target.details;
      // Pending, Delayed and Cancelling are not terminal: the invocation stays there.
      if (forced.status === 'Pending' || forced.status === 'Delayed' || forced.status === 'Cancelling') {
        if (forced.status === 'Cancelling' && now < command.requestedAt + forced.afterSeconds * 1000) {
          return { status: 'InProgress', details: 'In Progress', startedAt, exitCode: -1 };
        }
        return { status: target.status, details, startedAt, exitCode: -1 };
      }
      const endedAt = command.requestedAt + forced.afterSeconds * 1000;
      if (now < endedAt) return { status: 'InProgress', details: 'In Progress', startedAt, exitCode: -1 };
      return { status: target.status, details, startedAt, endedAt, exitCode: -1 };
    }
    const runsFor = command.outcome.durationSeconds * 1000;
    const timeout = command.executionTimeout === undefined ? undefined : command.executionTimeout * 1000;
    if (timeout !== undefined && runsFor > timeout) {
      // The document's execution timeout stops the command (Execution Timed Out).
      const endedAt = startedAt + timeout;
      if (now < endedAt) return { status: 'InProgress', details: 'In Progress', startedAt, exitCode: -1 };
      return { status: 'TimedOut', details: 'Execution Timed Out', startedAt, endedAt, exitCode: -1 };
    }
    const endedAt = command.requestedAt + runsFor;
    if (now < endedAt) return { status: 'InProgress', details: 'In Progress', startedAt, exitCode: -1 };
    const ok = command.outcome.exitCode === 0;
    return {
      status: ok ? 'Success' : 'Failed',
      details: ok ? 'Success' : 'Failed',
      startedAt,
      endedAt,
      exitCode: command.outcome.exitCode,
    };
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
    // Output is there once the command ran to an end (Success or Failed); empty otherwise.
    const done = s.status === 'Success' || (s.status === 'Failed' && s.details === 'Failed');
    return {
      CommandId: command.id,
      InstanceId: instanceId,
      Comment: command.comment,
      DocumentName: command.document,
      DocumentVersion: '$DEFAULT',
      PluginName: str(input, 'PluginName') ?? 'runShellScript',
      ResponseCode: s.exitCode,
      ExecutionStartDateTime: new Date(s.startedAt).toISOString(),
      ExecutionElapsedTime: `PT${Math.round(((s.endedAt ?? this.clock.now()) - s.startedAt) / 1000)}S`,
      ExecutionEndDateTime: s.endedAt ? new Date(s.endedAt).toISOString() : '',
      Status: s.status,
      StatusDetails: s.details,
      StandardOutputContent: done ? command.outcome.stdout.slice(0, STDOUT_LIMIT) : '',
      StandardErrorContent: done ? command.outcome.stderr.slice(0, STDERR_LIMIT) : '',
    };
  }

  /**
   * ListCommands (SSM API reference): commands newest first, filtered by CommandId, InstanceId and
   * the Filters keys DocumentName, InvokedAfter, InvokedBefore (others refused as InvalidFilterKey
   * here: the stand-in has no use for them), paged by MaxResults (1-50, default 50) and NextToken.
   */
  private listCommands(input: JsonObject): unknown {
    const commandId = str(input, 'CommandId');
    const instanceId = str(input, 'InstanceId');
    const filters = Array.isArray(input.Filters) ? (input.Filters as JsonObject[]) : [];
    let list = [...this.commands.values()]
      .filter((c) => !commandId || c.id === commandId)
      .filter((c) => !instanceId || c.instanceIds.includes(instanceId));
    for (const f of filters) {
      const key = str(f, 'key');
      const value = str(f, 'value') ?? '';
      if (key === 'DocumentName') list = list.filter((c) => c.document === value);
      else if (key === 'InvokedAfter') list = list.filter((c) => c.requestedAt >= Date.parse(value));
      else if (key === 'InvokedBefore') list = list.filter((c) => c.requestedAt <= Date.parse(value));
      else throw new ServiceError('InvalidFilterKey', `The specified key is not valid: ${key}`);
    }
    if (commandId && list.length === 0) throw new ServiceError('InvalidCommandId', '');
    list.sort((a, b) => b.requestedAt - a.requestedAt);
    const max = typeof input.MaxResults === 'number' ? input.MaxResults : 50;
    const from = Number(str(input, 'NextToken') ?? 0) || 0;
    const page = list.slice(from, from + max);
    return {
      Commands: page.map((c) => {
        // Every invocation of a stand-in command shares its state (state() is per command).
        const st = this.state(c).status;
        const running = st === 'Pending' || st === 'InProgress' || st === 'Delayed';
        return {
          CommandId: c.id,
          DocumentName: c.document,
          Comment: c.comment,
          Parameters: c.parameters,
          InstanceIds: c.instanceIds,
          Targets: c.targets ?? [],
          RequestedDateTime: new Date(c.requestedAt),
          Status: st,
          TargetCount: c.instanceIds.length,
          CompletedCount: running ? 0 : c.instanceIds.length,
          ErrorCount: st === 'Failed' ? c.instanceIds.length : 0,
        };
      }),
      ...(from + max < list.length ? { NextToken: String(from + max) } : {}),
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
            const done = s.status === 'Success' || (s.status === 'Failed' && s.details === 'Failed');
            return {
              CommandId: c.id,
              InstanceId: i,
              DocumentName: c.document,
              Comment: c.comment,
              RequestedDateTime: new Date(c.requestedAt),
              Status: s.status,
              StatusDetails: s.details,
              CommandPlugins: details
                ? [
                    {
                      Name: 'runShellScript',
                      Status: s.status,
                      StatusDetails: s.details,
                      ResponseCode: s.exitCode,
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

/**
 * SendCommand checks each parameter against the document's allowedPattern (and refuses unknown
 * parameters) before anything is sent: InvalidParameters (SSM API reference, SendCommand errors).
 */
function checkParameters(definition: SsmDocumentSpec, parameters: JsonObject): void {
  for (const name of Object.keys(parameters)) {
    if (!(name in definition.parameters)) {
      throw new ServiceError('InvalidParameters', `Parameter "${name}" is not defined in the document.`);
    }
  }
  for (const [name, rule] of Object.entries(definition.parameters)) {
    const given = parameters[name];
    const values = Array.isArray(given)
      ? given.map(String)
      : rule.default !== undefined
        ? [rule.default]
        : [];
    if (given === undefined && rule.default === undefined) {
      throw new ServiceError('InvalidParameters', `Parameter "${name}" is required but was not provided.`);
    }
    if (!rule.allowedPattern) continue;
    const pattern = new RegExp(rule.allowedPattern);
    for (const v of values) {
      if (!pattern.test(v)) {
        throw new ServiceError(
          'InvalidParameters',
          `Parameter "${name}" "${v}" failed to satisfy constraint: Member must satisfy regular expression pattern: ${rule.allowedPattern}`,
        );
      }
    }
  }
}
