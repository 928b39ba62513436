import { type CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { AlarmsRead } from '../health/verdict.js';
import { maskAppText } from '../text/mask.js';
import type { AlarmStateName } from '../workflow-state.js';

/** DescribeAlarms takes at most 100 AlarmNames (CloudWatch API reference, DescribeAlarms). */
export const MAX_ALARMS_PER_CALL = 100;

const STATES = new Set<string>(['OK', 'ALARM', 'INSUFFICIENT_DATA']);

/**
 * One read of the alarm gates: a single DescribeAlarms call with every name (at most 100, checked
 * when ebship.yml is loaded) and MaxRecords 100, so all of them come back on one page. Metric alarms
 * only (AlarmTypes left out): composite alarms come back only to a caller whose
 * cloudwatch:DescribeAlarms is granted on `*` (API reference), and ebship's is scoped to the
 * configured alarms' ARNs. A name CloudWatch does not return is `missing`.
 *
 * Never throws: a failed call (throttled, denied, a 5xx, a timeout) is `{ ok: false }`, no data,
 * like an unread EB poll.
 */
export async function readAlarms(client: CloudWatchClient, names: string[]): Promise<AlarmsRead> {
  try {
    const found: MetricAlarm[] = [];
    let token: string | undefined;
    do {
      const out = await client.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(0, MAX_ALARMS_PER_CALL),
          MaxRecords: MAX_ALARMS_PER_CALL,
          NextToken: token,
        }),
      );
      found.push(...(out.MetricAlarms ?? []));
      token = out.NextToken;
    } while (token);
    const alarms = found.flatMap((a) => {
      if (!a.AlarmName || !STATES.has(a.StateValue ?? '')) return [];
      const since = a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp;
      return [
        {
          name: a.AlarmName,
          state: a.StateValue as AlarmStateName,
          reason: maskAppText(a.StateReason ?? '').slice(0, 500),
          ...(since ? { since: since.toISOString() } : {}),
        },
      ];
    });
    const seen = new Set(alarms.map((a) => a.name));
    return { ok: true, alarms, missing: names.filter((n) => !seen.has(n)) };
  } catch (err) {
    const e = err as Error;
    return { ok: false, error: `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}` };
  }
}
