import { ServiceError } from '../protocol.js';

/**
 * STS (query protocol, 2011-06-15; botocore's sts service-2.json) as far as `ebship approve` and
 * `ebship reject` use it: GetCallerIdentity, whose Arn history records as who answered. The
 * stand-in has one caller, `callerArn` (tests set it to act as someone else).
 */
export const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

export class Sts {
  callerArn: string;

  constructor(readonly account: string) {
    this.callerArn = `arn:aws:iam::${account}:user/standin-operator`;
  }

  handle(action: string): unknown {
    if (action !== 'GetCallerIdentity')
      throw new ServiceError('InvalidAction', `The stand-in's STS does not serve ${action}`);
    // GetCallerIdentityResponse: UserId, Account, Arn.
    return { UserId: 'AIDASTANDINOPERATOR', Account: this.account, Arn: this.callerArn };
  }
}
