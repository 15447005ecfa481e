#include "services/store/format.h"

#include <fmt/format.h>

namespace casewatch::store::format {
namespace {

void AppendBigEndian(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t ReadBigEndian(std::string_view in, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}

Error Malformed(std::string_view what, size_t size, size_t expected) {
  return DataLoss(fmt::format("store: a malformed {} ({} bytes, expected {})", what, size, expected));
}

}  // namespace

std::string PendingKey(std::string_view case_id) {
  std::string key(kPendingPrefix);
  key.append(case_id);
  return key;
}

std::string_view CaseIdOfPendingKey(std::string_view key) {
  return key.substr(kPendingPrefix.size());
}

std::string SequenceKey(uint64_t sequence) {
  std::string key;
  AppendBigEndian(key, sequence, 8);
  return key;
}

uint64_t SequenceOfKey(std::string_view key) { return key.size() >= 8 ? ReadBigEndian(key, 8) : 0; }

std::string EventKey(std::string_view case_id, Instant occurred_at, std::string_view event_id) {
  std::string key;
  key.reserve(case_id.size() + 13 + event_id.size());
  key.append(case_id);
  key.push_back('\0');
  AppendBigEndian(key, static_cast<uint64_t>(occurred_at.seconds) ^ (uint64_t{1} << 63), 8);
  AppendBigEndian(key, static_cast<uint32_t>(occurred_at.nanos), 4);
  key.append(event_id);
  return key;
}

std::string_view CaseIdOfEventKey(std::string_view key) { return key.substr(0, key.find('\0')); }

std::string CaseEventsBegin(std::string_view case_id) {
  std::string key(case_id);
  key.push_back('\0');
  return key;
}

std::string CaseEventsEnd(std::string_view case_id) {
  std::string key(case_id);
  key.push_back('\1');
  return key;
}

std::string OffsetKey(std::string_view topic, int32_t partition) {
  std::string key(topic);
  key.push_back('\0');
  AppendBigEndian(key, static_cast<uint32_t>(partition), 4);
  return key;
}

std::string OffsetKeysBegin(std::string_view topic) { return CaseEventsBegin(topic); }
std::string OffsetKeysEnd(std::string_view topic) { return CaseEventsEnd(topic); }

int32_t PartitionOfOffsetKey(std::string_view topic, std::string_view key) {
  const std::string_view rest = key.substr(std::min(key.size(), topic.size() + 1));
  return rest.size() == 4 ? static_cast<int32_t>(ReadBigEndian(rest, 4)) : -1;
}

std::string DayKey(Date day) {
  std::string key;
  AppendBigEndian(key, static_cast<uint32_t>(day.days) ^ (uint32_t{1} << 31), 4);
  return key;
}

Date DayOfKey(std::string_view key) {
  return Date{
      static_cast<int32_t>(static_cast<uint32_t>(ReadBigEndian(key, 4)) ^ (uint32_t{1} << 31))};
}

void AppendKeyPart(std::string& key, std::string_view part) {
  for (size_t at = 0;;) {
    const size_t nul = part.find('\0', at);
    key.append(part.substr(at, nul == std::string_view::npos ? std::string_view::npos : nul - at));
    if (nul == std::string_view::npos) break;
    key.push_back('\0');
    key.push_back('\xff');
    at = nul + 1;
  }
  key.push_back('\0');
}

std::string ScopeKey(std::string_view region, std::string_view pdu, std::string_view team,
                     std::string_view offender_manager) {
  std::string key;
  key.reserve(region.size() + pdu.size() + team.size() + offender_manager.size() + 4);
  for (std::string_view part : {region, pdu, team, offender_manager}) AppendKeyPart(key, part);
  return key;
}

std::string EncodeIdEntry(const IdEntry& entry) {
  std::string value;
  AppendBigEndian(value, entry.content[0], 8);
  AppendBigEndian(value, entry.content[1], 8);
  AppendBigEndian(value, entry.sequence, 8);
  return value;
}

Result<IdEntry> DecodeIdEntry(std::string_view value) {
  if (value.size() != 24) return Malformed("event_id entry", value.size(), 24);
  return IdEntry{{ReadBigEndian(value, 8), ReadBigEndian(value.substr(8), 8)},
                 ReadBigEndian(value.substr(16), 8)};
}

std::string EncodeOffset(int64_t next_offset) {
  std::string value;
  AppendBigEndian(value, static_cast<uint64_t>(next_offset), 8);
  return value;
}

Result<int64_t> DecodeOffset(std::string_view value) {
  if (value.size() != 8) return Malformed("offset", value.size(), 8);
  return static_cast<int64_t>(ReadBigEndian(value, 8));
}

std::string EncodeInstant(Instant instant) {
  std::string value;
  AppendBigEndian(value, static_cast<uint64_t>(instant.seconds), 8);
  AppendBigEndian(value, static_cast<uint32_t>(instant.nanos), 4);
  return value;
}

Result<Instant> DecodeInstant(std::string_view value) {
  if (value.size() != 12) return Malformed("instant", value.size(), 12);
  return Instant{static_cast<int64_t>(ReadBigEndian(value, 8)),
                 static_cast<int32_t>(ReadBigEndian(value.substr(8), 4))};
}

std::string EncodeFormatVersion(uint32_t version) {
  std::string value;
  AppendBigEndian(value, version, 4);
  return value;
}

Result<uint32_t> DecodeFormatVersion(std::string_view value) {
  if (value.size() != 4) return Malformed("format version", value.size(), 4);
  return static_cast<uint32_t>(ReadBigEndian(value, 4));
}

std::optional<Indicator> IndicatorOfCode(uint32_t code) {
  if (code >= static_cast<uint32_t>(kIndicatorCount)) return std::nullopt;
  return static_cast<Indicator>(code);
}

std::optional<ItemStatus> StatusOfCode(uint32_t code) {
  if (code > StoredCode(ItemStatus::kPending)) return std::nullopt;
  return static_cast<ItemStatus>(code);
}

}  // namespace casewatch::store::format
