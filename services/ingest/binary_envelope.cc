#include "services/ingest/binary_envelope.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>

namespace casewatch::ingest {

Result<void> ParseEnvelopeBinary(std::string_view bytes, events::v1::Envelope& out) {
  const google::protobuf::LogSilencer silence_protobuf;
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgument(std::string(kNotAnEnvelope));
  }
  return Ok();
}

void AppendDelimited(const events::v1::Envelope& envelope, std::string& out) {
  const size_t size = envelope.ByteSizeLong();
  uint8_t prefix[5];  // the longest varint32
  uint8_t* prefix_end = google::protobuf::io::CodedOutputStream::WriteVarint32ToArray(
      static_cast<uint32_t>(size), prefix);
  out.append(reinterpret_cast<const char*>(prefix), static_cast<size_t>(prefix_end - prefix));
  const size_t at = out.size();
  out.resize(at + size);
  envelope.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
}

}  // namespace casewatch::ingest
