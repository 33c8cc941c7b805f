# SPDX-License-Identifier: Apache-2.0
# Every package of the otaroot tree.
include $(sort $(wildcard $(BR2_EXTERNAL_OTAROOT_PATH)/package/*/*.mk))
