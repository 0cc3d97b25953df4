// Start-up, between opening the capture handles (the one step that needs
// root or CAP_NET_RAW) and everything else: the pid file, then the switch to
// the service user with no capability left.

#include "privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace edgesense::daemon {
namespace {

std::runtime_error failure(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

void setCapabilities(const __user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capset, &header, data) != 0) throw failure("clearing capabilities");
}

}  // namespace

RunAs resolveRunAs(const config::RunConfig& run) {
  RunAs as;
  as.user = run.user;
  as.group = run.group;
  as.uid = getuid();
  as.gid = getgid();
  std::vector<char> buffer(16384);
  if (!run.user.empty()) {
    passwd pw{};
    passwd* found = nullptr;
    const int rc = getpwnam_r(run.user.c_str(), &pw, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
      throw std::runtime_error("run.user " + run.user + ": " +
                               (rc != 0 ? std::strerror(rc) : "no such user"));
    }
    as.uid = pw.pw_uid;
    as.gid = pw.pw_gid;
  }
  if (!run.group.empty()) {
    group gr{};
    group* found = nullptr;
    const int rc = getgrnam_r(run.group.c_str(), &gr, buffer.data(), buffer.size(), &found);
    if (found == nullptr) {
      throw std::runtime_error("run.group " + run.group + ": " +
                               (rc != 0 ? std::strerror(rc) : "no such group"));
    }
    as.gid = gr.gr_gid;
  }
  return as;
}

void dropPrivileges(const RunAs& as) {
  // Nothing executed from here on can gain privileges (setuid binaries,
  // file capabilities).
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw failure("setting no_new_privs");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    throw failure("clearing ambient capabilities");
  // The bounding set needs CAP_SETPCAP, so it goes while we may still hold
  // it; without it (started unprivileged) it stays, harmless once the
  // permitted set is empty and no_new_privs is set.
  for (int cap = 0; cap < 64; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0) break;  // past the kernel's last
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EPERM)
      throw failure("dropping capability " + std::to_string(cap) + " from the bounding set");
  }
  const bool switch_group = !as.user.empty() || !as.group.empty();
  if (switch_group && (getgid() != as.gid || getegid() != as.gid)) {
    const std::string who =
        as.group.empty() ? "the group of run.user " + as.user : "run.group " + as.group;
    if (setgroups(1, &as.gid) != 0) throw failure("switching to " + who + " (setgroups)");
    if (setresgid(as.gid, as.gid, as.gid) != 0) throw failure("switching to " + who);
  }
  if (!as.user.empty() && (getuid() != as.uid || geteuid() != as.uid)) {
    if (setresuid(as.uid, as.uid, as.uid) != 0) throw failure("switching to run.user " + as.user);
  }
  const __user_cap_data_struct none[2] = {};
  setCapabilities(none);
  // Check: nothing left in effective or permitted.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct now[2] = {};
  if (syscall(SYS_capget, &header, now) != 0) throw failure("reading capabilities");
  if ((now[0].effective | now[1].effective | now[0].permitted | now[1].permitted) != 0)
    throw std::runtime_error("capabilities are still held after dropping them");
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;
  std::FILE* fp = std::fopen(path_.c_str(), "w");
  if (fp == nullptr) throw failure("run.pid_file " + path_);
  std::fprintf(fp, "%d\n", static_cast<int>(getpid()));
  if (std::fclose(fp) != 0) throw failure("run.pid_file " + path_);
}

PidFile::~PidFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace edgesense::daemon
