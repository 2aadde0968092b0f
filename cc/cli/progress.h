// A one-line progress bar on stderr for long loops, drawn only on a terminal and only once the loop
// has run for 3 s: benchmarks and inference in tests and pipes stay quiet. Hand-written (20 lines):
// Debian packages no C++ progress-bar library; the Python programs use tqdm.
#ifndef CC_CLI_PROGRESS_H_
#define CC_CLI_PROGRESS_H_

#include <chrono>
#include <string>

namespace megdeploy {

class Progress {
 public:
  Progress(long total, std::string what);
  ~Progress();  // ends the bar's line if one was drawn
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void Update(long done);

 private:
  long total_;
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  bool drawn_ = false;
};

}  // namespace megdeploy

#endif  // CC_CLI_PROGRESS_H_
