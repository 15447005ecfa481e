#include "tests/support/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace casewatch::testing {

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& cwd,
                         const std::string& stdin_data) {
  int in[2], out[2], err[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) close(fd);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  ProcessResult result;
  size_t written = 0;
  if (stdin_data.empty()) {
    close(in[1]);
    in[1] = -1;
  }
  int open_outputs = 2;
  while (open_outputs > 0 || in[1] >= 0) {
    pollfd fds[3] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {in[1], POLLOUT, 0}};
    poll(fds, 3, 1000);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP))) {
        char buf[65536];
        const ssize_t n = read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          close(fds[i].fd);
          (i == 0 ? out[0] : err[0]) = -1;
          --open_outputs;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
    if (in[1] >= 0 && (fds[2].revents & (POLLOUT | POLLERR))) {
      const ssize_t n = write(in[1], stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == stdin_data.size()) {
        close(in[1]);
        in[1] = -1;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

namespace {

std::string Describe(simdjson::dom::element e) { return simdjson::minify(e); }

std::string Compare(simdjson::dom::element a, simdjson::dom::element b, const std::string& path) {
  using simdjson::dom::element_type;
  const bool a_num = a.is_number(), b_num = b.is_number();
  if (a_num && b_num) {
    const double x = a.get_double().value(), y = b.get_double().value();
    if (std::fabs(x - y) <= 1e-12 * std::max(1.0, std::fabs(x))) return "";
    return fmt::format("{}: expected {} but got {}", path, Describe(a), Describe(b));
  }
  if (a.type() != b.type()) {
    return fmt::format("{}: expected {} but got {}", path, Describe(a), Describe(b));
  }
  switch (a.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object oa = a.get_object().value(), ob = b.get_object().value();
      for (auto [key, value] : oa) {
        simdjson::dom::element other;
        if (ob.at_key(key).get(other)) return fmt::format("{}: missing key \"{}\"", path, key);
        if (auto d = Compare(value, other, fmt::format("{}.{}", path, key)); !d.empty()) return d;
      }
      for (auto [key, value] : ob) {
        simdjson::dom::element other;
        if (oa.at_key(key).get(other)) return fmt::format("{}: unexpected key \"{}\"", path, key);
      }
      return "";
    }
    case element_type::ARRAY: {
      simdjson::dom::array xa = a.get_array().value(), xb = b.get_array().value();
      if (xa.size() != xb.size()) {
        return fmt::format("{}: expected {} elements but got {}", path, xa.size(), xb.size());
      }
      // In step (at(i) walks from the start: quadratic on long arrays).
      auto ib = xb.begin();
      size_t i = 0;
      for (auto ia = xa.begin(); ia != xa.end(); ++ia, ++ib, ++i) {
        if (auto d = Compare(*ia, *ib, fmt::format("{}[{}]", path, i)); !d.empty()) return d;
      }
      return "";
    }
    default:
      return Describe(a) == Describe(b)
                 ? ""
                 : fmt::format("{}: expected {} but got {}", path, Describe(a), Describe(b));
  }
}

}  // namespace

std::string JsonDifference(const std::string& expected, const std::string& actual) {
  simdjson::dom::parser pa, pb;
  simdjson::dom::element a, b;
  if (auto e = pa.parse(expected).get(a))
    return std::string("expected is not JSON: ") + simdjson::error_message(e);
  if (auto e = pb.parse(actual).get(b))
    return std::string("actual is not JSON: ") + simdjson::error_message(e);
  return Compare(a, b, "$");
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) {
  pid_ = fork();
  if (pid_ == 0) {
    const int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log >= 0) {
      dup2(log, 1);
      dup2(log, 2);
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    Wait(10);
  }
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0 && status_ < 0) kill(pid_, signal);
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

int ChildProcess::Wait(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (running()) {
    if (std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

}  // namespace casewatch::testing
