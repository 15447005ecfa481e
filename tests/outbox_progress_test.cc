// The outbox's progress record as written to and read from the progress topic: every version's
// records are read by this one, and this one's fields stay readable by later ones.
#include <gtest/gtest.h>

#include "services/daemon/outbox.h"

namespace casewatch::daemon::internal {
namespace {

TEST(OutboxProgress, ARecordOfAnEarlierVersionHasNoDeadLetterMarks) {
  const auto read = ParseProgress("sequence=1041 fingerprint=9f1c0e2a7b3d4c5e");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->sequence, 1041u);
  EXPECT_EQ(read->fingerprint, 0x9f1c0e2a7b3d4c5eULL);
  EXPECT_FALSE(read->dead_letters) << "unknown, not none";
}

TEST(OutboxProgress, DeadLetterMarksAreWrittenAndReadBack) {
  const ProgressRecord marked{7, 0xabc, DeadLetterMarks{{0, 5512}, {7, 90}, {11, 0}}};
  EXPECT_EQ(FormatProgress(marked),
            "sequence=7 fingerprint=0000000000000abc dead_letters=0:5512,7:90,11:0");
  EXPECT_EQ(ParseProgress(FormatProgress(marked)), marked);
  const ProgressRecord none_yet{8, 1, DeadLetterMarks{}};
  EXPECT_EQ(FormatProgress(none_yet), "sequence=8 fingerprint=0000000000000001 dead_letters=-");
  EXPECT_EQ(ParseProgress(FormatProgress(none_yet)), none_yet);
}

TEST(OutboxProgress, FieldsOfALaterVersionAreSkipped) {
  const auto read =
      ParseProgress("sequence=9 fingerprint=ff epoch=3 dead_letters=2:40 owners=a,b");
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, (ProgressRecord{9, 0xff, DeadLetterMarks{{2, 40}}}));
}

TEST(OutboxProgress, AnythingElseIsNotAProgressRecord) {
  for (const char* text :
       {"", "sequence=", "sequence=x fingerprint=ff", "sequence=1", "sequence=1 fingerprint=",
        "sequence=1 fingerprint=zz", "sequence=1 fingerprint=ff ", "sequence=1 fingerprint=ff x",
        "sequence=1 fingerprint=ff =3", "sequence=1 fingerprint=ffdead_letters=1:2",
        "sequence=1 fingerprint=ff dead_letters=", "sequence=1 fingerprint=ff dead_letters=1",
        "sequence=1 fingerprint=ff dead_letters=1:", "sequence=1 fingerprint=ff dead_letters=1:2,",
        "sequence=1 fingerprint=ff dead_letters=1:2,1:3",
        "sequence=1 fingerprint=ff dead_letters=a:2"}) {
    EXPECT_FALSE(ParseProgress(text)) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace casewatch::daemon::internal
