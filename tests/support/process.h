#pragma once
// Test support: runs a program with arguments (no shell) in a directory and captures its exit
// code, stdout and stderr; and compares JSON documents structurally, numbers numerically.

#include <string>
#include <vector>

namespace casewatch::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv[0]` with `argv`, in `cwd` (empty = current), feeding `stdin_data` on stdin.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& cwd = "",
                         const std::string& stdin_data = "");

// Empty when the two JSON texts are equal (numbers within a relative 1e-12); otherwise a
// description of the first difference and its path, e.g. "$.indicators[3].score: 0.5 != 0.25".
std::string JsonDifference(const std::string& expected, const std::string& actual);

std::string ReadFileOrEmpty(const std::string& path);

// A program running in the background, its stdout and stderr appended to `log_path`. Killed
// (SIGKILL) and reaped on destruction if still running.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void Signal(int signal);
  // The exit code (128 + signal when killed by one); waits at most `seconds`, then -1.
  int Wait(double seconds);
  bool running();
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int status_ = -1;
};

}  // namespace casewatch::testing
