// The folders' "May include" rules hold for the whole source tree, and the check notices a
// broken rule.
#include <gtest/gtest.h>

#include <fstream>

#include "base/temp_dir.h"
#include "tests/include_rules/include_rules.h"

namespace casewatch::include_rules {
namespace {

namespace fs = std::filesystem;

TEST(IncludeRules, EveryFolderIncludesOnlyWhatItsReadmeAllows) {
  const std::vector<Violation> violations = Check(CASEWATCH_SOURCE_DIR);
  for (const Violation& v : violations) ADD_FAILURE() << Describe(v);
  EXPECT_TRUE(violations.empty());
}

TEST(IncludeRules, TheEngineIncludingKafkaIsCaught) {
  // A copy of two folders' rules, and the engine reaching for the broker.
  TempDir dir;
  const fs::path root = dir.path();
  fs::create_directories(root / "services/engine/testing");
  fs::create_directories(root / "services/kafka");
  std::ofstream(root / "services/engine/README.md")
      << "# engine\n\nMay include: `base/`, `services/store/`, `fmt`.\n\n"
         "Tests may also include: `GoogleTest`.\n";
  std::ofstream(root / "services/kafka/README.md") << "May include: `base/`, `librdkafka`.\n";
  std::ofstream(root / "services/engine/engine.cc")
      << "#include \"services/engine/engine.h\"\n#include <fmt/format.h>\n#include <vector>\n"
         "#include \"services/store/store.h\"\n#include \"casewatch/store/v1/records.pb.h\"\n"
         "#include \"services/kafka/consumer.h\"\n#include <rocksdb/db.h>\n";
  std::ofstream(root / "services/engine/engine_test.cc") << "#include <gtest/gtest.h>\n";
  std::ofstream(root / "services/engine/testing/fake.h") << "#include <gmock/gmock.h>\n";
  std::ofstream(root / "services/kafka/consumer.cc") << "#include <librdkafka/rdkafka.h>\n";

  std::vector<std::string> found;
  for (const Violation& v : Check(root)) found.push_back(Describe(v));
  EXPECT_EQ(found, (std::vector<std::string>{
                       "services/engine/engine.cc:5: includes casewatch/store/v1/records.pb.h, "
                       "which services/engine/README.md does not allow",
                       "services/engine/engine.cc:6: includes services/kafka/consumer.h, which "
                       "services/engine/README.md does not allow",
                       "services/engine/engine.cc:7: includes rocksdb/db.h, which "
                       "services/engine/README.md does not allow"}));
}

}  // namespace
}  // namespace casewatch::include_rules
