#include "services/simulator/organisation.h"

#include <fmt/format.h>

#include <algorithm>

#include "services/simulator/random.h"

namespace casewatch::simulator {
namespace {

struct PduSeed {
  const char* name;
  const char* code;
};

struct RegionSeed {
  const char* name;
  std::vector<PduSeed> pdus;
};

const std::vector<RegionSeed>& RegionSeeds() {
  static const std::vector<RegionSeed> kRegions = {
      {"North East", {{"Sunderland", "SUN"}, {"Newcastle", "NEW"}, {"County Durham", "DUR"}}},
      {"North West",
       {{"Manchester North", "MAN"}, {"Cheshire East", "CHE"}, {"Lancashire", "LAN"}}},
      {"Yorkshire and the Humber", {{"Leeds", "LEE"}, {"Sheffield", "SHE"}, {"Hull", "HUL"}}},
      {"London", {{"Camden and Islington", "CAI"}, {"Lambeth", "LAM"}, {"Croydon", "CRO"}}},
      {"Wales", {{"Cardiff and Vale", "CAR"}, {"Swansea", "SWA"}}},
  };
  return kRegions;
}

}  // namespace

Organisation BuildOrganisation(int64_t cases, int months, uint64_t seed, double team_spread) {
  Organisation org;
  int pdu_count = 0;
  for (const RegionSeed& region : RegionSeeds()) pdu_count += static_cast<int>(region.pdus.size());

  // Open cases at a time ~ cases * min(18, months) / months; ~45 per offender manager, six
  // offender managers to a team, at least two teams per PDU.
  const double open_cases =
      static_cast<double>(cases) * std::min(18, std::max(months, 1)) / std::max(months, 1);
  const int practitioners_needed = static_cast<int>(open_cases / 45.0) + 1;
  const int kMembersPerTeam = 6;
  const int teams_per_pdu = std::clamp(
      (practitioners_needed + pdu_count * kMembersPerTeam - 1) / (pdu_count * kMembersPerTeam), 2,
      60);

  uint64_t state = seed ^ 0x6f72676169736174ULL;
  Random random(SplitMix64(state));
  int next_om = 101;
  for (const RegionSeed& region_seed : RegionSeeds()) {
    const auto region_index = static_cast<uint16_t>(org.regions.size());
    org.regions.push_back(Region{region_seed.name});
    for (const PduSeed& pdu_seed : region_seed.pdus) {
      const auto pdu_index = static_cast<uint16_t>(org.pdus.size());
      org.pdus.push_back(Pdu{pdu_seed.name, pdu_seed.code, region_index});
      for (int t = 1; t <= teams_per_pdu; ++t) {
        const auto team_index = static_cast<uint16_t>(org.teams.size());
        std::string code = fmt::format("{}-{}", pdu_seed.code, t);
        std::string manager = "spo-" + code;
        std::transform(manager.begin(), manager.end(), manager.begin(), [](char c) {
          return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        });
        const double quality = 1.0 + team_spread * (2.0 * random.Uniform() - 1.0);
        org.teams.push_back(Team{std::move(code), std::move(manager), pdu_index, quality});
        org.team_members.emplace_back();
        for (int m = 0; m < kMembersPerTeam; ++m) {
          org.team_members.back().push_back(static_cast<uint16_t>(org.practitioners.size()));
          org.practitioners.push_back(Practitioner{fmt::format("om-{}", next_om++), team_index});
        }
      }
    }
  }
  return org;
}

}  // namespace casewatch::simulator
