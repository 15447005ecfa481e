#include "services/records/alert_json.h"

#include "base/json_writer.h"
#include "projections/calendar.h"

namespace casewatch::records {

std::string AlertJson(const alerts::v1::ObligationMissedAlert& a) {
  JsonWriter out;
  out.BeginObject();
  out.Key("event_id").String(a.event_id());
  out.Key("case_id").String(a.case_id());
  out.Key("indicator").String(a.indicator());
  out.Key("due").String(a.due());
  out.Key("missed_at")
      .String(FormatInstant(Instant{a.missed_at().seconds(), a.missed_at().nanos()}));
  out.Key("region").String(a.region());
  out.Key("pdu").String(a.pdu());
  out.Key("team").String(a.team());
  out.Key("offender_manager").String(a.offender_manager());
  out.EndObject();
  return out.Take();
}

}  // namespace casewatch::records
