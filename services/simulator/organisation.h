#pragma once
// The simulated probation organisation: regions, probation delivery units (PDUs), teams and
// offender managers. Immutable once built; sized to the number of cases so that caseloads stay
// plausible (about 45 open cases per offender manager).

#include <cstdint>
#include <string>
#include <vector>

namespace casewatch::simulator {

struct Region {
  std::string name;  // "North East"
};

struct Pdu {
  std::string name;  // "Sunderland"
  std::string code;  // "SUN": prefixes case ids and team codes
  uint16_t region;
};

struct Team {
  std::string code;     // "SUN-2"
  std::string manager;  // senior probation officer who records oversight, "spo-sun-2"
  uint16_t pdu;
  double quality;  // multiplies the team's failure rates; 1 is the profile's own rates
};

struct Practitioner {
  std::string id;  // "om-117"
  uint16_t team;
};

struct Organisation {
  std::vector<Region> regions;
  std::vector<Pdu> pdus;
  std::vector<Team> teams;
  std::vector<Practitioner> practitioners;

  // Offender managers of each team, by team index.
  std::vector<std::vector<uint16_t>> team_members;
};

// Builds the organisation for a run. Team quality factors are drawn from `seed`, spread by
// `team_spread` (see PracticeProfile).
Organisation BuildOrganisation(int64_t cases, int months, uint64_t seed, double team_spread);

}  // namespace casewatch::simulator
