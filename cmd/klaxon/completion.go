package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// completion prints a shell completion script for bash, zsh or fish:
//
//	source <(klaxon completion bash)       # ~/.bashrc
//	klaxon completion zsh > "${fpath[1]}/_klaxon"
//	klaxon completion fish > ~/.config/fish/completions/klaxon.fish
//
// The verbs and their flags come from the verbs themselves (their -h), so
// the scripts cannot drift from the CLI.
func completion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("completion", stderr)
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	var specs []verbSpec
	for _, v := range verbs {
		specs = append(specs, verbSpec{verb: v, flags: verbFlags(v.name)})
	}
	switch pos[0] {
	case "bash":
		_, err = io.WriteString(stdout, bashCompletion(specs))
	case "zsh":
		_, err = io.WriteString(stdout, zshCompletion(specs))
	case "fish":
		_, err = io.WriteString(stdout, fishCompletion(specs))
	default:
		return usageError{fmt.Sprintf("completion %q: want bash, zsh or fish", pos[0])}
	}
	return err
}

type verbSpec struct {
	verb  verb
	flags []flagSpec
}

type flagSpec struct {
	name, help string
	value      bool // takes a value
}

var flagLineRE = regexp.MustCompile(`^  -(\S+)( \S+)?$`)

// verbFlags reads a verb's flags from its usage (klaxon VERB -h).
func verbFlags(name string) []flagSpec {
	if name == "help" || name == "version" {
		return nil
	}
	var out bytes.Buffer
	_ = run(context.Background(), []string{name, "-h"}, &out, &out)
	var flags []flagSpec
	lines := strings.Split(out.String(), "\n")
	for i, l := range lines {
		m := flagLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		f := flagSpec{name: m[1], value: m[2] != ""}
		if i+1 < len(lines) {
			f.help = strings.TrimSpace(lines[i+1])
			if j := strings.IndexAny(f.help, ";("); j > 0 {
				f.help = strings.TrimSpace(f.help[:j])
			}
		}
		flags = append(flags, f)
	}
	return flags
}

func (f flagSpec) dashed() string {
	if len(f.name) == 1 {
		return "-" + f.name
	}
	return "--" + f.name
}

// words a verb's positional arguments complete to.
func positional(v string) string {
	switch v {
	case "completion":
		return "bash zsh fish"
	case "help":
		return strings.Join(verbNames(), " ")
	}
	return ""
}

func bashCompletion(specs []verbSpec) string {
	var b strings.Builder
	b.WriteString("# klaxon completion for bash: source <(klaxon completion bash)\n_klaxon() {\n")
	b.WriteString("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\" flags= words=\n")
	fmt.Fprintf(&b, "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n    COMPREPLY=( $(compgen -W %q -- \"$cur\") )\n    return\n  fi\n", strings.Join(verbNames(), " "))
	b.WriteString("  case \"${COMP_WORDS[1]}\" in\n")
	for _, s := range specs {
		var fl []string
		for _, f := range s.flags {
			fl = append(fl, f.dashed())
		}
		fmt.Fprintf(&b, "    %s) flags=%q; words=%q ;;\n", s.verb.name, strings.Join(fl, " "), positional(s.verb.name))
	}
	b.WriteString("  esac\n")
	b.WriteString("  if [ \"$prev\" = -c ] || [ \"$prev\" = --c ]; then COMPREPLY=( $(compgen -f -- \"$cur\") ); return; fi\n")
	b.WriteString("  if [ \"$prev\" = -o ] || [ \"$prev\" = --o ]; then COMPREPLY=( $(compgen -W \"text json\" -- \"$cur\") ); return; fi\n")
	b.WriteString("  if [[ \"$cur\" == -* ]]; then COMPREPLY=( $(compgen -W \"$flags\" -- \"$cur\") ); return; fi\n")
	b.WriteString("  if [ -n \"$words\" ]; then COMPREPLY=( $(compgen -W \"$words\" -- \"$cur\") ); else COMPREPLY=( $(compgen -f -- \"$cur\") ); fi\n")
	b.WriteString("}\ncomplete -F _klaxon klaxon\n")
	return b.String()
}

func zshQuote(s string) string {
	return strings.NewReplacer(`'`, `'\''`, `[`, `\[`, `]`, `\]`, `:`, `\:`).Replace(s)
}

func zshCompletion(specs []verbSpec) string {
	var b strings.Builder
	b.WriteString("#compdef klaxon\n# klaxon completion for zsh: klaxon completion zsh > \"${fpath[1]}/_klaxon\"\n_klaxon() {\n  local -a verbs\n  verbs=(\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "    '%s:%s'\n", s.verb.name, zshQuote(s.verb.summary))
	}
	b.WriteString("  )\n  if (( CURRENT == 2 )); then\n    _describe 'verb' verbs\n    return\n  fi\n  case $words[2] in\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "    %s)\n      _arguments", s.verb.name)
		for _, f := range s.flags {
			spec := fmt.Sprintf("'%s[%s]", f.dashed(), zshQuote(f.help))
			switch {
			case f.name == "c":
				spec += ":file:_files"
			case f.name == "o":
				spec += ":format:(text json)"
			case f.value:
				spec += ":" + f.name + ":"
			}
			b.WriteString(" \\\n        " + spec + "'")
		}
		if w := positional(s.verb.name); w != "" {
			fmt.Fprintf(&b, " \\\n        '*:arg:(%s)'", w)
		} else {
			b.WriteString(" \\\n        '*:file:_files'")
		}
		b.WriteString(" ;;\n")
	}
	b.WriteString("  esac\n}\ncompdef _klaxon klaxon\n")
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func fishCompletion(specs []verbSpec) string {
	var b strings.Builder
	b.WriteString("# klaxon completion for fish: klaxon completion fish > ~/.config/fish/completions/klaxon.fish\n")
	b.WriteString("complete -c klaxon -f\n")
	for _, s := range specs {
		fmt.Fprintf(&b, "complete -c klaxon -n __fish_use_subcommand -a %s -d %s\n", s.verb.name, fishQuote(s.verb.summary))
	}
	for _, s := range specs {
		cond := "__fish_seen_subcommand_from " + s.verb.name
		for _, f := range s.flags {
			opt := "-o " + f.name // Go's flags take -name and --name
			if len(f.name) > 1 {
				opt = "-l " + f.name
			}
			extra := ""
			switch {
			case f.name == "c":
				extra = " -r -F"
			case f.name == "o":
				extra = " -x -a 'text json'"
			case f.value:
				extra = " -x"
			}
			fmt.Fprintf(&b, "complete -c klaxon -n %q %s%s -d %s\n", cond, opt, extra, fishQuote(f.help))
		}
		if w := positional(s.verb.name); w != "" {
			fmt.Fprintf(&b, "complete -c klaxon -n %q -a %q\n", cond, w)
		}
	}
	return b.String()
}
