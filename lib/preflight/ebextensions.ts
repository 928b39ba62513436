import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { at, type Finding } from './finding.js';

/**
 * Reads `.ebextensions/*.config` (YAML or JSON) into what the rules need, with 1-based line numbers:
 * option settings, `commands`, `container_commands` and `files`. Keys EB does not use are ignored.
 * Config file reference: https://docs.aws.amazon.com/elasticbeanstalk/latest/dg/ebextensions.html
 */

export interface OptionSetting {
  file: string;
  line?: number;
  namespace: string;
  name: string;
  /** The value as text; '' when it is a CloudFormation function or missing. */
  value: string;
}

export interface ConfigCommand {
  file: string;
  line?: number;
  /** `commands` run on every instance before the app is extracted; `container_commands` after, before it is deployed. */
  section: 'commands' | 'container_commands';
  name: string;
  command: string;
  /** 1-based line the command text starts on (the line after `|` for a block scalar). */
  commandLine?: number;
  leaderOnly: boolean;
  ignoreErrors: boolean;
}

export interface ConfigFile {
  file: string;
  line?: number;
  /** Where EB writes it on the instance. */
  path: string;
  content: string;
  contentLine?: number;
}

export interface ParsedConfig {
  options: OptionSetting[];
  commands: ConfigCommand[];
  files: ConfigFile[];
}

export function parseEbextension(file: string, text: string): { parsed?: ParsedConfig; findings: Finding[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    return {
      findings: [
        at(
          {
            ruleId: 'parse-error',
            severity: 'error',
            message: `not valid YAML/JSON: ${(first?.message ?? 'parse error').split('\n')[0]}`,
            fix: 'Fix the syntax (indent with spaces, never tabs; quote values containing ": " or "#"); EB rejects the whole version otherwise.',
          },
          file,
          first?.linePos?.[0]?.line,
        ),
      ],
    };
  }
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as Node | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  // A block scalar's range starts at its `|` indicator; its text starts on the next line.
  const textLineOf = (node: unknown): number | undefined => {
    const line = lineOf(node);
    if (line === undefined || !isScalar(node)) return line;
    return node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED' ? line + 1 : line;
  };

  const parsed: ParsedConfig = { options: [], commands: [], files: [] };
  const root = doc.contents;
  if (!isMap(root)) return { parsed, findings: [] };

  for (const pair of root.items) {
    const section = scalarText(pair.key);
    const value = pair.value;
    if (section === 'option_settings') {
      if (isMap(value)) {
        // Map form: namespace → { option: value }.
        for (const ns of value.items) {
          const namespace = scalarText(ns.key);
          if (!isMap(ns.value)) continue;
          for (const opt of ns.value.items) {
            parsed.options.push({
              file,
              line: lineOf(opt.key),
              namespace,
              name: scalarText(opt.key),
              value: scalarText(opt.value),
            });
          }
        }
      } else if (isSeq(value)) {
        // List form: - namespace: ..., option_name: ..., value: ...
        for (const item of value.items) {
          if (!isMap(item)) continue;
          const field = (k: string) => item.items.find((p) => scalarText(p.key) === k);
          parsed.options.push({
            file,
            line: lineOf(field('option_name')?.key ?? item),
            namespace: scalarText(field('namespace')?.value),
            name: scalarText(field('option_name')?.value),
            value: scalarText(field('value')?.value),
          });
        }
      }
    } else if ((section === 'commands' || section === 'container_commands') && isMap(value)) {
      for (const entry of value.items) {
        if (!isMap(entry.value)) continue;
        const field = (k: string) => (entry.value as typeof value).items.find((p) => scalarText(p.key) === k);
        const commandNode = field('command')?.value;
        parsed.commands.push({
          file,
          line: lineOf(entry.key),
          section,
          name: scalarText(entry.key),
          command: isSeq(commandNode)
            ? commandNode.items.map((i) => scalarText(i)).join(' ')
            : scalarText(commandNode),
          commandLine: textLineOf(commandNode),
          leaderOnly: truthy(scalarText(field('leader_only')?.value)),
          ignoreErrors: truthy(scalarText(field('ignoreErrors')?.value)),
        });
      }
    } else if (section === 'files' && isMap(value)) {
      for (const entry of value.items) {
        if (!isMap(entry.value)) continue;
        const content = entry.value.items.find((p) => scalarText(p.key) === 'content')?.value;
        if (content === undefined) continue;
        parsed.files.push({
          file,
          line: lineOf(entry.key),
          path: scalarText(entry.key),
          content: scalarText(content),
          contentLine: textLineOf(content),
        });
      }
    }
  }
  return { parsed, findings: [] };
}

function scalarText(node: unknown): string {
  if (isScalar(node)) {
    const v = node.value;
    return v === null || v === undefined ? '' : typeof v === 'object' ? '' : String(v);
  }
  return '';
}

function truthy(text: string): boolean {
  return /^(true|yes|on|1)$/i.test(text.trim());
}
