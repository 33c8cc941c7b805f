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

# ota_image_setup: the checks before a board's post-image runs the host
# ota-image (host-otaroot) on Buildroot's rootfs.tar; sets image, rootfs,
# conf, layout, keyring, compatible, version and the bundle's signing key
# (sign_key, sign_cert, sign_chain; empty with OTAROOT_BUNDLE=no).
ota_image_setup() {
	image="$HOST_DIR/bin/ota-image"
	rootfs="$BINARIES_DIR/rootfs.tar"
	conf="$TARGET_DIR/etc/ota/system.conf"
	layout="$TARGET_DIR/etc/ota/layout.conf"
	keyring="$TARGET_DIR/etc/ota/keyring.pem"
	[ -x "$image" ] || die "$image missing: enable BR2_PACKAGE_HOST_OTAROOT"
	[ -x "$HOST_DIR/bin/ota-bundle" ] || die "$HOST_DIR/bin/ota-bundle missing: enable BR2_PACKAGE_HOST_OTAROOT"
	[ -f "$rootfs" ] || die "$rootfs missing: enable BR2_TARGET_ROOTFS_TAR (ota-image makes the system slot from it)"
	[ -f "$layout" ] || die "$layout missing: set BR2_PACKAGE_OTAROOT_LAYOUT_CONF"
	[ -f "$keyring" ] || die "$keyring missing: set BR2_PACKAGE_OTAROOT_KEYRING (the CA devices trust)"
	system_identity
	sign_key= sign_cert= sign_chain=
	if [ "${OTAROOT_BUNDLE:-yes}" = no ]; then
		say "OTAROOT_BUNDLE=no: no update bundle"
	else
		signing_key
		sign_key=$key sign_cert=$cert sign_chain=$chain
	fi
}

# layout_size NAME: the size of [partition NAME] in the target's layout.conf
layout_size() {
	size=$(ini_get "$layout" "partition $1" size)
	[ -n "$size" ] || die "$layout: no size in [partition $1]"
	echo "$size"
}

# ota_image_desc_rest: the end of the [image] section and the [system],
# [update] and [bootflow] sections of an image description, on stdout, from
# the target's system.conf and keyring (one source for each value). Every
# other setting of system.conf ([data] options, [hawkbit], ...) is added to
# the one ota-image writes ([image] system-conf); a key that contradicts
# ota-image's is refused by name.
ota_image_desc_rest() {
	echo "system-conf = $conf"
	echo "[system]"
	echo "compatible = $compatible"
	echo "version = $version"
	echo "[update]"
	echo "keyring = $keyring"
	for k in downgrade channel; do
		v=$(ini_get "$conf" update "$k")
		[ -z "$v" ] || echo "$k = $v"
	done
	tries=$(ini_get "$conf" bootflow tries)
	[ -z "$tries" ] || printf '[bootflow]\ntries = %s\n' "$tries"
}

# run_ota_image DESC [OPTION...]: `ota-image build DESC` on rootfs.tar into
# BINARIES_DIR (disk.img, update.otab), as root or under fakeroot (the files
# keep the owners rootfs.tar gives them), with the boot flow's files of the
# otaroot tree this BR2_EXTERNAL belongs to (host-otaroot installs the same)
# and the signing key of ota_image_setup; then checks the bundle.
run_ota_image() {
	desc=$1; shift
	[ -z "$sign_key" ] || set -- "$@" --key "$sign_key" --cert "$sign_cert"
	[ -z "$sign_chain" ] || set -- "$@" --chain "$sign_chain"
	set -- build "$desc" --rootfs "$rootfs" -o "$BINARIES_DIR" --data-dir "$BR2_EXTERNAL_OTAROOT_PATH/../bootflow" "$@"
	rm -f "$BINARIES_DIR/disk.img" "$BINARIES_DIR/update.otab"
	if [ "$(id -u)" = 0 ]; then
		"$image" "$@" || die "ota-image build failed (description $desc)"
	else
		command -v fakeroot >/dev/null || die "fakeroot not found (Buildroot's host-fakeroot makes the root file system images)"
		fakeroot -- "$image" "$@" || die "ota-image build failed (description $desc)"
	fi
	say "disk image $BINARIES_DIR/disk.img (ota-image)"
	if [ "${OTAROOT_BUNDLE:-yes}" = no ]; then
		rm -f "$BINARIES_DIR/update.otab"
	else
		verify_bundle update.otab
	fi
}
