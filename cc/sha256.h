// SHA-256 of a file, as lowercase hex: how the model contract ties itself to its .mge.
#ifndef CC_SHA256_H_
#define CC_SHA256_H_

#include <string>

namespace megdeploy {

// SHA-256 of `data`, lowercase hex.
std::string Sha256Hex(const std::string& data);

}  // namespace megdeploy

#endif  // CC_SHA256_H_
