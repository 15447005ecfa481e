#include "services/kafka/kafka_config.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "services/kafka/internal/client.h"

namespace casewatch::kafka {
namespace {

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\f\v";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

Result<std::vector<Property>> ReadPropertiesFile(const std::string& path) {
  if (path.empty()) return std::vector<Property>{};
  std::ifstream in(path);
  if (!in) return IoError(fmt::format("cannot read Kafka properties file \"{}\"", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseProperties(text.str(), path);
}

Result<std::vector<Property>> ParseProperties(std::string_view text, std::string_view file_name) {
  std::vector<Property> properties;
  // A scratch configuration: librdkafka itself says whether it knows a key and takes a value.
  internal::ConfPtr scratch(rd_kafka_conf_new());
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    const std::string_view line = Trim(text.substr(0, end));
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty() || line.front() == '#') continue;
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      return InvalidArgument(
          fmt::format("{}:{}: expected key=value, got \"{}\"", file_name, line_number, line));
    }
    const std::string_view key = Trim(line.substr(0, equals));
    const std::string_view value = Trim(line.substr(equals + 1));
    if (key.empty()) {
      return InvalidArgument(
          fmt::format("{}:{}: the key before '=' is empty", file_name, line_number));
    }
    if (Result<void> known = internal::SetProperty(scratch.get(), key, value); !known) {
      return InvalidArgument(
          fmt::format("{}:{}: {}", file_name, line_number, known.error().message));
    }
    properties.push_back(Property{std::string(key), std::string(value)});
  }
  return properties;
}

}  // namespace casewatch::kafka
