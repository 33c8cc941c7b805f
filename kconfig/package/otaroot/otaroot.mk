# SPDX-License-Identifier: Apache-2.0
################################################################################
#
# otaroot
#
################################################################################

# The sources are this tree's parent directory: kconfig/ lives inside the
# otaroot checkout. Keep the version in step with project() in CMakeLists.txt.
OTAROOT_VERSION = 0.1.0
OTAROOT_SITE = $(BR2_EXTERNAL_OTAROOT_PATH)/..
OTAROOT_SITE_METHOD = local
OTAROOT_LICENSE = Apache-2.0
OTAROOT_LICENSE_FILES = LICENSE
# SITE_METHOD local rsyncs like OVERRIDE_SRCDIR: never copy a developer's
# build tree into output/build (.git is excluded by Buildroot itself).
OTAROOT_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude /build

OTAROOT_DEPENDENCIES = \
	host-pkgconf \
	$(if $(BR2_PACKAGE_UTIL_LINUX_LIBS),util-linux-libs,util-linux) \
	libinih \
	json-c

# ota-init is PID 1 and static: link it against the staging dir's static
# archives (BR2_STATIC_LIBS or BR2_SHARED_STATIC_LIBS), found by pkg-config.
# No tests, no sanitizers, no -Werror with a compiler we have not seen.
OTAROOT_CONF_OPTS = \
	-DOTA_BUILD_INIT=ON \
	-DOTA_BUILD_BUNDLE=OFF \
	-DOTA_BUILD_TESTS=OFF \
	-DOTA_SANITIZE=OFF \
	-DOTA_WERROR=OFF \
	-DOTA_STATIC_FROM_SYSROOT=ON \
	-DOTA_INIT_INSTALL_DIR=/sbin \
	-DOTA_BUILD_MAN=OFF

ifeq ($(BR2_PACKAGE_OTAROOT_UPDATE),y)
OTAROOT_DEPENDENCIES += zstd openssl libcurl
OTAROOT_CONF_OPTS += -DOTA_BUILD_UPDATE=ON
else
OTAROOT_CONF_OPTS += -DOTA_BUILD_UPDATE=OFF
endif

# Configuration files from the board (Config.in: BR2_PACKAGE_OTAROOT_*_CONF).
OTAROOT_SYSTEM_CONF = $(call qstrip,$(BR2_PACKAGE_OTAROOT_SYSTEM_CONF))
OTAROOT_STATE_CONF = $(call qstrip,$(BR2_PACKAGE_OTAROOT_STATE_CONF))
OTAROOT_LAYOUT_CONF = $(call qstrip,$(BR2_PACKAGE_OTAROOT_LAYOUT_CONF))
OTAROOT_KEYRING = $(call qstrip,$(BR2_PACKAGE_OTAROOT_KEYRING))
OTAROOT_BOOTFLOW = $(call qstrip,$(BR2_PACKAGE_OTAROOT_BOOTFLOW))

define OTAROOT_INSTALL_CONFIG_FILES
	if [ -n "$(OTAROOT_SYSTEM_CONF)" ]; then \
		$(INSTALL) -D -m 0644 $(OTAROOT_SYSTEM_CONF) $(TARGET_DIR)/etc/ota/system.conf && \
		$(OTAROOT_PKGDIR)/check-bootflow.sh $(TARGET_DIR)/etc/ota/system.conf $(OTAROOT_BOOTFLOW); \
	fi
	if [ -n "$(OTAROOT_STATE_CONF)" ]; then \
		$(INSTALL) -D -m 0644 $(OTAROOT_STATE_CONF) $(TARGET_DIR)/etc/ota/state.conf; \
	fi
	if [ -n "$(OTAROOT_LAYOUT_CONF)" ]; then \
		$(INSTALL) -D -m 0644 $(OTAROOT_LAYOUT_CONF) $(TARGET_DIR)/etc/ota/layout.conf; \
	fi
	if [ -n "$(OTAROOT_KEYRING)" ]; then \
		$(INSTALL) -D -m 0644 $(OTAROOT_KEYRING) $(TARGET_DIR)/etc/ota/keyring.pem; \
	fi
endef
OTAROOT_POST_INSTALL_TARGET_HOOKS += OTAROOT_INSTALL_CONFIG_FILES

# Host: ota-image (the QEMU x86_64 board's disk image and bundle: its
# post-image.sh), ota-bundle (the other boards' update bundle) and
# ota-grubenv. ota-image writes the GPT with libfdisk: host-util-linux
# builds it with BR2_PACKAGE_HOST_UTIL_LINUX (Config.in.host selects it).
# No ota-init, so no static libraries; no man pages on either side (they
# would need host scdoc).
HOST_OTAROOT_DEPENDENCIES = \
	host-pkgconf \
	host-util-linux \
	host-libinih \
	host-zstd \
	host-openssl \
	host-libcurl \
	host-json-c

HOST_OTAROOT_CONF_OPTS = \
	-DOTA_BUILD_INIT=OFF \
	-DOTA_BUILD_UPDATE=OFF \
	-DOTA_BUILD_BUNDLE=ON \
	-DOTA_BUILD_IMAGE=ON \
	-DOTA_BUILD_TESTS=OFF \
	-DOTA_SANITIZE=OFF \
	-DOTA_WERROR=OFF \
	-DOTA_BUILD_MAN=OFF

$(eval $(cmake-package))
$(eval $(host-cmake-package))
