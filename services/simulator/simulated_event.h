#pragma once
// One generated event in compact form (40 bytes), so that the events of every open case can be
// held while the simulator merges them into arrival order. ToEnvelope gives the contract form.

#include <cstdint>
#include <string>

#include "casewatch/events/v1/events.pb.h"
#include "projections/case_event.h"
#include "services/simulator/organisation.h"

namespace casewatch::simulator {

// The simulator generates every publisher payload of docs/rules.md section 2.3: the EventType values before
// kObligationMissed (projections/case_event.h).
inline constexpr int kEventKindCount = static_cast<int>(EventType::kObligationMissed);

// Bits of SimulatedEvent::flags.
inline constexpr uint8_t kFlagFirst = 1;         // the payload's first bool (victim contact
                                                 // required, includes RoSH, full analysis
                                                 // required, addresses victim safety, acceptable,
                                                 // risk increased)
inline constexpr uint8_t kFlagSecond = 2;        // includes LoR
inline constexpr uint8_t kFlagSentenceDate = 4;  // case_opened carries a sentence date
inline constexpr uint8_t kFlagManager = 8;       // the actor is the team manager
inline constexpr uint8_t kFlagOnlyOffenderManager = 16;  // case_allocated names only the OM
inline constexpr uint8_t kFlagDuplicate = 32;            // a re-sent copy (content identical)

struct SimulatedEvent {
  int64_t occurred_seconds = 0;  // whole seconds since the epoch, UTC
  int64_t recorded_seconds = 0;
  uint32_t case_number = 0;  // 1-based; with home_pdu names the case
  uint32_t value = 0;        // appointment number; practitioner index (opened, allocated);
                             // description index (significant change)
  uint16_t sequence = 0;     // position in the case's occurred order: names the event
  uint16_t actor = 0;        // practitioner index (or team index with kFlagManager)
  EventType kind = EventType::kCaseOpened;
  uint8_t detail = 0;   // the payload's (first) enum, as its proto number
  uint8_t detail2 = 0;  // the payload's second enum (breach reason); for case_opened,
                        // days from sentence to opening
  uint8_t flags = 0;
  uint8_t home_pdu = 0;  // the PDU the case was opened in (its id prefix)
};

// The descriptions significant changes use (value indexes them).
const char* SignificantChangeDescription(uint32_t index);
uint32_t SignificantChangeDescriptionCount();

// "SUN-000042"
void AppendCaseId(const SimulatedEvent& event, const Organisation& org, std::string& out);
// "SUN-000042-0007"
void AppendEventId(const SimulatedEvent& event, const Organisation& org, std::string& out);
// "SUN-000042-a12"
void AppendAppointmentId(const SimulatedEvent& event, const Organisation& org, std::string& out);
// "delius" for case management events, "oasys" for assessments, RoSH work and plans.
const char* SourceOf(EventType kind);

// The sentence date of a case_opened event with kFlagSentenceDate: 10:00 UTC on its day.
int64_t SentenceSeconds(const SimulatedEvent& event);

// The contract form of an event.
events::v1::Envelope ToEnvelope(const SimulatedEvent& event, const Organisation& org);

}  // namespace casewatch::simulator
