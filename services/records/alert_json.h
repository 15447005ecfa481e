#pragma once
// An alert in JSON: the one encoding of casewatch.alerts.v1.ObligationMissedAlert as text, on the
// alerts topic (--alerts-format json) and on the dashboard's event stream alike. Every field is
// present (empty names as ""), missed_at in RFC 3339 UTC.

#include <string>

#include "casewatch/alerts/v1/alert.pb.h"

namespace casewatch::records {

std::string AlertJson(const alerts::v1::ObligationMissedAlert& alert);

}  // namespace casewatch::records
