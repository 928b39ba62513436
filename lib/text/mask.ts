/**
 * The one cleaning step for text that came from the application or from AWS on its behalf: the
 * migration check's output, EB event messages and causes, log tails, error causes. Whatever prints
 * or stores such text (alerts, history, the CLI's text and --json, execution state) runs it through
 * `maskAppText` first.
 *
 * - Terminal control: escape sequences (colours, cursor moves, OSC 8 links, title changes) and other
 *   control characters are removed, so app output cannot rewrite an on-call engineer's terminal or
 *   forge lines; newlines stay (tabs become two spaces, CR and LS/PS become newlines).
 * - Secrets: credentials in URLs (`postgres://user:PASSWORD@host`), `NAME=value` and `"name": "value"`
 *   pairs whose name says password, secret, token, API/access/private key or credential, bearer tokens, AWS secret
 *   keys, private key blocks and well-known key formats are replaced by `***`.
 */

const MASK = '***';

// ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), ESC P/X/^/_ ... ESC \ (DCS and friends),
// and two-character ESC sequences; then C1 controls written as single code points.
const ESC = '\u001b';
const ESCAPES = new RegExp(
  [
    `${ESC}\\[[0-?]*[ -/]*[@-~]`,
    `${ESC}\\][^\u0007${ESC}]*(?:\u0007|${ESC}\\\\)?`,
    `${ESC}[PX^_][^${ESC}]*(?:${ESC}\\\\)?`,
    `${ESC}[@-Z\\\\-_]`,
    '\u009b[0-?]*[ -/]*[@-~]',
  ].join('|'),
  'g',
);

// Names that mark a value as secret: DATABASE_PASSWORD, api_key, SECRET_KEY, auth-token, Credential...
const SECRET_NAME =
  '[A-Za-z0-9_.-]*(?:passw(?:or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)[A-Za-z0-9_.-]*';

const RULES: [RegExp, string | ((...m: string[]) => string)][] = [
  // PEM private keys, whole.
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
    `${MASK} (private key)`,
  ],
  // Credentials in URLs; greedy to the last "@" of the authority, since passwords may contain "@".
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/]*@/gi, `$1${MASK}@`],
  // Sentry-style DSNs and other URLs with a key as the user part: https://KEY@o1.ingest.sentry.io/1
  [/(\bhttps?:\/\/)[0-9a-f]{16,}@/gi, `$1${MASK}@`],
  // Authorization headers.
  [/\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${MASK}`],
  // NAME=value (env dumps, logs, query strings).
  [new RegExp(`\\b(${SECRET_NAME})=("[^"]*"|'[^']*'|[^\\s,;&]+)`, 'gi'), `$1=${MASK}`],
  // "name": "value" in JSON.
  [new RegExp(`("${SECRET_NAME}"\\s*:\\s*)"(?:[^"\\\\]|\\\\.)*"`, 'gi'), `$1"${MASK}"`],
  // Formats that are secret wherever they appear.
  [/\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g, MASK], // SendGrid API keys
  [/\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}/g, MASK], // Stripe secret keys
  [/\bgh[pousr]_[A-Za-z0-9]{30,}/g, MASK], // GitHub tokens
  [/\bxox[abprs]-[A-Za-z0-9-]{10,}/g, MASK], // Slack tokens
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, MASK], // AWS access key ids
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/g, MASK], // JWTs
];

/** App-originated text, safe to print, store or mail: no terminal control, secrets masked. */
export function maskAppText(text: string): string {
  let out = text
    .replace(ESCAPES, '')
    .replace(/\r\n?|[\u2028\u2029]/g, '\n')
    .replace(/\t/g, '  ')
    .replace(/[\p{Cc}\u200b-\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) => (c === '\n' ? '\n' : ''));
  for (const [pattern, replacement] of RULES) {
    out = out.replace(pattern, replacement as string);
  }
  return out;
}

/** `maskAppText` on every string inside a JSON-like value (object keys too), for --json output and stored records. */
export function maskDeep<T>(value: T): T {
  if (typeof value === 'string') return maskAppText(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [maskAppText(k), maskDeep(v)]),
    ) as T;
  }
  return value;
}
