#pragma once
/// Giving up root once the capture handles are open, and the pid file.
/// Called by the daemon's main thread at start-up, before any other thread
/// exists (setuid and friends apply to the calling thread under glibc's
/// broadcast, but capabilities dropped after threads start would not be).

#include <sys/types.h>

#include <string>

#include "config/config.h"

namespace edgesense::daemon {

/// Who to become: run.user and run.group looked up (the user's primary group
/// when run.group is empty).
struct RunAs {
  std::string user;   // empty: keep the current user
  std::string group;  // empty: keep the current group
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Throws std::runtime_error ("run.user edgesense: no such user") if a
/// named user or group does not exist.
RunAs resolveRunAs(const config::RunConfig& run);

/// Switches group and user (supplementary groups: only that group), sets
/// no_new_privs and clears every capability: ambient, bounding (where
/// allowed), permitted, effective, inheritable. Throws std::runtime_error
/// saying which step failed.
void dropPrivileges(const RunAs& as);

/// Writes the process id on construction (throws naming the file), removes
/// the file on destruction. An empty path is no file.
class PidFile {
 public:
  explicit PidFile(std::string path);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

 private:
  std::string path_;
};

}  // namespace edgesense::daemon
