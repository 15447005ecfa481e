#include "projections/policy.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <optional>

#include "base/closest_names.h"

namespace casewatch {
namespace {

struct IntKey {
  std::string_view key;
  int Policy::*field;
};

constexpr std::array kIntKeys = {
    IntKey{"prompt_start_wd", &Policy::prompt_start_wd},
    IntKey{"initial_plan_wd", &Policy::initial_plan_wd},
    IntKey{"plan_review_days", &Policy::plan_review_days},
    IntKey{"change_review_wd", &Policy::change_review_wd},
    IntKey{"absence_judgement_wd", &Policy::absence_judgement_wd},
    IntKey{"warning_wd", &Policy::warning_wd},
    IntKey{"breach_wd", &Policy::breach_wd},
    IntKey{"enforcement_window_days", &Policy::enforcement_window_days},
    IntKey{"initial_assessment_wd", &Policy::initial_assessment_wd},
    IntKey{"assessment_review_days", &Policy::assessment_review_days},
    IntKey{"rosh_screening_wd", &Policy::rosh_screening_wd},
    IntKey{"full_analysis_wd", &Policy::full_analysis_wd},
    IntKey{"rmp_initial_wd", &Policy::rmp_initial_wd},
    IntKey{"rmp_review_days", &Policy::rmp_review_days},
    IntKey{"risk_response_wd", &Policy::risk_response_wd},
    IntKey{"home_visit_initial_wd", &Policy::home_visit_initial_wd},
    IntKey{"home_visit_repeat_days", &Policy::home_visit_repeat_days},
    IntKey{"oversight_days", &Policy::oversight_days},
    IntKey{"safeguarding_wd", &Policy::safeguarding_wd},
    IntKey{"victim_contact_days", &Policy::victim_contact_days},
};

struct RatingKey {
  std::string_view key;
  double Policy::*field;
};

constexpr std::array kRatingKeys = {
    RatingKey{"rating_outstanding", &Policy::rating_outstanding},
    RatingKey{"rating_good", &Policy::rating_good},
    RatingKey{"rating_requires_improvement", &Policy::rating_requires_improvement},
};

// Day counts beyond this are certainly typos, and would overflow date arithmetic.
constexpr int64_t kMaxDays = 100000;

Error BadKey(std::string_view key, std::string_view why) {
  return InvalidArgument(fmt::format("policy key \"{}\": {}", key, why));
}

std::vector<std::string> KnownKeys() {
  std::vector<std::string> keys = {"name", "holidays"};
  for (const IntKey& k : kIntKeys) keys.emplace_back(k.key);
  for (const RatingKey& k : kRatingKeys) keys.emplace_back(k.key);
  return keys;
}

// Where a text first stops being JSON (RFC 8259) and what was expected there: simdjson says only
// what kind of error it met, and a person fixing a file by hand needs the place.
struct JsonSyntaxError {
  size_t offset;
  std::string what;  // "expected a colon (:) after the key"
};

class JsonSyntaxScanner {
 public:
  explicit JsonSyntaxScanner(std::string_view text) : text_(text) {}

  // nullopt when the text is JSON as far as its syntax goes.
  std::optional<JsonSyntaxError> FirstError() {
    SkipSpace();
    if (!Value(0)) return error_;
    SkipSpace();
    if (pos_ < text_.size()) {
      Fail("nothing more after the end of the JSON");
      return error_;
    }
    return std::nullopt;
  }

 private:
  // Deeper than any policy file; keeps the recursion's stack small.
  static constexpr int kMaxDepth = 64;

  bool Fail(std::string_view expected) {
    error_ = JsonSyntaxError{
        pos_, pos_ < text_.size()
                  ? fmt::format("expected {}", expected)
                  : std::string("the text ends too soon (is a closing quote, } or ] missing?)")};
    return false;
  }
  bool At(char c) const { return pos_ < text_.size() && text_[pos_] == c; }
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool Value(int depth) {
    if (depth > kMaxDepth) return Fail("less nesting of { and [");
    if (At('{')) return Container(depth, '}');
    if (At('[')) return Container(depth, ']');
    if (At('"')) return String();
    if (At('-') || (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')) {
      return Number();
    }
    for (std::string_view word : {"true", "false", "null"}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return true;
      }
    }
    return Fail("a value (a number, \"text\", true, false, null, { or [)");
  }

  // An object (`close` '}': "key": value pairs) or an array (']': values), after its opening.
  bool Container(int depth, char close) {
    const bool object = close == '}';
    ++pos_;
    SkipSpace();
    if (At(close)) {
      ++pos_;
      return true;
    }
    while (true) {
      if (object) {
        if (!At('"')) return Fail("a key in double quotes (\"key\")");
        if (!String()) return false;
        SkipSpace();
        if (!At(':')) return Fail("a colon (:) after the key");
        ++pos_;
        SkipSpace();
      }
      if (!Value(depth + 1)) return false;
      SkipSpace();
      if (At(close)) {
        ++pos_;
        return true;
      }
      if (!At(',')) {
        return Fail(object ? "a comma (,) or the closing }" : "a comma (,) or the closing ]");
      }
      ++pos_;
      SkipSpace();
    }
  }

  bool String() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return Fail("the closing quote before a line break or control character");
      }
      if (c == '\\') {
        ++pos_;
        if (pos_ < text_.size() && text_[pos_] == 'u') {
          for (int i = 0; i < 4; ++i) {
            ++pos_;
            if (pos_ >= text_.size() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) {
              return Fail("four hex digits after \\u");
            }
          }
        } else if (pos_ >= text_.size() ||
                   std::string_view("\"\\/bfnrt").find(text_[pos_]) == std::string_view::npos) {
          return Fail("a valid escape after the backslash (a backslash itself is written \\\\)");
        }
      }
      ++pos_;
    }
    return Fail("");  // the text ended inside the string
  }

  bool Number() {
    if (At('-')) ++pos_;
    if (At('0')) {
      ++pos_;
    } else if (!Digits()) {
      return Fail("a digit");
    }
    if (At('.')) {
      ++pos_;
      if (!Digits()) return Fail("a digit after the decimal point");
    }
    if (At('e') || At('E')) {
      ++pos_;
      if (At('+') || At('-')) ++pos_;
      if (!Digits()) return Fail("a digit in the exponent");
    }
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
  JsonSyntaxError error_;
};

// "line L, column C" of a byte offset, both from 1; a column counts characters (UTF-8), not bytes.
std::string LineAndColumn(std::string_view text, size_t offset) {
  size_t line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;
    }
  }
  return fmt::format("line {}, column {}", line, column);
}

Error NotJson(std::string_view json, simdjson::error_code error) {
  if (auto syntax = JsonSyntaxScanner(json).FirstError()) {
    return InvalidArgument(fmt::format("policy is not valid JSON at {}: {}",
                                       LineAndColumn(json, syntax->offset), syntax->what));
  }
  // Valid syntax, refused all the same (bad UTF-8, a number out of range): simdjson's words.
  return InvalidArgument(
      fmt::format("policy is not valid JSON: {}", simdjson::error_message(error)));
}

}  // namespace

Result<Policy> ParsePolicy(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(json.data(), json.size()).get(root)) return NotJson(json, error);
  simdjson::dom::object object;
  if (root.get(object)) return InvalidArgument("policy must be a JSON object");

  Policy policy;
  std::vector<std::string_view> seen;
  for (auto [json_key, value] : object) {
    const std::string_view key = json_key;  // a plain variable: lambdas below capture it
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return BadKey(key, "appears more than once");
    }
    seen.push_back(key);
    if (key == "name") {
      std::string_view name;
      if (value.get(name)) return BadKey(key, "must be a string");
      policy.name = std::string(name);
      continue;
    }
    if (key == "holidays") {
      simdjson::dom::array days;
      if (value.get(days)) return BadKey(key, "must be a list of \"YYYY-MM-DD\" dates");
      policy.holidays.clear();  // the file's list replaces the default one
      for (auto day : days) {
        std::string_view text;
        if (day.get(text)) return BadKey(key, "must be a list of \"YYYY-MM-DD\" dates");
        auto date = ParseDate(text);
        if (!date) return BadKey(key, date.error().message);
        policy.holidays.push_back(date.value());
      }
      continue;
    }
    if (auto it = std::find_if(kIntKeys.begin(), kIntKeys.end(),
                               [&](const IntKey& k) { return k.key == key; });
        it != kIntKeys.end()) {
      int64_t n;
      if (!value.is_int64() || value.get(n)) {
        return BadKey(key, "must be a whole number (JSON integer) of at least 1");
      }
      if (n < 1) return BadKey(key, fmt::format("must be at least 1, not {}", n));
      if (n > kMaxDays)
        return BadKey(key, fmt::format("{} is implausibly large (max {})", n, kMaxDays));
      policy.*(it->field) = static_cast<int>(n);
      continue;
    }
    if (auto it = std::find_if(kRatingKeys.begin(), kRatingKeys.end(),
                               [&](const RatingKey& k) { return k.key == key; });
        it != kRatingKeys.end()) {
      double v;
      if (value.get(v) || !std::isfinite(v)) return BadKey(key, "must be a number in [0, 1]");
      if (v < 0 || v > 1) return BadKey(key, fmt::format("must be in [0, 1], not {}", v));
      policy.*(it->field) = v;
      continue;
    }
    return BadKey(key, fmt::format("is not a policy key{} (the keys: docs/rules.md section 8)",
                                   DidYouMean(key, KnownKeys())));
  }
  if (policy.rating_outstanding < policy.rating_good) {
    return BadKey("rating_outstanding", "must be at least rating_good");
  }
  if (policy.rating_good < policy.rating_requires_improvement) {
    return BadKey("rating_good", "must be at least rating_requires_improvement");
  }
  std::sort(policy.holidays.begin(), policy.holidays.end());
  policy.holidays.erase(std::unique(policy.holidays.begin(), policy.holidays.end()),
                        policy.holidays.end());
  return policy;
}

std::vector<PolicySetting> PolicySettings(const Policy& policy) {
  std::vector<PolicySetting> settings;
  for (const IntKey& k : kIntKeys) settings.push_back({k.key, fmt::format("{}", policy.*k.field)});
  for (const RatingKey& k : kRatingKeys) {
    settings.push_back({k.key, fmt::format("{}", policy.*k.field)});
  }
  std::string holidays;
  if (policy.holidays == EnglandAndWalesBankHolidays()) {
    settings.push_back({"holidays", "England and Wales bank holidays 2000-2035 (the default)"});
    return settings;
  }
  for (const Date& day : policy.holidays) {
    holidays += (holidays.empty() ? "" : ",") + FormatDate(day);
  }
  settings.push_back({"holidays", std::move(holidays)});
  return settings;
}

}  // namespace casewatch
