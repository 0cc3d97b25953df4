// Output thread: alert classes and per-(source, class) aggregation.

#include "output/alerts.h"

#include <cstring>

namespace edgesense::output {

AlertClass alertClass(std::string_view name, std::size_t class_index) {
  AlertClass c;
  c.name = std::string(name);
  // MITRE ATT&CK (attack.mitre.org): Discovery / Network Service Discovery;
  // Impact / Network Denial of Service and Endpoint Denial of Service;
  // Credential Access / Brute Force.
  if (name == "scan") {
    c = {c.name,
         9000001,
         "edgesense attack model: port scan",
         "Detection of a Network Scan",
         3,
         "TA0007",
         "Discovery",
         "T1046",
         "Network Service Discovery"};
  } else if (name == "dos") {
    c = {c.name,
         9000002,
         "edgesense attack model: flood",
         "Detection of a Denial of Service Attack",
         2,
         "TA0040",
         "Impact",
         "T1498",
         "Network Denial of Service",
         true};
  } else if (name == "bruteforce") {
    c = {c.name,
         9000003,
         "edgesense attack model: brute-force login",
         "Attempted User Privilege Gain",
         1,
         "TA0006",
         "Credential Access",
         "T1110",
         "Brute Force"};
  } else if (name == "slowdos") {
    c = {c.name,
         9000004,
         "edgesense attack model: slow HTTP denial of service",
         "Detection of a Denial of Service Attack",
         2,
         "TA0040",
         "Impact",
         "T1499",
         "Endpoint Denial of Service",
         true};
  } else if (name == "anomaly") {
    c = {c.name,
         9000100,
         "edgesense anomaly model: flow unlike the benign baseline",
         "Potentially Bad Traffic",
         2,
         "",
         "",
         "",
         ""};
  } else {
    c.signature_id = 9000010 + static_cast<std::uint32_t>(class_index);
    c.signature = "edgesense attack model: " + c.name;
    c.category = "Misc Attack";
  }
  return c;
}

std::size_t AlertAggregator::KeyHash::operator()(const Key& k) const noexcept {
  std::uint64_t w[2];
  std::memcpy(w, k.src.bytes.data(), 16);
  std::size_t h = std::hash<std::string>{}(k.class_name);
  for (std::uint64_t x : w) h = (h ^ x) * 0x100000001b3ULL;
  return h;
}

bool AlertAggregator::onAlert(const decode::IpAddress& address, std::string_view class_name,
                              decode::TimeUs ts, const inference::ScoredRecord& record) {
  if (ts > clock_) clock_ = ts;
  Key key{address, std::string(class_name)};
  auto it = open_.find(key);
  if (it != open_.end()) {
    ++it->second.suppressed;
    it->second.last = record;
    return false;
  }
  if (open_.size() >= max_windows_) {
    // The oldest window opened first, and its end is the first in ends_.
    close(ends_.front().second, clock_, evicted_follow_ups_);
    ends_.pop_front();
    ++evicted_;
  }
  open_.emplace(key, Window{clock_, 0, {}});
  ends_.emplace_back(clock_ + window_us_, std::move(key));
  return true;
}

void AlertAggregator::close(const Key& key, decode::TimeUs end, std::vector<FollowUp>& out) {
  auto it = open_.find(key);
  if (it == open_.end()) return;
  if (it->second.suppressed > 0) {
    out.push_back(
        {std::move(it->second.last), key.class_name, it->second.suppressed, it->second.start, end});
  }
  open_.erase(it);
}

void AlertAggregator::takeEvicted(std::vector<FollowUp>& out) {
  for (FollowUp& f : evicted_follow_ups_) out.push_back(std::move(f));
  evicted_follow_ups_.clear();
}

void AlertAggregator::expire(decode::TimeUs ts, std::vector<FollowUp>& out) {
  if (ts > clock_) clock_ = ts;
  takeEvicted(out);
  // Windows open in clock order, so their ends are in order too.
  while (!ends_.empty() && ends_.front().first <= clock_) {
    close(ends_.front().second, ends_.front().first, out);
    ends_.pop_front();
  }
}

void AlertAggregator::flushAll(std::vector<FollowUp>& out) {
  takeEvicted(out);
  while (!ends_.empty()) {
    close(ends_.front().second, ends_.front().first, out);
    ends_.pop_front();
  }
}

}  // namespace edgesense::output
