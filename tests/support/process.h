// Runs a program with arguments and standard input, capturing stdout, stderr and the exit status.
// A run that does not finish within the deadline is killed and reported as timed out, so a hang in
// the program under test fails the test instead of stalling the suite.
#pragma once

#include <string>
#include <vector>

namespace nabla::test {

struct ProcessResult {
  int exitCode = -1;   // the exit status, or -1 when killed by a signal or timed out
  int signal = 0;      // the terminating signal, if any
  bool timedOut = false;
  std::string out, err;
};

ProcessResult runProcess(const std::string &program, const std::vector<std::string> &args,
                         const std::string &input = {}, double deadlineSeconds = 60);

/// The `nabla` binary built with the tests.
ProcessResult runNabla(const std::vector<std::string> &args, const std::string &input = {});

}  // namespace nabla::test
