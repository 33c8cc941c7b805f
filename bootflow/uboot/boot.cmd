# otaroot A/B boot script for the uboot boot flow (docs/boot-flows.md).
# U-Boot hush; compile with
#   mkimage -A arm -O linux -T script -C none -n otaroot -d boot.cmd boot.scr
# (prepend the board's settings, below, to this file first if the board's
# default environment does not have them). Runs on U-Boot without `setexpr`
# (Debian's qemu-x86 build has none): all counting is by table look-up.
#
# State (written by ota-update, counted down here):
#   ota_default  group that boots when no trial runs ("a" if unset)
#   ota_trial    group on trial; unset: none
#   ota_tries    tries left for the trial: lowercase hex without 0x, 0..64
#                (100); any other value counts as 0
#   ota_seq      file mode only: which of the two env files is newer, a
#                counter modulo 3 (0, 1, 2): a file is newer iff its ota_seq
#                is the other's + 1 (mod 3)
#   ota_valid    file mode only: ota_seq again, the file's last line (export
#                sorts by name). fatwrite writes the data before the file's
#                size, so a cut can leave new data cut to the old size: such
#                a file lacks its ota_valid and is not used. A file without
#                ota_valid (written by an older ota-update) counts only while
#                the other file has none either.
# Board variables (set in the default env or before this script):
#   ota_boot_a, ota_boot_b  commands that load and boot that group's kernel;
#                           they see ${bootargs} as this script made it and
#                           add the group's root= themselves
#   ota_cmdline             the board's kernel arguments (console=, panic=);
#                           default: ${bootargs} as found
#   file mode only:
#   ota_env_dev, ota_env_part  where the env files are, e.g. mmc / 0:1
#   ota_env_file               the first file (default ota.env; the second
#                              is ${ota_env_file}.bak)
#   ota_addr                   scratch RAM for load/export (default ${loadaddr})
#
# Kernel command line: ${ota_cmdline} ro init=/sbin/ota-init
#   ota.group=<g> ota.slot=<g> and, on a trial boot, ota.trial=1.
#
# Rules: a trial with tries left is booted after its count is decremented
# and saved (so a hang or reset during the trial still counts); a trial with
# 0 tries is left in place (userspace reports it as failed) and the default
# boots; if the save fails, the default boots.

if test -z "${ota_addr}"; then setenv ota_addr ${loadaddr}; fi
if test -z "${ota_env_file}"; then setenv ota_env_file ota.env; fi
if test -z "${ota_cmdline}"; then setenv ota_cmdline "${bootargs}"; fi

# ---- file mode: import the newer of two `env export -t` files -------------
if test -n "${ota_env_dev}"; then
	setenv ota_f1 ${ota_env_file}
	setenv ota_f2 ${ota_env_file}.bak
	setenv ota_v1
	setenv ota_v2
	setenv ota_m1
	setenv ota_m2
	# file 2 first, stashed, then file 1
	setenv ota_seq; setenv ota_default; setenv ota_trial; setenv ota_tries; setenv ota_valid
	if load ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_f2}; then
		if env import -t ${ota_addr} ${filesize} ota_default ota_seq ota_trial ota_tries ota_valid; then
			if test -n "${ota_default}"; then
				for ota_i in 0 1 2; do
					if test "${ota_seq}" = "${ota_i}"; then setenv ota_v2 1; fi
				done
			fi
			if test -n "${ota_valid}"; then
				setenv ota_m2 1
				if test "${ota_valid}" != "${ota_seq}"; then setenv ota_v2; fi
			fi
			if test -n "${ota_v2}"; then
				setenv ota_s2 ${ota_seq}; setenv ota_d2 ${ota_default}
				setenv ota_t2 ${ota_trial}; setenv ota_n2 ${ota_tries}
			fi
		fi
	fi
	setenv ota_seq; setenv ota_default; setenv ota_trial; setenv ota_tries; setenv ota_valid
	if load ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_f1}; then
		if env import -t ${ota_addr} ${filesize} ota_default ota_seq ota_trial ota_tries ota_valid; then
			if test -n "${ota_default}"; then
				for ota_i in 0 1 2; do
					if test "${ota_seq}" = "${ota_i}"; then setenv ota_v1 1; fi
				done
			fi
			if test -n "${ota_valid}"; then
				setenv ota_m1 1
				if test "${ota_valid}" != "${ota_seq}"; then setenv ota_v1; fi
			fi
		fi
	fi
	# a file without ota_valid beside one with it was cut short
	if test -n "${ota_m1}" && test -z "${ota_m2}"; then setenv ota_v2; fi
	if test -n "${ota_m2}" && test -z "${ota_m1}"; then setenv ota_v1; fi
	# file 2 wins if file 1 is unusable or file 2's seq is file 1's + 1
	setenv ota_use 1
	if test -n "${ota_v2}"; then
		if test -z "${ota_v1}"; then
			setenv ota_use 2
		else
			if test "${ota_seq}" = 0 && test "${ota_s2}" = 1; then setenv ota_use 2; fi
			if test "${ota_seq}" = 1 && test "${ota_s2}" = 2; then setenv ota_use 2; fi
			if test "${ota_seq}" = 2 && test "${ota_s2}" = 0; then setenv ota_use 2; fi
		fi
	fi
	if test "${ota_use}" = "2"; then
		setenv ota_seq ${ota_s2}; setenv ota_default ${ota_d2}
		setenv ota_trial ${ota_t2}; setenv ota_tries ${ota_n2}
		setenv ota_wfile ${ota_f1}
	else
		setenv ota_wfile ${ota_f2}
	fi
	if test -z "${ota_v1}" && test -z "${ota_v2}"; then
		echo "ota: no valid ${ota_f1} or ${ota_f2}"
		setenv ota_default
		setenv ota_trial
		setenv ota_seq 0
	fi
fi

# ---- choose ---------------------------------------------------------------
if test -z "${ota_default}"; then setenv ota_default a; fi
setenv ota_boot ${ota_default}
setenv ota_trial_arg
# ota_left: ota_tries - 1, or empty when no tries are left (or ota_tries is
# not one of the values below)
setenv ota_left
setenv ota_prev
for ota_i in 0 1 2 3 4 5 6 7 8 9 a b c d e f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31 32 33 34 35 36 37 38 39 3a 3b 3c 3d 3e 3f 40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50 51 52 53 54 55 56 57 58 59 5a 5b 5c 5d 5e 5f 60 61 62 63 64; do
	if test -n "${ota_prev}" && test "${ota_tries}" = "${ota_i}"; then setenv ota_left ${ota_prev}; fi
	setenv ota_prev ${ota_i}
done
if test -n "${ota_trial}" && test "${ota_trial}" != "${ota_default}" && test -n "${ota_left}"; then
	setenv ota_tries ${ota_left}
	setenv ota_saved
	if test -n "${ota_env_dev}"; then
		if test "${ota_seq}" = 0; then setenv ota_seq 1; elif test "${ota_seq}" = 1; then setenv ota_seq 2; else setenv ota_seq 0; fi
		setenv ota_valid ${ota_seq}
		if env export -t ${ota_addr} ota_default ota_seq ota_trial ota_tries ota_valid; then
			if fatwrite ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_wfile} ${filesize}; then
				setenv ota_saved 1
			fi
		fi
	else
		if saveenv; then setenv ota_saved 1; fi
	fi
	if test -n "${ota_saved}"; then
		setenv ota_boot ${ota_trial}
		setenv ota_trial_arg " ota.trial=1"
	else
		echo "ota: cannot save the try count; booting the default ${ota_default}"
	fi
fi

# ---- boot -----------------------------------------------------------------
if test -n "${ota_trial_arg}"; then
	echo "ota: trial of group ${ota_boot}, ${ota_tries} tries left (default ${ota_default})"
else
	echo "ota: booting group ${ota_boot} (default ${ota_default}, trial ${ota_trial}, tries ${ota_tries})"
fi
setenv bootargs "${ota_cmdline} ro init=/sbin/ota-init ota.group=${ota_boot} ota.slot=${ota_boot}${ota_trial_arg}"
run ota_boot_${ota_boot}
# Only reached if that group's boot command failed: the default, once.
if test "${ota_boot}" != "${ota_default}"; then
	echo "ota: group ${ota_boot} did not boot; booting the default ${ota_default}"
	setenv bootargs "${ota_cmdline} ro init=/sbin/ota-init ota.group=${ota_default} ota.slot=${ota_default}"
	run ota_boot_${ota_default}
fi
echo "ota: nothing booted"
