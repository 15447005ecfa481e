#pragma once
// England and Wales's bank holidays, 2000 to 2035: the default `holidays` of a policy (a policy
// file's `holidays` replaces the list; `[]` for none). See docs/rules.md, section 4.

#include <vector>

#include "projections/calendar.h"

namespace casewatch {

// Sorted, unique.
const std::vector<Date>& EnglandAndWalesBankHolidays();

}  // namespace casewatch
