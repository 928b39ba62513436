import type { Clock } from '../clock.js';
import { type JsonObject, ServiceError, str, strList } from '../protocol.js';

/**
 * IAM (query protocol, 2010-05-08; shapes from botocore's iam service-2.json) as `ebship doctor`
 * uses it: roles with identity policies, instance profiles (GetInstanceProfile) and the policy
 * simulator (SimulatePrincipalPolicy), which evaluates the stand-in's own role policies; and the
 * writes doctor's fixes name (PutRolePolicy, AttachRolePolicy with the managed policies below, and
 * their Delete/Detach), so a printed fix can be run against the stand-in.
 *
 * Evaluation follows IAM's policy evaluation logic for a single account's identity policies
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
 * an explicit Deny in any statement wins, else an Allow that matches action, resource and
 * conditions allows, else the request is implicitly denied. Action names match case-insensitively
 * with `*`/`?` wildcards; resources match case-sensitively with the same wildcards. Conditions:
 * the String*, Arn* and Bool operators, each key's values ORed and keys ANDed, a missing key
 * failing the test (…IfExists passing it).
 *
 * Left out, so a decision here can be more generous than AWS's: resource-based policies,
 * permissions boundaries, SCPs/RCPs, session policies, policy variables (`${aws:username}`),
 * the ForAnyValue/ForAllValues set operators, Numeric/Date/IpAddress operators (treated as not
 * matching, so an Allow behind them does not apply and a Deny behind them does not apply
 * either), NotPrincipal, and cross-account requests.
 */

export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';

/**
 * The AWS managed policies the stand-in can attach (AttachRolePolicy), as far as ebship relies on
 * them: the ECR pulls of AmazonEC2ContainerRegistryReadOnly and the agent calls of
 * AmazonSSMManagedInstanceCore (AWS Managed Policy Reference Guide). Attached under their ARN.
 */
export const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  AmazonEC2ContainerRegistryReadOnly: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ecr:GetAuthorizationToken',
          'ecr:BatchCheckLayerAvailability',
          'ecr:GetDownloadUrlForLayer',
          'ecr:GetRepositoryPolicy',
          'ecr:DescribeRepositories',
          'ecr:ListImages',
          'ecr:DescribeImages',
          'ecr:BatchGetImage',
        ],
        Resource: '*',
      },
    ],
  },
  AmazonSSMManagedInstanceCore: {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: [
          'ssm:DescribeAssociation',
          'ssm:GetDocument',
          'ssm:ListAssociations',
          'ssm:UpdateInstanceInformation',
          'ssmmessages:*',
          'ec2messages:*',
        ],
        Resource: '*',
      },
    ],
  },
};

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

interface Role {
  name: string;
  arn: string;
  id: string;
  createdAt: Date;
  trust: PolicyDocument;
  /** Inline and attached policies, by name. */
  policies: Map<string, PolicyDocument>;
}

type Decision = 'allowed' | 'explicitDeny' | 'implicitDeny';

export class Iam {
  private readonly roles = new Map<string, Role>();
  private readonly profiles = new Map<
    string,
    { name: string; id: string; createdAt: Date; roles: string[] }
  >();
  /** Every call answered, for tests. */
  readonly calls: { action: string; input: JsonObject }[] = [];

  constructor(
    private readonly clock: Clock,
    private readonly account: string,
  ) {}

  // ---------- provisioning ----------

  putRole(name: string, trust: PolicyDocument = { Statement: [] }): string {
    const existing = this.roles.get(name);
    const arn = `arn:aws:iam::${this.account}:role/${name}`;
    this.roles.set(name, {
      name,
      arn,
      id: existing?.id ?? uniqueId('AROA'),
      createdAt: existing?.createdAt ?? new Date(this.clock.now()),
      trust,
      policies: existing?.policies ?? new Map(),
    });
    return arn;
  }

  /** Sets (or, with `undefined`, removes) one of a role's policies. */
  putRolePolicy(role: string, policyName: string, document: PolicyDocument | undefined): void {
    const r = this.roles.get(role);
    if (!r) throw new Error(`no role ${role} in the stand-in`);
    if (document) r.policies.set(policyName, document);
    else r.policies.delete(policyName);
  }

  rolePolicy(role: string, policyName: string): PolicyDocument | undefined {
    return this.roles.get(role)?.policies.get(policyName);
  }

  /** Attaches one of MANAGED_POLICIES, by name, as AttachRolePolicy would. */
  attachManagedPolicy(role: string, name: string): void {
    const managed = MANAGED_POLICIES[name];
    if (!managed) throw new Error(`the stand-in has no managed policy ${name}`);
    this.putRolePolicy(role, `arn:aws:iam::aws:policy/${name}`, managed);
  }

  putInstanceProfile(name: string, roles: string[]): void {
    this.profiles.set(name, {
      name,
      id: this.profiles.get(name)?.id ?? uniqueId('AIPA'),
      createdAt: new Date(this.clock.now()),
      roles,
    });
  }

  /**
   * Whether the role of an instance profile may do `action` on `resource`; undefined when the
   * profile is not in the stand-in (IAM not provisioned: nothing to judge).
   */
  profileAllows(profile: string, action: string, resource = '*'): boolean | undefined {
    const roleName = this.profiles.get(profile)?.roles[0];
    const role = roleName ? this.roles.get(roleName) : undefined;
    if (!role) return undefined;
    return evaluate(role, action, resource, new Map()).decision === 'allowed';
  }

  // ---------- the query API ----------

  handle(action: string, input: JsonObject): unknown {
    this.calls.push({ action, input });
    switch (action) {
      case 'GetInstanceProfile':
        return this.getInstanceProfile(input);
      case 'GetRole':
        return { Role: this.describeRole(this.role(requiredParam(input, 'RoleName'))) };
      case 'SimulatePrincipalPolicy':
        return this.simulatePrincipalPolicy(input);
      case 'PutRolePolicy': {
        const role = this.role(requiredParam(input, 'RoleName'));
        role.policies.set(
          requiredParam(input, 'PolicyName'),
          policyDocument(requiredParam(input, 'PolicyDocument')),
        );
        return {};
      }
      case 'DeleteRolePolicy': {
        const role = this.role(requiredParam(input, 'RoleName'));
        const name = requiredParam(input, 'PolicyName');
        if (!role.policies.delete(name)) {
          throw noSuchEntity(`The role policy with name ${name} cannot be found.`);
        }
        return {};
      }
      case 'AttachRolePolicy': {
        const role = this.role(requiredParam(input, 'RoleName'));
        const arn = requiredParam(input, 'PolicyArn');
        const managed = MANAGED_POLICIES[arn.replace(/^arn:aws[a-z-]*:iam::aws:policy\//, '')];
        if (!managed) throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
        role.policies.set(arn, managed);
        return {};
      }
      case 'DetachRolePolicy': {
        const role = this.role(requiredParam(input, 'RoleName'));
        const arn = requiredParam(input, 'PolicyArn');
        if (!role.policies.delete(arn)) throw noSuchEntity(`Policy ${arn} was not found.`);
        return {};
      }
      default:
        throw new ServiceError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`);
    }
  }

  private getInstanceProfile(input: JsonObject): unknown {
    const name = requiredParam(input, 'InstanceProfileName');
    const profile = this.profiles.get(name);
    if (!profile) throw noSuchEntity(`Instance Profile ${name} cannot be found.`);
    return {
      InstanceProfile: {
        Path: '/',
        InstanceProfileName: name,
        InstanceProfileId: profile.id,
        Arn: `arn:aws:iam::${this.account}:instance-profile/${name}`,
        CreateDate: profile.createdAt,
        Roles: profile.roles.flatMap((r) => {
          const role = this.roles.get(r);
          return role ? [this.describeRole(role)] : [];
        }),
      },
    };
  }

  private describeRole(role: Role): JsonObject {
    return {
      Path: '/',
      RoleName: role.name,
      RoleId: role.id,
      Arn: role.arn,
      CreateDate: role.createdAt,
      // IAM returns policy documents URL-encoded (GetRole, "AssumeRolePolicyDocument").
      AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(role.trust)),
    };
  }

  private role(name: string): Role {
    const role = this.roles.get(name);
    if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return role;
  }

  /**
   * One EvaluationResult per action, whatever the number of resources; its decision is the most
   * restrictive of the per-resource decisions in ResourceSpecificResults (IAM API reference,
   * EvaluationResult).
   */
  private simulatePrincipalPolicy(input: JsonObject): unknown {
    const source = requiredParam(input, 'PolicySourceArn');
    const role = [...this.roles.values()].find((r) => r.arn === source);
    if (!role) {
      throw noSuchEntity(`PolicySourceArn ${source} does not name a user, group or role in this account.`);
    }
    const actions = strList(input, 'ActionNames');
    if (actions.length === 0) throw new ServiceError('InvalidInput', 'ActionNames must not be empty.');
    const resources = strList(input, 'ResourceArns');
    const context = contextOf(input.ContextEntries);
    const results = actions.map((action) => {
      const perResource = (resources.length > 0 ? resources : ['*']).map((resource) => ({
        resource,
        ...evaluate(role, action, resource, context),
      }));
      const decision = mostRestrictive(perResource.map((r) => r.decision));
      const missing = [...new Set(perResource.flatMap((r) => r.missing))];
      return {
        EvalActionName: action,
        EvalResourceName: resources.length === 1 ? resources[0] : '*',
        EvalDecision: decision,
        MatchedStatements: [...new Set(perResource.flatMap((r) => r.matched))].map((id) => ({
          SourcePolicyId: id,
          SourcePolicyType: 'IAM Policy',
        })),
        MissingContextValues: missing,
        ...(resources.length > 0
          ? {
              ResourceSpecificResults: perResource.map((r) => ({
                EvalResourceName: r.resource,
                EvalResourceDecision: r.decision,
                MatchedStatements: r.matched.map((id) => ({
                  SourcePolicyId: id,
                  SourcePolicyType: 'IAM Policy',
                })),
                MissingContextValues: r.missing,
              })),
            }
          : {}),
      };
    });
    return { EvaluationResults: results, IsTruncated: false };
  }
}

type Context = Map<string, string[]>;

function contextOf(entries: unknown): Context {
  const context: Context = new Map();
  if (!Array.isArray(entries)) return context;
  for (const e of entries as JsonObject[]) {
    const name = str(e, 'ContextKeyName');
    // Condition key names are case-insensitive (IAM JSON policy elements: Condition).
    if (name) context.set(name.toLowerCase(), strList(e, 'ContextKeyValues'));
  }
  return context;
}

function evaluate(
  role: Role,
  action: string,
  resource: string,
  context: Context,
): { decision: Decision; matched: string[]; missing: string[] } {
  const allows: string[] = [];
  const denies: string[] = [];
  const missing: string[] = [];
  for (const [policyName, doc] of role.policies) {
    for (const s of asArray(doc.Statement)) {
      if (!matchesAction(s, action) || !matchesResource(s, resource)) continue;
      const condition = conditionHolds(s.Condition, context);
      missing.push(...condition.missing);
      if (!condition.holds) continue;
      (s.Effect === 'Deny' ? denies : allows).push(policyName);
    }
  }
  if (denies.length > 0) return { decision: 'explicitDeny', matched: denies, missing };
  if (allows.length > 0) return { decision: 'allowed', matched: allows, missing: [] };
  return { decision: 'implicitDeny', matched: [], missing: [...new Set(missing)] };
}

function matchesAction(s: PolicyStatement, action: string): boolean {
  const test = (patterns: string | string[]) => asArray(patterns).some((p) => wildcard(p, true).test(action));
  if (s.Action !== undefined) return test(s.Action);
  if (s.NotAction !== undefined) return !test(s.NotAction);
  return false;
}

function matchesResource(s: PolicyStatement, resource: string): boolean {
  const test = (patterns: string | string[]) =>
    asArray(patterns).some((p) => p === '*' || wildcard(p, false).test(resource));
  if (s.Resource !== undefined) return test(s.Resource);
  if (s.NotResource !== undefined) return !test(s.NotResource);
  return false;
}

const STRING_OPERATORS: Record<string, (value: string, pattern: string) => boolean> = {
  StringEquals: (v, p) => v === p,
  StringNotEquals: (v, p) => v !== p,
  StringEqualsIgnoreCase: (v, p) => v.toLowerCase() === p.toLowerCase(),
  StringNotEqualsIgnoreCase: (v, p) => v.toLowerCase() !== p.toLowerCase(),
  StringLike: (v, p) => wildcard(p, false).test(v),
  StringNotLike: (v, p) => !wildcard(p, false).test(v),
  ArnEquals: (v, p) => v === p,
  ArnLike: (v, p) => wildcard(p, false).test(v),
  ArnNotEquals: (v, p) => v !== p,
  ArnNotLike: (v, p) => !wildcard(p, false).test(v),
  Bool: (v, p) => v.toLowerCase() === String(p).toLowerCase(),
};
const NEGATED = /^(StringNot|ArnNot)/;

function conditionHolds(
  condition: PolicyStatement['Condition'],
  context: Context,
): { holds: boolean; missing: string[] } {
  const missing: string[] = [];
  for (const [rawOperator, tests] of Object.entries(condition ?? {})) {
    const ifExists = rawOperator.endsWith('IfExists');
    const operator = ifExists ? rawOperator.slice(0, -'IfExists'.length) : rawOperator;
    const compare = STRING_OPERATORS[operator];
    if (!compare) return { holds: false, missing };
    for (const [key, expected] of Object.entries(tests)) {
      const values = context.get(key.toLowerCase());
      if (values === undefined) {
        // A key absent from the request fails a matching test and passes a negated one (IAM
        // condition operators); …IfExists passes either.
        missing.push(key);
        if (ifExists || NEGATED.test(operator)) continue;
        return { holds: false, missing };
      }
      const patterns = asArray(expected).map(String);
      // A negated operator holds when the value matches none of the patterns; the others when it
      // matches any of them.
      const ok = values.some((v) =>
        NEGATED.test(operator) ? patterns.every((p) => compare(v, p)) : patterns.some((p) => compare(v, p)),
      );
      if (!ok) return { holds: false, missing };
    }
  }
  return { holds: true, missing };
}

function mostRestrictive(decisions: Decision[]): Decision {
  if (decisions.includes('explicitDeny')) return 'explicitDeny';
  if (decisions.includes('implicitDeny')) return 'implicitDeny';
  return 'allowed';
}

function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

function asArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

function requiredParam(input: JsonObject, key: string): string {
  const v = str(input, key);
  if (!v) throw new ServiceError('ValidationError', `1 validation error detected: ${key} must not be null.`);
  return v;
}

/** A policy document as IAM takes it (JSON text), or MalformedPolicyDocument. */
function policyDocument(text: string): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new ServiceError('MalformedPolicyDocument', 'This policy contains invalid Json');
  }
  const statements = (doc as { Statement?: unknown } | null)?.Statement;
  if (typeof statements !== 'object' || statements === null) {
    throw new ServiceError('MalformedPolicyDocument', 'Syntax errors in policy.');
  }
  for (const st of [statements].flat() as PolicyStatement[]) {
    if (st.Effect !== 'Allow' && st.Effect !== 'Deny') {
      throw new ServiceError('MalformedPolicyDocument', 'Policy statement must contain a valid Effect.');
    }
  }
  return doc as PolicyDocument;
}

function noSuchEntity(message: string): ServiceError {
  return new ServiceError('NoSuchEntity', message, 404);
}

function uniqueId(prefix: string): string {
  let out = prefix;
  while (out.length < 21) out += Math.random().toString(36).slice(2).toUpperCase();
  return out.slice(0, 21);
}
