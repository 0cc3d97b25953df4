#pragma once
/// JsonWriter: appends compact JSON to a caller-owned std::string, in the
/// order fields are written (EVE consumers and golden files read better with
/// a fixed order). Numbers use the shortest text that round-trips, so output
/// is byte-identical across runs; NaN and infinities become null.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace edgesense::output {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& beginObject() {
    sep();
    out_ += '{';
    first_ = true;
    return *this;
  }
  JsonWriter& endObject() {
    out_ += '}';
    first_ = false;
    return *this;
  }
  JsonWriter& beginArray() {
    sep();
    out_ += '[';
    first_ = true;
    return *this;
  }
  JsonWriter& endArray() {
    out_ += ']';
    first_ = false;
    return *this;
  }

  JsonWriter& key(std::string_view k) {
    sep();
    string(k);
    out_ += ':';
    first_ = true;  // the value that follows takes no comma
    return *this;
  }
  JsonWriter& value(std::string_view s) {
    sep();
    string(s);
    return *this;
  }
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b) {
    sep();
    out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& value(std::uint64_t v) {
    sep();
    append(v);
    return *this;
  }
  JsonWriter& value(std::int64_t v) {
    sep();
    append(v);
    return *this;
  }
  JsonWriter& value(std::uint32_t v) { return value(std::uint64_t{v}); }
  JsonWriter& value(int v) { return value(std::int64_t{v}); }
  JsonWriter& value(double v) {
    sep();
    if (!std::isfinite(v)) {
      out_ += "null";
    } else {
      append(v);
    }
    return *this;
  }
  JsonWriter& null() {
    sep();
    out_ += "null";
    return *this;
  }
  /// A value already formatted as JSON.
  JsonWriter& raw(std::string_view json) {
    sep();
    out_ += json;
    return *this;
  }

  template <class T>
  JsonWriter& field(std::string_view k, const T& v) {
    return key(k).value(v);
  }

 private:
  static bool needsNoEscape(char c) noexcept {
    return static_cast<unsigned char>(c) >= 0x20 && c != '"' && c != '\\';
  }
  void sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  template <class T>
  void append(T v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void string(std::string_view s) {
    out_ += '"';
    // Names and most values need no escape: append them whole.
    std::size_t plain = 0;
    while (plain < s.size() && needsNoEscape(s[plain])) ++plain;
    out_.append(s.data(), plain);
    s.remove_prefix(plain);
    for (char c : s) {
      switch (c) {
        case '"':
          out_ += "\\\"";
          break;
        case '\\':
          out_ += "\\\\";
          break;
        case '\n':
          out_ += "\\n";
          break;
        case '\r':
          out_ += "\\r";
          break;
        case '\t':
          out_ += "\\t";
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            out_ += "\\u00";
            out_ += kHex[(c >> 4) & 0xf];
            out_ += kHex[c & 0xf];
          } else {
            out_ += c;
          }
      }
    }
    out_ += '"';
  }

  std::string& out_;
  bool first_ = true;
};

}  // namespace edgesense::output
