# Install layout and the Debian package (CPack DEB).
#
# Laid out for CMAKE_INSTALL_PREFIX=/usr, as scripts/package configures it:
#   /usr/bin/edgesense
#   /lib/systemd/system/edgesense.service      (Debian's unit directory for packages)
#   /etc/edgesense/edgesense.yaml              (conffile: config/edgesense.yaml as generated)
#   /etc/logrotate.d/edgesense                 (conffile)
#   /usr/share/edgesense/models/{reel,attack,anomaly}
#   /usr/share/doc/edgesense/                  (README, CHANGELOG.md, docs, Debian's copyright and changelog.gz)
#   /usr/share/man/man1/edgesense.1.gz
# The unit names /usr/bin/edgesense and /etc/edgesense, so another prefix
# installs a binary the unit does not start. Try an install without root
# into a staging tree: DESTDIR=/tmp/stage cmake --install build-package
# The package's maintainer scripts (packaging/debian/) make the `edgesense`
# user and group and link /var/lib/edgesense/models, inference.models_dir's
# default, to the shipped bundles.

include(GNUInstallDirs)

# The config keeps its generated defaults as installed: models_dir
# /var/lib/edgesense/models (postinst links it to the shipped bundles),
# sinks /var/log/edgesense/eve.json (LogsDirectory=), run.user edgesense.
# Debian puts /etc beside a /usr prefix: GNUInstallDirs' SYSCONFDIR.
set(EDGESENSE_SYSCONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}")
set(EDGESENSE_UNITDIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")

install(TARGETS edgesense RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/systemd/edgesense.service DESTINATION ${EDGESENSE_UNITDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/edgesense.yaml DESTINATION ${EDGESENSE_SYSCONFDIR}/edgesense)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/edgesense.logrotate
  DESTINATION ${EDGESENSE_SYSCONFDIR}/logrotate.d RENAME edgesense)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/reel ${PROJECT_SOURCE_DIR}/models/attack
  ${PROJECT_SOURCE_DIR}/models/anomaly
  DESTINATION ${CMAKE_INSTALL_DATADIR}/edgesense/models)
install(FILES ${PROJECT_SOURCE_DIR}/models/runs.jsonl
  DESTINATION ${CMAKE_INSTALL_DATADIR}/edgesense/models)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/models/eval
  DESTINATION ${CMAKE_INSTALL_DATADIR}/edgesense/models)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/eve.schema.json DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# Debian's documentation files: the machine-readable copyright file (DEP-5)
# and the package's changelog, gzip -9n as Debian policy 12.7 asks. The
# package is native (its version has no Debian revision: the project packages
# itself), so the changelog is changelog.gz. Its top entry must be this
# version: the version has one source, project(VERSION), and this checks the
# changelog keeps up with it.
set(edgesense_changelog ${PROJECT_SOURCE_DIR}/packaging/changelog)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${edgesense_changelog})
file(STRINGS ${edgesense_changelog} edgesense_changelog_top LIMIT_COUNT 1)
if(NOT edgesense_changelog_top MATCHES "^edgesense \\(${PROJECT_VERSION}\\) ")
  message(FATAL_ERROR "packaging/changelog: the top entry is '${edgesense_changelog_top}', "
    "not version ${PROJECT_VERSION} (project(VERSION) in CMakeLists.txt): add an entry")
endif()
file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/packaging)
set(edgesense_manpage ${PROJECT_SOURCE_DIR}/packaging/edgesense.1)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${edgesense_manpage})
foreach(gz changelog edgesense.1)
  execute_process(COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/packaging/${gz}
    OUTPUT_FILE ${CMAKE_CURRENT_BINARY_DIR}/packaging/${gz}.gz
    RESULT_VARIABLE edgesense_gzip_result)
  if(NOT edgesense_gzip_result EQUAL 0)
    message(FATAL_ERROR "gzip of packaging/${gz} failed: ${edgesense_gzip_result}")
  endif()
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright ${CMAKE_CURRENT_BINARY_DIR}/packaging/changelog.gz
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/packaging/edgesense.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
  FILES_MATCHING PATTERN "*.md")

if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "edgesense: install prefix ${CMAKE_INSTALL_PREFIX}; the systemd unit expects /usr")
endif()

# The Debian package: scripts/package builds it in build-package/.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME edgesense)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "edgesense")
# Debian's Maintainer field: who answers for the package. A distributor who
# builds their own sets -DEDGESENSE_MAINTAINER="Name <address>".
set(EDGESENSE_MAINTAINER "edgesense developers <edgesense@example.org>"
  CACHE STRING "The package's Maintainer field")
set(CPACK_PACKAGE_CONTACT "${EDGESENSE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${EDGESENSE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "packet-capture sensor that scores flows with trained models")
# The body only: CPack puts the summary above it and indents it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "edgesense captures on live interfaces with libpcap, tracks every
bidirectional flow, computes about a hundred per-flow and per-host
features and scores them with XGBoost and isolation-forest models:
short-form video (reel), attack class, anomaly. Verdicts and alerts are
written as EVE JSON; Prometheus metrics are served over HTTP.

This package installs the edgesense binary, a hardened systemd service
(not enabled: choose the interfaces in /etc/edgesense/edgesense.yaml,
then systemctl enable --now edgesense), the shipped models, and a
logrotate snippet.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# adduser: the postinst; procps: /bin/kill in ExecReload.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "logrotate, systemd")
set(CPACK_STRIP_FILES ON)
set(edgesense_conffiles ${CMAKE_CURRENT_BINARY_DIR}/packaging/conffiles)
file(WRITE ${edgesense_conffiles}
  "${EDGESENSE_SYSCONFDIR}/edgesense/edgesense.yaml\n${EDGESENSE_SYSCONFDIR}/logrotate.d/edgesense\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
  ${edgesense_conffiles})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
