#pragma once
// JsonWriter: the one way JSON text is written by hand. Strings are escaped by default (quotes,
// backslashes and control characters); commas and colons are placed by the writer, so a caller
// names keys and values and cannot produce malformed text by forgetting one. Raw() inserts an
// already-rendered JSON value (a report rendered elsewhere) and is the only unescaped path.
//
// Not thread-safe; one writer per document.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace casewatch {

// Appends `text` as a JSON string literal (with its quotes).
void AppendJsonEscaped(std::string& out, std::string_view text);

class JsonWriter {
 public:
  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }

  // The next member's name, inside an object.
  JsonWriter& Key(std::string_view name) {
    Separate();
    AppendJsonEscaped(out_, name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }

  JsonWriter& String(std::string_view value) {
    Separate();
    AppendJsonEscaped(out_, value);
    return *this;
  }
  JsonWriter& NullableString(const std::optional<std::string>& value) {
    return value ? String(*value) : Null();
  }
  JsonWriter& Int(int64_t value) { return Number(value); }
  JsonWriter& Uint(uint64_t value) { return Number(value); }
  // The shortest text that reads back as the same double; null for none.
  JsonWriter& Double(double value) { return Number(value); }
  JsonWriter& NullableDouble(const std::optional<double>& value) {
    return value ? Double(*value) : Null();
  }
  JsonWriter& Bool(bool value) {
    Separate();
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter& Null() {
    Separate();
    out_ += "null";
    return *this;
  }
  // An already-rendered JSON value, inserted as it is.
  JsonWriter& Raw(std::string_view json) {
    Separate();
    out_ += json;
    return *this;
  }

  // Starts the next member or element on a new line: the comma that separates it, if any, then a
  // line break (for documents read by people as well as programs).
  JsonWriter& Newline() {
    Separate();
    out_ += '\n';
    separated_ = true;
    return *this;
  }
  // Whitespace where it changes nothing (a line break before a closing bracket, after the end).
  JsonWriter& Whitespace(std::string_view blank) {
    out_ += blank;
    return *this;
  }

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  template <class T>
  JsonWriter& Number(T value) {
    Separate();
    char buffer[32];
    const auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out_.append(buffer, error == std::errc() ? end : buffer);
    return *this;
  }
  JsonWriter& Open(char bracket) {
    Separate();
    out_ += bracket;
    first_.push_back(true);
    return *this;
  }
  JsonWriter& Close(char bracket) {
    out_ += bracket;
    if (!first_.empty()) first_.pop_back();
    return *this;
  }
  // A comma before every value or key but the first in its container; none after a key.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (separated_) {  // Newline() wrote it
      separated_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: nothing written in it yet
  bool after_key_ = false;
  bool separated_ = false;
};

}  // namespace casewatch
