# SPDX-License-Identifier: Apache-2.0
# bash completion for otaroot's tools: ota-init, ota-update, ota-state,
# ota-part, ota-bundle, ota-image, ota-grubenv. Installed once per tool name (bash-
# completion loads a file by the command's name). The commands and options
# come from the tool's own --help (and COMMAND --help), so they cannot drift
# from what the tool accepts (docs/cli.md).

# _otaroot_help TOOL [COMMAND]: the usage text.
_otaroot_help() {
	"$1" ${2:+"$2"} --help 2>/dev/null
}

# _otaroot_commands TOOL HELP: command names, from "  NAME ..." lines and
# "Usage: TOOL NAME ..." lines.
_otaroot_commands() {
	local tool=${1##*/}
	sed -nE -e 's/^  ([a-z][a-z-]*)( .*)?$/\1/p' \
		-e "s/^(Usage:|[[:space:]]+) ?${tool} ([a-z][a-z-]*)( .*)?\$/\\2/p" <<<"$2" | sort -u
}

_otaroot_files() {
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -f -- "$cur"))
}

_otaroot() {
	# COMP_WORDS as is: works without the bash-completion package.
	local cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]} prev=
	local words=("${COMP_WORDS[@]}")
	[ "$cword" -gt 0 ] && prev=${words[cword - 1]}
	local tool=${words[0]} help cmd= i w
	help=$(_otaroot_help "$tool")
	local commands argopts
	commands=$(_otaroot_commands "$tool" "$help")
	# Options followed by an upper-case placeholder take an argument.
	argopts=$(grep -oE -- '--[a-z][a-z-]* [A-Z]' <<<"$help" | cut -d' ' -f1)
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ $w == -* ]]; then
			continue
		elif [ $i -gt 1 ] && grep -qx -- "${words[i - 1]}" <<<"$argopts"; then
			continue
		elif [ -z "$cmd" ] && grep -qx -- "$w" <<<"$commands"; then
			cmd=$w
			help=$(_otaroot_help "$tool" "$cmd")
			argopts=$(grep -oE -- '--[a-z][a-z-]* [A-Z]' <<<"$help" | cut -d' ' -f1)
			break
		fi
	done
	if grep -qx -- "$prev" <<<"$argopts"; then
		_otaroot_files
		return
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(grep -oE -- '(^|[ [,])--[a-z][a-z-]*' <<<"$help" | grep -oE -- '--[a-z-]+' | sort -u)" -- "$cur"))
		return
	fi
	if [ -z "$cmd" ] && [ -n "$commands" ]; then
		COMPREPLY=($(compgen -W "$commands" -- "$cur"))
		return
	fi
	_otaroot_files
}
complete -F _otaroot ota-init ota-update ota-state ota-part ota-bundle ota-image ota-grubenv
