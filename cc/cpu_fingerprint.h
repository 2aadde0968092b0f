// What kind of CPU this is, as //py:export records it in the model contract ("lite.cpu"; computed
// the same way in py/mgedeploy/lite_tuning.py): the first CPU's "model name" and "flags" lines of
// /proc/cpuinfo. Lite settings chosen on one CPU are trusted only on the same kind.
#ifndef CC_CPU_FINGERPRINT_H_
#define CC_CPU_FINGERPRINT_H_

#include <string>

namespace megdeploy {

struct CpuFingerprint {
  std::string model_name;
  std::string flags;
  bool operator==(const CpuFingerprint& other) const {
    return model_name == other.model_name && flags == other.flags;
  }
};

CpuFingerprint ThisCpu();

}  // namespace megdeploy

#endif  // CC_CPU_FINGERPRINT_H_
