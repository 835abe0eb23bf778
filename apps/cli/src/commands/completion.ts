import type { Command } from 'commander';
import { Command as CommanderCommand } from 'commander';
import type { Context } from '../context.js';
import { usage } from '../io.js';

/** One command of the tree: its path from the root, its subcommands and its options, as completion offers them. */
interface Node {
  readonly path: readonly string[];
  readonly subcommands: readonly { readonly name: string; readonly description: string }[];
  readonly options: readonly { readonly flags: readonly string[]; readonly description: string }[];
}

const SHELLS = ['bash', 'zsh', 'fish'] as const;

/** Every command under `root`, walked from commander's own tree: a new command completes without touching this file. */
function walk(command: Command, path: readonly string[] = []): Node[] {
  const visible = command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
  const options = [
    ...command.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => f !== undefined),
        description: o.description,
      })),
    { flags: ['-h', '--help'], description: 'display help' },
  ];
  const node: Node = {
    path,
    subcommands: visible.flatMap((c) =>
      [c.name(), ...c.aliases()].map((name) => ({ name, description: c.description() })),
    ),
    options,
  };
  return [node, ...visible.flatMap((c) => walk(c, [...path, c.name()]))];
}

/** Single-quoted for a shell: safe for any text. */
const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
const firstLine = (text: string) => text.split('\n')[0]!.slice(0, 80);

function wordsFunction(name: string, nodes: readonly Node[]): string {
  const cases = nodes.map((n) => {
    const words = [...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => o.flags)];
    return `    ${quote(n.path.join(' '))}) echo ${quote(words.join(' '))} ;;`;
  });
  return `${name}() {\n  case "$1" in\n${cases.join('\n')}\n  esac\n}`;
}

function subcommandsFunction(name: string, nodes: readonly Node[]): string {
  const cases = nodes
    .filter((n) => n.subcommands.length > 0)
    .map(
      (n) => `    ${quote(n.path.join(' '))}) echo ${quote(n.subcommands.map((s) => s.name).join(' '))} ;;`,
    );
  return `${name}() {\n  case "$1" in\n${cases.join('\n')}\n  esac\n}`;
}

function bash(bin: string, nodes: readonly Node[]): string {
  return `# ${bin} completion for bash: source it, or save it as ~/.local/share/bash-completion/completions/${bin}
${wordsFunction('_agentsecrets_words', nodes)}
${subcommandsFunction('_agentsecrets_subcommands', nodes)}
_agentsecrets() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case " $(_agentsecrets_subcommands "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  COMPREPLY=($(compgen -W "$(_agentsecrets_words "$path")" -- "$cur"))
}
complete -o default -F _agentsecrets ${bin}
`;
}

function zsh(bin: string, nodes: readonly Node[]): string {
  const described = nodes.map((n) => {
    const items = [
      ...n.subcommands.map((s) => `${s.name.replace(/:/g, '\\:')}:${firstLine(s.description)}`),
      ...n.options.flatMap((o) => o.flags.map((f) => `${f}:${firstLine(o.description)}`)),
    ];
    return `    ${quote(n.path.join(' '))}) items=(${items.map(quote).join(' ')}) ;;`;
  });
  return `#compdef ${bin}
# ${bin} completion for zsh: save it as _${bin} in a directory on $fpath, or source it after compinit
${subcommandsFunction('_agentsecrets_subcommands', nodes)}
_agentsecrets() {
  local path_="" w i
  local -a items subs
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    subs=(\${=$(_agentsecrets_subcommands "$path_")})
    (( \${subs[(Ie)$w]} )) && path_="\${path_:+$path_ }$w"
  done
  case "$path_" in
${described.join('\n')}
  esac
  _describe -t commands '${bin}' items
}
compdef _agentsecrets ${bin}
`;
}

function fish(bin: string, nodes: readonly Node[]): string {
  const lines = [
    `# ${bin} completion for fish: save it as ~/.config/fish/completions/${bin}.fish`,
    `complete -c ${bin} -f`,
  ];
  lines.push(`function __agentsecrets_path
    set -l words (commandline -opc)
    set -l path ""
    for w in $words[2..-1]
        if contains -- $w (__agentsecrets_subcommands "$path")
            set path (string trim -- "$path $w")
        end
    end
    echo $path
end`);
  lines.push(`function __agentsecrets_subcommands
    switch $argv[1]
${nodes
  .filter((n) => n.subcommands.length > 0)
  .map(
    (n) =>
      `        case ${quote(n.path.join(' '))}\n            printf '%s\\n' ${n.subcommands.map((s) => quote(s.name)).join(' ')}`,
  )
  .join('\n')}
    end
end`);
  for (const n of nodes) {
    const at = `-n ${quote(`test (__agentsecrets_path) = ${quote(n.path.join(' '))}`)}`;
    for (const s of n.subcommands)
      lines.push(`complete -c ${bin} ${at} -a ${quote(s.name)} -d ${quote(firstLine(s.description))}`);
    for (const o of n.options) {
      const flags = o.flags
        .map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`))
        .join(' ');
      lines.push(`complete -c ${bin} ${at} ${flags} -d ${quote(firstLine(o.description))}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `completion bash|zsh|fish`: a completion script generated from the command tree `root()` returns. */
export function completionCommand(ctx: Context, root: () => Command): Command {
  return new CommanderCommand('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      '\nInstall:\n  bash: agentsecrets completion bash > ~/.local/share/bash-completion/completions/agentsecrets\n  zsh:  agentsecrets completion zsh > ~/.zfunc/_agentsecrets  (with ~/.zfunc on $fpath)\n  fish: agentsecrets completion fish > ~/.config/fish/completions/agentsecrets.fish',
    )
    .action((shell: string) => {
      const nodes = walk(root());
      const bin = root().name();
      if (shell === 'bash') ctx.io.stdout.write(bash(bin, nodes));
      else if (shell === 'zsh') ctx.io.stdout.write(zsh(bin, nodes));
      else if (shell === 'fish') ctx.io.stdout.write(fish(bin, nodes));
      else throw usage(`no completion for the shell ${shell}`, `use one of ${SHELLS.join(', ')}`);
    });
}
