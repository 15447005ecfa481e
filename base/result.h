#pragma once
// The one Result<T> type of the codebase: a value or an Error that says, in words a person can
// act on, what went wrong. Built on Boost.Outcome with a terminate policy: reading the value of a
// failed result is a broken invariant, not an exception.

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/terminate.hpp>
#include <boost/outcome/try.hpp>
#include <string>
#include <utility>

namespace casewatch {

enum class ErrorKind {
  kInvalidArgument,  // the caller's input is wrong; retrying will not help
  kNotFound,
  kIo,        // the environment failed (disk, network); may succeed later
  kDataLoss,  // stored or sent data is damaged or gone (a corrupt record, an offset Kafka dropped)
  kConflict,     // the input contradicts something already accepted
  kUnavailable,  // a transient condition (broker unreachable, queue full): retry later
  // The system is not in a state to do this (a store half-rebuilt): the message names the command
  // that puts it right; retrying as is will not help.
  kFailedPrecondition,
  kInternal,
};

struct Error {
  ErrorKind kind = ErrorKind::kInvalidArgument;
  std::string message;
};

template <class T>
using Result = boost::outcome_v2::basic_result<T, Error, boost::outcome_v2::policy::terminate>;

inline Error InvalidArgument(std::string message) {
  return Error{ErrorKind::kInvalidArgument, std::move(message)};
}
inline Error NotFound(std::string message) {
  return Error{ErrorKind::kNotFound, std::move(message)};
}
inline Error IoError(std::string message) { return Error{ErrorKind::kIo, std::move(message)}; }
inline Error DataLoss(std::string message) {
  return Error{ErrorKind::kDataLoss, std::move(message)};
}
inline Error Conflict(std::string message) {
  return Error{ErrorKind::kConflict, std::move(message)};
}
inline Error Unavailable(std::string message) {
  return Error{ErrorKind::kUnavailable, std::move(message)};
}
inline Error FailedPrecondition(std::string message) {
  return Error{ErrorKind::kFailedPrecondition, std::move(message)};
}
inline Error Internal(std::string message) {
  return Error{ErrorKind::kInternal, std::move(message)};
}
inline bool IsRetryable(const Error& e) { return e.kind == ErrorKind::kUnavailable; }

// A command's exit status for an error: 2 when the user must change something first (the input,
// or the state of the store: the message says what), 1 when the environment failed.
inline int ExitCodeOf(const Error& e) {
  return e.kind == ErrorKind::kInvalidArgument || e.kind == ErrorKind::kFailedPrecondition ? 2 : 1;
}

// Result<void> success value.
inline auto Ok() { return boost::outcome_v2::success(); }

}  // namespace casewatch

#define CW_TRY BOOST_OUTCOME_TRY
