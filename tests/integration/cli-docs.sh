#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cli-docs.sh SOURCE_DIR BUILD_DIR NAME=PROGRAM...: what every tool ships
# beside itself (docs/cli.md), for each NAME given (the tools integration.cli
# checks):
#   - a man page: man/NAME.N.scd, built by scdoc into BUILD_DIR/man/NAME.N
#     (skipped, with a note, in a build without scdoc), installed by
#     `cmake --install`, listed in a debian/*.install with the program;
#   - bash completion (completion/otaroot.bash): registered for NAME,
#     installed by `cmake --install` and listed in debian/*.install; it
#     offers --help and --version, and for a tool with commands, commands
#     that the tool accepts (COMMAND --help: exit 0, the command's usage).
set -uo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib/tally.sh"
src=$(realpath "${1:?usage: cli-docs.sh SOURCE_DIR BUILD_DIR NAME=PROGRAM...}")
build=$(realpath "${2:?usage: cli-docs.sh SOURCE_DIR BUILD_DIR NAME=PROGRAM...}")
shift 2
work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT
cd "$work"

# Each tool under its own name on PATH, for the completion (which runs
# COMP_WORDS[0] --help): PROGRAM may be an emulator wrapper.
mkdir bin
for arg; do
	printf '#!/bin/sh\nexec %s "$@"\n' "${arg#*=}" >"bin/${arg%%=*}"
	chmod +x "bin/${arg%%=*}"
done
PATH=$work/bin:$PATH

check "cmake --install" env DESTDIR="$work/inst" cmake --install "$build" --prefix /usr
inst=$work/inst/usr
built_man=yes
[ -d "$build/man" ] && ls "$build"/man/*.[158] >/dev/null 2>&1 || {
	built_man=no
	echo "note: no man pages in $build/man (built without scdoc): built and installed pages not checked"
}

. "$src/completion/otaroot.bash"

# complete_words WORD... CUR: what the completion offers for CUR after WORD...
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_otaroot
	printf '%s\n' "${COMPREPLY[@]}"
}

for arg; do
	name=${arg%%=*}
	page=$(cd "$src/man" && ls "$name".[158].scd 2>/dev/null | head -1)
	page=${page%.scd}
	if [ -z "$page" ]; then
		bad "$name: man page" "no man/$name.N.scd"
	else
		sec=${page##*.}
		ok "$name: man page source man/$page.scd"
		grep -q "^$name($sec) " "$src/man/$page.scd" || bad "$name: man page" "man/$page.scd does not start with '$name($sec)'"
		grep -qw "$page" "$src/man/CMakeLists.txt" || bad "$name: man page" "$page not in man/CMakeLists.txt's OTA_MAN_PAGES"
		if [ "$built_man" = yes ]; then
			check "$name: $page built by scdoc" grep -q "^\.TH \"$name\" \"$sec\"" "$build/man/$page"
			check "$name: $page installed by cmake" test -s "$inst/share/man/man$sec/$page"
		fi
		check "$name: $page in debian/*.install" grep -qx "usr/share/man/man$sec/$page" "$src"/debian/*.install
	fi
	check "$name: program in debian/*.install" grep -qE "^(usr/)?s?bin/$name\$" "$src"/debian/*.install
	check "$name: completion installed by cmake" test -s "$inst/share/bash-completion/completions/$name"
	check "$name: completion in debian/*.install" grep -qx "usr/share/bash-completion/completions/$name" "$src"/debian/*.install
	if complete -p "$name" 2>/dev/null | grep -q _otaroot; then
		ok "$name: completion registered"
	else
		bad "$name: completion" "completion/otaroot.bash does not register it (complete -F _otaroot)"
	fi
	opts=$(complete_words "$name" --)
	if grep -qx -- --help <<<"$opts" && grep -qx -- --version <<<"$opts"; then
		ok "$name: completion offers --help and --version"
	else
		bad "$name: completion of --" "got: $(tr '\n' ' ' <<<"$opts")"
	fi
	[ "$name" = ota-init ] && continue
	cmds=$(complete_words "$name" "")
	if [ -z "$cmds" ]; then
		bad "$name: completion of commands" "none offered"
		continue
	fi
	for cmd in $cmds; do
		if "$name" "$cmd" --help 2>/dev/null | grep -q "^Usage: $name $cmd"; then
			ok "$name: completion offers '$cmd', a command"
		else
			bad "$name: completion of commands" "'$cmd' offered, but '$name $cmd --help' is not its usage"
		fi
	done
done
tally_end
