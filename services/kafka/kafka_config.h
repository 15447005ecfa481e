#pragma once
// Connection settings shared by Consumer and Producer: the brokers plus any librdkafka property
// (TLS, SASL, timeouts...), and the parser for properties files.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace casewatch::kafka {

// One librdkafka configuration property, e.g. {"security.protocol", "ssl"}.
struct Property {
  std::string key;
  std::string value;
};

// Parses a properties file: one `key=value` per line; blank lines and lines whose first non-blank
// character is '#' are skipped; spaces around the key and the value are dropped (a value may
// itself contain '=' and '#'). Every key must be a property librdkafka knows and its value one it
// accepts. An error names FILE:LINE and the key, e.g.
//   "kafka.properties:3: unknown Kafka property \"sasl.mechanisms \"".
[[nodiscard]] Result<std::vector<Property>> ParseProperties(std::string_view text,
                                                            std::string_view file_name);
// The properties file at `path` (ParseProperties); none for "". kIo when it cannot be read.
[[nodiscard]] Result<std::vector<Property>> ReadPropertiesFile(const std::string& path);

struct KafkaConfig {
  std::string brokers;               // bootstrap.servers, e.g. "127.0.0.1:9092"
  std::vector<Property> properties;  // applied in order after the defaults; may override them
};

}  // namespace casewatch::kafka
