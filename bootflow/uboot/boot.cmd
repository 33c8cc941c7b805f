# otaroot A/B boot script for the uboot boot flow (docs/bootflows.md).
# U-Boot hush; compile with
#   mkimage -A arm -O linux -T script -C none -n otaroot -d boot.cmd boot.scr
#
# State (written by ota-update, counted down here):
#   ota_default  group that boots when no trial runs ("a" if unset)
#   ota_trial    group on trial; unset: none
#   ota_tries    tries left for the trial, hex as setexpr reads and writes it
#   ota_seq      file mode only: which of the two env files is newer (hex)
# Board variables (set in the default env or before `source`):
#   ota_boot_a, ota_boot_b  commands that load and boot that group's kernel;
#                           they see ${bootargs} with ota.group=<group> added
#   file mode only:
#   ota_env_dev, ota_env_part  where the env files are, e.g. mmc / 0:1
#   ota_env_file               the first file (default ota.env; the second
#                              is ${ota_env_file}.bak)
#   ota_addr                   scratch RAM for load/export (default ${loadaddr})
#
# Rules: a trial with tries left is booted after its count is decremented
# and saved (so a hang or reset during the trial still counts); a trial with
# 0 tries is left in place (userspace reports it as failed) and the default
# boots; if the save fails, the default boots.

if test -z "${ota_addr}"; then setenv ota_addr ${loadaddr}; fi
if test -z "${ota_env_file}"; then setenv ota_env_file ota.env; fi

# ---- file mode: import the newer of two `env export -t` files -------------
if test -n "${ota_env_dev}"; then
	setenv ota_f1 ${ota_env_file}
	setenv ota_f2 ${ota_env_file}.bak
	setenv ota_v1
	setenv ota_v2
	# file 2 first, stashed, then file 1
	setenv ota_seq; setenv ota_default; setenv ota_trial; setenv ota_tries
	if load ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_f2}; then
		if env import -t ${ota_addr} ${filesize} ota_default ota_seq ota_trial ota_tries; then
			if test -n "${ota_seq}" && test -n "${ota_default}"; then
				setenv ota_v2 1
				setenv ota_s2 ${ota_seq}; setenv ota_d2 ${ota_default}
				setenv ota_t2 ${ota_trial}; setenv ota_n2 ${ota_tries}
			fi
		fi
	fi
	setenv ota_seq; setenv ota_default; setenv ota_trial; setenv ota_tries
	if load ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_f1}; then
		if env import -t ${ota_addr} ${filesize} ota_default ota_seq ota_trial ota_tries; then
			if test -n "${ota_seq}" && test -n "${ota_default}"; then
				setenv ota_v1 1
			fi
		fi
	fi
	# file 2 wins if file 1 is unusable or file 2's seq is file 1's + 1
	setenv ota_use 1
	if test -n "${ota_v2}"; then
		if test -z "${ota_v1}"; then
			setenv ota_use 2
		else
			setexpr ota_next ${ota_seq} + 1
			if test "${ota_s2}" = "${ota_next}"; then setenv ota_use 2; fi
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
		setenv ota_trial
	fi
fi

# ---- choose ---------------------------------------------------------------
if test -z "${ota_default}"; then setenv ota_default a; fi
setenv ota_boot ${ota_default}
if test -n "${ota_trial}" && test -n "${ota_tries}" && test "${ota_tries}" != "0"; then
	setexpr ota_tries ${ota_tries} - 1
	setenv ota_saved
	if test -n "${ota_env_dev}"; then
		if test -z "${ota_seq}"; then setenv ota_seq 0; fi
		setexpr ota_seq ${ota_seq} + 1
		if env export -t ${ota_addr} ota_default ota_seq ota_trial ota_tries; then
			if fatwrite ${ota_env_dev} ${ota_env_part} ${ota_addr} ${ota_wfile} ${filesize}; then
				setenv ota_saved 1
			fi
		fi
	else
		if saveenv; then setenv ota_saved 1; fi
	fi
	if test -n "${ota_saved}"; then
		setenv ota_boot ${ota_trial}
	else
		echo "ota: cannot save the try count; booting the default ${ota_default}"
	fi
fi

# ---- boot -----------------------------------------------------------------
setenv ota_bootargs0 "${bootargs}"
echo "ota: booting group ${ota_boot} (default ${ota_default}, trial ${ota_trial}, tries ${ota_tries})"
setenv bootargs "${ota_bootargs0} ota.group=${ota_boot}"
run ota_boot_${ota_boot}
# Only reached if that group's boot command failed: the default, once.
if test "${ota_boot}" != "${ota_default}"; then
	echo "ota: group ${ota_boot} did not boot; booting the default ${ota_default}"
	setenv bootargs "${ota_bootargs0} ota.group=${ota_default}"
	run ota_boot_${ota_default}
fi
echo "ota: nothing booted"
