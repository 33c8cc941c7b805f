# SPDX-License-Identifier: Apache-2.0
# Shell functions shared by the otaroot board scripts (sourced, POSIX sh).
# Buildroot runs post-build and post-image scripts with BR2_CONFIG, HOST_DIR,
# TARGET_DIR, BINARIES_DIR, BUILD_DIR and BR2_EXTERNAL_OTAROOT_PATH set.

ME=${ME:-otaroot}
say() { printf '%s: %s\n' "$ME" "$*"; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

need_env() {
	for v in "$@"; do
		eval "val=\${$v:-}"
		[ -n "$val" ] || die "$v is not set (run from Buildroot, or set it as docs/buildroot.md shows)"
	done
}

# br2_option NAME: the value of NAME in $BR2_CONFIG without quotes, with
# $(BR2_EXTERNAL_OTAROOT_PATH) expanded; empty if unset.
br2_option() {
	[ -n "${BR2_CONFIG:-}" ] && [ -f "$BR2_CONFIG" ] || return 0
	sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$BR2_CONFIG" |
		sed "s|\$(BR2_EXTERNAL_OTAROOT_PATH)|${BR2_EXTERNAL_OTAROOT_PATH:-}|g"
}

# ini_get FILE SECTION KEY: a value from a configuration file (docs/configuration.md,
# "Configuration file syntax": '#' and ';'
# start comment lines, ' ;' an inline comment).
ini_get() {
	awk -v want_sec="$2" -v want_key="$3" '
		/^[ \t]*[#;]/ { next }
		/^[ \t]*\[/ { sec = $0; sub(/^[ \t]*\[/, "", sec); sub(/\].*$/, "", sec); next }
		sec == want_sec {
			line = $0
			if (match(line, /^[ \t]*[^=]+=/) == 0) next
			key = substr(line, 1, RLENGTH - 1); gsub(/[ \t]/, "", key)
			if (key != want_key) next
			val = substr(line, RLENGTH + 1)
			sub(/[ \t]+;.*$/, "", val); sub(/^[ \t]+/, "", val); sub(/[ \t]+$/, "", val)
			print val; exit
		}' "$1"
}

# board_post_build BOARD_DIR FLOW [TARGET_DIR]: what every board's post-build
# starts with: the common steps (board/common/post-build.sh) on TARGET_DIR
# (else $TARGET_DIR), then a check that the target's system.conf, set in
# $conf, uses FLOW, the boot flow this board boots with.
board_post_build() {
	TARGET_DIR=${3:-${TARGET_DIR:-}}
	need_env TARGET_DIR
	"$1/../common/post-build.sh" "$TARGET_DIR"
	conf="$TARGET_DIR/etc/ota/system.conf"
	type=$(ini_get "$conf" bootflow type)
	[ "$type" = "$2" ] || die "$conf: [bootflow] type is '$type', this board boots with $2"
}

# Puts Buildroot's host tools first, as Buildroot itself does.
use_host_tools() {
	PATH="$HOST_DIR/bin:$HOST_DIR/sbin:$PATH"
	export PATH
}

# run_genimage CONFIG: genimage with images from BINARIES_DIR into BINARIES_DIR.
run_genimage() {
	command -v genimage >/dev/null || die "genimage not found: enable BR2_PACKAGE_HOST_GENIMAGE"
	tmp="${BUILD_DIR:-$BINARIES_DIR/..}/genimage.tmp"
	root=$(mktemp -d)
	rm -rf "$tmp"
	genimage --rootpath "$root" --tmppath "$tmp" --inputpath "$BINARIES_DIR" \
		--outputpath "$BINARIES_DIR" --config "$1" || { rm -rf "$root"; die "genimage failed on $1"; }
	rm -rf "$root" "$tmp"
}

# signing_key: sets key, cert and chain for signing update bundles from
# OTAROOT_SIGNING_KEY, OTAROOT_SIGNING_CERT (and OTAROOT_SIGNING_CHAIN), else
# BR2_PACKAGE_HOST_OTAROOT_SIGNING_{KEY,CERT,CHAIN}; dies naming what to set.
signing_key() {
	key=${OTAROOT_SIGNING_KEY:-$(br2_option BR2_PACKAGE_HOST_OTAROOT_SIGNING_KEY)}
	cert=${OTAROOT_SIGNING_CERT:-$(br2_option BR2_PACKAGE_HOST_OTAROOT_SIGNING_CERT)}
	chain=${OTAROOT_SIGNING_CHAIN:-$(br2_option BR2_PACKAGE_HOST_OTAROOT_SIGNING_CHAIN)}
	[ -n "$key" ] && [ -n "$cert" ] || die "no signing key for the update bundle: set OTAROOT_SIGNING_KEY and OTAROOT_SIGNING_CERT (or BR2_PACKAGE_HOST_OTAROOT_SIGNING_KEY/_CERT), or OTAROOT_BUNDLE=no to make none"
	[ -r "$key" ] || die "signing key '$key' not readable"
	[ -r "$cert" ] || die "signing certificate '$cert' not readable"
	[ -z "$chain" ] || [ -r "$chain" ] || die "certificate chain '$chain' not readable"
}

# system_identity: sets compatible and version from the target's system.conf
# (post-build.sh filled in the version).
system_identity() {
	conf="$TARGET_DIR/etc/ota/system.conf"
	[ -f "$conf" ] || die "$conf missing: set BR2_PACKAGE_OTAROOT_SYSTEM_CONF"
	compatible=$(ini_get "$conf" system compatible)
	version=$(ini_get "$conf" system version)
	[ -n "$compatible" ] && [ -n "$version" ] || die "$conf: [system] compatible and version are required"
	case $version in *@VERSION@*) die "$conf: version not filled in (post-build.sh did not run?)" ;; esac
}

# verify_bundle OUT: the bundle BINARIES_DIR/OUT verifies against the image's
# keyring (a device would refuse it otherwise).
verify_bundle() {
	keyring="$TARGET_DIR/etc/ota/keyring.pem"
	if [ -f "$keyring" ]; then
		"$HOST_DIR/bin/ota-bundle" verify --keyring "$keyring" --compatible "$compatible" "$BINARIES_DIR/$1" ||
			die "$1 does not verify against the image's keyring $keyring: the device would refuse it"
	else
		say "no /etc/ota/keyring.pem in the image: $1 not checked against it"
	fi
	say "update bundle $BINARIES_DIR/$1 ($compatible $version)"
}

# make_bundle OUT CLASS=IMAGE...: a signed update bundle of the images (paths
# relative to BINARIES_DIR) with compatible and version from the target's
# system.conf, signed as signing_key says. OTAROOT_BUNDLE=no skips it.
make_bundle() {
	out=$1; shift
	if [ "${OTAROOT_BUNDLE:-yes}" = no ]; then
		say "OTAROOT_BUNDLE=no: no update bundle"
		return 0
	fi
	system_identity
	bundler="$HOST_DIR/bin/ota-bundle"
	[ -x "$bundler" ] || die "$bundler missing: enable BR2_PACKAGE_HOST_OTAROOT"
	signing_key

	ini="$BINARIES_DIR/bundle.ini"
	{
		echo "[bundle]"
		echo "compatible = $compatible"
		echo "version = $version"
		for spec in "$@"; do
			class=${spec%%=*} image=${spec#*=}
			[ -f "$BINARIES_DIR/$image" ] || die "$BINARIES_DIR/$image missing (payload '$class')"
			echo "[image.$class]"
			echo "file = $image"
		done
	} > "$ini"
	set -- --key "$key" --cert "$cert"
	[ -n "$chain" ] && set -- "$@" --chain "$chain"
	"$bundler" create "$@" "$ini" "$BINARIES_DIR/$out" || die "ota-bundle create failed"
	verify_bundle "$out"
}
